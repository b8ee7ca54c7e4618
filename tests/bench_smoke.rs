//! `predial bench` runs every workload end to end (briefly, so it cannot rot). No test
//! asserts a time: only that requests completed without errors and the report is whole.

use std::process::Command;

fn bench(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["bench", "--duration", "0.4", "--consumers", "60", "--json"])
        .args(args)
        .output()
        .expect("run predial bench");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
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
        assert_eq!(report["workload"], workload);
        assert_eq!(report["errors"], 0, "{report}");
        assert!(report["completed"].as_u64().unwrap() > 0, "{report}");
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
