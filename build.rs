//! Compiles `proto/predial/v1/*.proto` with protox (a pure-Rust protobuf compiler), so a
//! fresh machine needs no system `protoc`, then generates the prost messages and the tonic
//! clients and servers from the descriptor set, and writes the OpenAPI document of the
//! HTTP/JSON API from the same descriptors (`build/openapi.rs`).

use std::{env, path::PathBuf};

// The server's own route table, compiled here too so the document describes exactly the
// routes the server matches.
#[path = "build/openapi.rs"]
mod openapi;
#[allow(dead_code)]
#[path = "src/api/http/routes.rs"]
mod routes;

const PROTOS: &[&str] = &[
    "proto/predial/v1/common.proto",
    "proto/predial/v1/decisions.proto",
    "proto/predial/v1/accounts.proto",
    "proto/predial/v1/rules.proto",
    "proto/predial/v1/programs.proto",
    "proto/predial/v1/compliance.proto",
];

const IMPORTED: &[&str] = &["proto/google/api/http.proto", "proto/google/api/annotations.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    commit_id();
    for proto in PROTOS.iter().chain(IMPORTED) {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=src/api/http/routes.rs");
    println!("cargo:rerun-if-changed=build/openapi.rs");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS)?;

    // Kept beside the generated code for server reflection, generic clients and the HTTP
    // routes. Encoded by the compiler itself: prost_types' option messages would drop the
    // `google.api.http` extension.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let encoded = compiler.encode_file_descriptor_set();
    std::fs::write(out_dir.join("predial_descriptor.bin"), &encoded)?;

    // Decoded from the encoding, which keeps the comments (the document's summaries).
    let pool = prost_reflect::DescriptorPool::decode(encoded.as_slice())?;
    let fds = compiler.file_descriptor_set();
    let routes = routes::routes(&pool)?;
    let document = openapi::document(&routes, &env::var("CARGO_PKG_VERSION")?);
    std::fs::write(out_dir.join("openapi.json"), serde_json::to_vec_pretty(&document)?)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}

/// `PREDIAL_COMMIT` for `predial --version`: the commit the binary is built from (short
/// hash), or "unknown" outside a git checkout (a source tarball). Rebuilt when HEAD moves.
fn commit_id() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PREDIAL_COMMIT={commit}");
    // Only files that exist: a missing one would make cargo run this script every build.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let head = git(&["symbolic-ref", "-q", "HEAD"]);
        for file in ["HEAD".to_string(), "packed-refs".into()].into_iter().chain(head) {
            let path = format!("{dir}/{file}");
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
