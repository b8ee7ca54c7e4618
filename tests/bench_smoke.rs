//! `predial bench` runs every workload end to end (briefly, so it cannot rot), on a server
//! it starts and on one that asks for TLS and a token. No test asserts a time: only that
//! requests completed without errors and the report is whole.

mod common;

use std::process::{Command, Output};

use common::Server;
use common::pki::{pki, write_pki};
use predial::api::auth::hash_token;

/// `predial bench --json` for 0.4 s on 60 consumers, unless `args` say otherwise.
fn run_bench(args: &[&str], env: &[(&str, &str)]) -> Output {
    let consumers: &[&str] = if args.contains(&"--consumers") {
        &[]
    } else {
        &["--consumers", "60"]
    };
    Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["bench", "--duration", "0.4", "--json"])
        .args(consumers)
        .args(args)
        .env_remove("PREDIAL_BENCH_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("run predial bench")
}

fn bench(args: &[&str]) -> serde_json::Value {
    bench_env(args, &[])
}

fn bench_env(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let out = run_bench(args, env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn assert_clean_run(report: &serde_json::Value, workload: &str) {
    assert_eq!(report["workload"], workload);
    assert_eq!(report["errors"], 0, "{report}");
    assert!(report["completed"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn every_workload_runs_and_reports_percentiles() {
    for workload in ["candial", "check", "record", "mixed", "ping", "ping-stream"] {
        let report = bench(&[
            "--workload",
            workload,
            "--streams",
            "2",
            "--window",
            "4",
            "--concurrency",
            "4",
        ]);
        assert_clean_run(&report, workload);
        for field in ["throughput", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
            assert!(report[field].is_number(), "{field} missing in {report}");
        }
        assert!(report["p50_us"].as_u64() <= report["p99_us"].as_u64());
    }
}

#[test]
fn compare_baseline_adds_the_baseline_and_the_ratio() {
    let report = bench(&[
        "--workload",
        "candial",
        "--compare-baseline",
        "--streams",
        "1",
        "--window",
        "2",
    ]);
    assert_eq!(report["baseline_workload"], "ping-stream");
    for field in ["baseline_throughput", "baseline_p99_us", "ratio"] {
        assert!(report[field].is_number(), "{field} missing in {report}");
    }
    let unary = bench(&["--workload", "record", "--compare-baseline", "--concurrency", "2"]);
    assert_eq!(unary["baseline_workload"], "ping");
}

#[test]
fn a_reserving_run_settles_and_releases_its_leases_and_is_set_against_record() {
    let report = bench(&[
        "--workload",
        "candial",
        "--reserve",
        "--compare-baseline",
        "--streams",
        "2",
        "--window",
        "4",
    ]);
    assert_clean_run(&report, "candial");
    assert_eq!(report["reserve"], true);
    // Against durable writes at the same number in flight, not the bare stream.
    assert_eq!(report["baseline_workload"], "record");
    let (granted, settled, released) = (
        report["leases_granted"].as_u64().unwrap(),
        report["leases_settled"].as_u64().unwrap(),
        report["leases_released"].as_u64().unwrap(),
    );
    assert!(granted > 0, "{report}");
    assert_eq!(settled + released, granted, "{report}");
    assert!(released > 0 && settled > released, "{report}");
    assert_eq!(report["lease_errors"], 0, "{report}");
    // The server it started is read for its CPU time and its flushes.
    for field in [
        "server_cpu_us_per_request",
        "baseline_server_cpu_us_per_request",
        "store_flush_p50_us",
    ] {
        assert!(report[field].as_f64().is_some_and(|v| v > 0.0), "{field} in {report}");
    }
}

#[test]
fn a_cycle_run_is_set_against_the_same_dialer_cycle_without_leases() {
    let report = bench(&[
        "--workload",
        "candial",
        "--reserve",
        "--cycle",
        "--compare-baseline",
        "--streams",
        "2",
        "--window",
        "4",
    ]);
    assert_clean_run(&report, "candial");
    assert_eq!(report["baseline_workload"], "candial", "{report}");
    assert!(report["leases_granted"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["lease_errors"], 0, "{report}");
    // The baseline records the outcomes of its placed calls too, and none failed.
    assert!(report["baseline_outcomes_recorded"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["baseline_outcome_errors"], 0, "{report}");
}

const ADMIN: &str = "bench-admin-secret-01";
const DIALER: &str = "bench-dialer-secret-02";

/// A server that takes only TLS, with an admin and a dialer token; its address for the
/// bench, and the CA file its certificate chains to.
fn protected_server(dir: &std::path::Path) -> (Server, String, String) {
    let [cert, key, ca] = write_pki(dir, &pki());
    let admin = format!("ops:admin:{}", hash_token(ADMIN));
    let dialer = format!("floor:dialer:{}", hash_token(DIALER));
    let server = Server::start_with(
        &dir.join("data"),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--token",
            &admin,
            "--token",
            &dialer,
        ],
    );
    let addr = format!("https://localhost:{}", server.addr.port());
    (server, addr, ca)
}

#[test]
fn bench_drives_a_server_that_asks_for_tls_and_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr, ca) = protected_server(dir.path());
    let base = ["--addr", addr.as_str(), "--tls-ca", ca.as_str(), "--consumers", "40"];

    let report = bench(&[&base[..], &["--token", ADMIN, "--workload", "check"]].concat());
    assert_clean_run(&report, "check");
    // The token can come from the environment, and the streaming baseline carries it too.
    let streaming: Vec<&str> = "--workload candial --compare-baseline --streams 1 --window 4"
        .split(' ')
        .collect();
    let report = bench_env(&[&base[..], &streaming].concat(), &[("PREDIAL_BENCH_TOKEN", ADMIN)]);
    assert_clean_run(&report, "candial");
    assert!(report["baseline_throughput"].as_f64().unwrap() > 0.0, "{report}");

    // A dialer token cannot populate; with no book to populate it can still load the server.
    let out = run_bench(&[&base[..], &["--token", DIALER, "--workload", "record"]].concat(), &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("populating the book failed") && stderr.contains("admin token"),
        "{stderr}"
    );
    let report = bench(&[
        "--addr",
        &addr,
        "--tls-ca",
        &ca,
        "--token",
        DIALER,
        "--consumers",
        "0",
        "--workload",
        "check",
    ]);
    assert_clean_run(&report, "check");
}

#[test]
fn bench_without_the_servers_credentials_fails_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr, ca) = protected_server(dir.path());

    // No token: the server refuses the populating calls, and the bench says what it needs.
    let out = run_bench(&["--addr", &addr, "--tls-ca", &ca, "--workload", "check"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"));

    // Plaintext to a TLS server: the first call fails, and the error gives the transport's
    // cause rather than only "operation was canceled".
    let plain = format!("127.0.0.1:{}", server.addr.port());
    let out = run_bench(&["--addr", &plain, "--token", ADMIN, "--workload", "check"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("populating the book failed") && stderr.contains("transport error"),
        "{stderr}"
    );
}

#[test]
fn bench_presents_a_client_certificate_to_a_mutual_tls_server() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let [cert, key, ca] = write_pki(dir.path(), &pki);
    let client_cert = dir.path().join("client.pem");
    let client_key = dir.path().join("client.key");
    std::fs::write(&client_cert, &pki.client_cert).unwrap();
    std::fs::write(&client_key, &pki.client_key).unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--tls-cert", &cert, "--tls-key", &key, "--tls-client-ca", &ca],
    );
    let addr = format!("https://localhost:{}", server.addr.port());
    let base = ["--addr", addr.as_str(), "--tls-ca", ca.as_str(), "--workload", "check"];

    let identity = [
        "--tls-cert",
        client_cert.to_str().unwrap(),
        "--tls-key",
        client_key.to_str().unwrap(),
    ];
    assert_clean_run(&bench(&[&base[..], &identity].concat()), "check");
    // Without the certificate the server refuses the connection.
    let out = run_bench(&base, &[]);
    assert!(!out.status.success());
}

#[test]
fn bench_refuses_malformed_connection_flags_before_connecting() {
    let refused = |args: &[&str], why: &str| {
        let out = run_bench(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    };
    refused(&["--addr", "localhost"], "no port");
    refused(&["--addr", "ftp://localhost:50051"], "scheme");
    // Credentials only make sense for a server the bench did not start.
    refused(&["--token", ADMIN], "--addr");
    refused(&["--addr", "localhost:1", "--tls-cert", "c.pem"], "--tls-key");
    // TLS files for a plaintext address are refused, not ignored.
    let out = run_bench(&["--addr", "127.0.0.1:1", "--tls-ca", "ca.pem"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"));
}
