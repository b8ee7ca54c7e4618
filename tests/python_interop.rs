//! A real client nobody here wrote: Python's grpcio, installed from PyPI into a virtual
//! environment under the target directory, generates its stubs from `proto/` with
//! grpcio-tools and drives the real server binary (`tests/interop/client.py`): tokens and
//! roles, a decision unary and streamed, recorded contacts to the limit, and a STOP / START
//! round trip.
//!
//! Needs `python3` with `venv` and pip, and PyPI reachable (CI installs from it;
//! [`common::python`]).

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;
use common::python;
use predial::api::auth::hash_token;

#[test]
fn python_grpcio_drives_a_decision_contacts_and_a_stop_round_trip() {
    let bin = python::venv();
    let dir = tempfile::tempdir().unwrap();
    let stubs = dir.path().join("stubs");
    python::stubs(&bin, &stubs);

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
    let output = Command::new(bin.join("python"))
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
