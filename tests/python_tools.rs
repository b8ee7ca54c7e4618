//! Third-party tools nobody here wrote, from PyPI ([`common::python`]), against the real
//! binary: Python's grpcio-reflection lists and resolves the services through server
//! reflection v1alpha (the protocol older gRPC tools ask for), and schemathesis generates
//! requests from `/v1/openapi.json` and checks every answer against the document.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, python};

#[test]
fn pythons_grpcio_reflection_lists_and_resolves_every_service_through_v1alpha() {
    let bin = python::venv();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/reflection_v1alpha.py");
    let listed = python::run(
        Command::new(bin.join("python"))
            .arg(script)
            .arg(server.addr.to_string()),
        "reflection_v1alpha.py",
    );
    println!("{listed}");
    for service in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "predial.v1.Accounts",
        "predial.v1.Compliance",
        "predial.v1.Programs",
        "predial.v1.Rules",
    ] {
        assert!(
            listed
                .lines()
                .any(|l| l == service || l.starts_with(&format!("{service} "))),
            "{service}"
        );
    }
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("predial.v1.Decisions ") && l.contains("CanDial") && l.contains("ReleaseAttempt"))
    );
    assert!(listed.contains("reflection v1alpha: all checks passed"));
}

/// A bounded run (a fixed seed, a fixed number of examples per operation): no answer is a
/// server error, and every answer — its status, its content type, its body — is one the
/// document describes.
#[test]
fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let bin = python::venv();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--http-listen", "127.0.0.1:0"]);
    let http = server
        .start_log
        .iter()
        .find_map(|line| line.split("HTTP/JSON on ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the HTTP address")
        .to_string();
    let output = Command::new(bin.join("schemathesis"))
        .current_dir(dir.path())
        .args(["run", &http])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--workers",
            "1",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found answers off the document:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(!stdout.contains(" 0 generated"), "{stdout}");
}
