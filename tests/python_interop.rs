//! A real client nobody here wrote: Python's grpcio, installed from PyPI into a virtual
//! environment under the target directory, generates its stubs from `proto/` with
//! grpcio-tools and drives the real server binary (`tests/interop/client.py`): tokens and
//! roles, a decision unary and streamed, recorded contacts to the limit, and a STOP / START
//! round trip.
//!
//! Needs `python3` with `venv` and pip, and PyPI reachable (CI installs from it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;
use predial::api::auth::hash_token;

const GRPCIO: &str = "grpcio==1.76.0";
const GRPCIO_TOOLS: &str = "grpcio-tools==1.76.0";

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The venv's python, with grpcio and grpcio-tools installed (once per target directory).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join(format!("installed-{GRPCIO}-{GRPCIO_TOOLS}"));
    if !marker.exists() {
        run(
            Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv),
            "python3 -m venv",
        );
        run(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                GRPCIO,
                GRPCIO_TOOLS,
            ]),
            "pip install grpcio grpcio-tools",
        );
        std::fs::write(&marker, "").unwrap();
    }
    python
}

#[test]
fn python_grpcio_drives_a_decision_contacts_and_a_stop_round_trip() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    let proto = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let files: Vec<PathBuf> = std::fs::read_dir(proto.join("predial/v1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .collect();
    run(
        Command::new(&python)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", proto.display()))
            .arg(format!("--python_out={}", stubs.display()))
            .arg(format!("--grpc_python_out={}", stubs.display()))
            .args(&files),
        "grpc_tools.protoc",
    );

    let (admin, dialer) = ("py-admin-token", "py-dialer-token");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            "--token",
            &format!("admin:{}", hash_token(admin)),
            "--token",
            &format!("dialer:{}", hash_token(dialer)),
        ],
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/client.py");
    let output = Command::new(&python)
        .arg(script)
        .arg(&stubs)
        .arg(server.addr.to_string())
        .args([admin, dialer])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the Python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("interop: all checks passed"));
}
