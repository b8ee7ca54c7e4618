//! Compiles `proto/predial/v1/*.proto` with protox (a pure-Rust protobuf compiler), so a
//! fresh machine needs no system `protoc`, then generates the prost messages and the tonic
//! clients and servers from the descriptor set.

use std::{env, path::PathBuf};

const PROTOS: &[&str] = &[
    "proto/predial/v1/common.proto",
    "proto/predial/v1/decisions.proto",
    "proto/predial/v1/accounts.proto",
    "proto/predial/v1/rules.proto",
    "proto/predial/v1/programs.proto",
    "proto/predial/v1/compliance.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["proto"])?;

    // Kept beside the generated code for server reflection and generic clients.
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("predial_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
