//! The compliance console in a real browser: `tests/console/console_test.py` drives
//! Debian's Chromium with Playwright against the real binary, as a compliance officer
//! would (`docs/console.md`), with axe-core from npm on every page.
//!
//! Needs `/usr/bin/chromium` (`apt-get install -y chromium`; `.ci/run` installs it); the
//! Python package `playwright` and npm's `axe-core` are installed here when missing.
//! `PREDIAL_CONSOLE_SHOTS=DIR` keeps screenshots of the card, the rules form and the
//! portal (how `docs/console.md`'s were taken).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use predial::api::auth::hash_token;

const ADMIN: &str = "console-admin-token-0001";
const AUDITOR: &str = "console-auditor-token-0001";
const DIALER: &str = "console-dialer-token-0001";

/// Runs `program args`, failing the test with what it said when it fails.
fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// npm's axe-core, installed under `target/` once.
fn axe() -> PathBuf {
    let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join("axe");
    let script = prefix.join("node_modules/axe-core/axe.min.js");
    if !script.exists() {
        run(
            "npm",
            &[
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                prefix.to_str().unwrap(),
                "axe-core@4",
            ],
        );
    }
    script
}

/// Playwright for Python (the browser is Debian's: nothing is downloaded for it).
fn playwright() {
    let has = Command::new("python3")
        .args(["-c", "import playwright"])
        .status()
        .unwrap();
    if !has.success() {
        run("python3", &["-m", "pip", "install", "--quiet", "playwright"]);
    }
}

#[test]
fn a_compliance_officer_works_through_the_console_in_a_browser() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "the console's browser test needs Debian's Chromium: apt-get install -y chromium"
    );
    playwright();
    let axe = axe();
    let dir = tempfile::tempdir().unwrap();
    let tokens = [
        ("officer", "admin", ADMIN),
        ("examiner", "auditor", AUDITOR),
        ("floor", "dialer", DIALER),
    ];
    let mut args = vec!["--http-listen".to_string(), "127.0.0.1:0".to_string()];
    for (name, role, token) in tokens {
        args.push("--token".into());
        args.push(format!("{name}:{role}:{}", hash_token(token)));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(&dir.path().join("data"), &args);
    let base = format!("http://{}", common::http::http_addr(&server));
    let figures = dir.path().join("figures.json");
    let mut command = Command::new("python3");
    command
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/console/console_test.py"))
        .args([
            "--base",
            &base,
            "--admin",
            ADMIN,
            "--auditor",
            AUDITOR,
            "--dialer",
            DIALER,
        ])
        .arg("--axe")
        .arg(&axe)
        .arg("--figures")
        .arg(&figures);
    if let Some(shots) = std::env::var_os("PREDIAL_CONSOLE_SHOTS") {
        command.arg("--shots").arg(shots);
    }
    let out = command.output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    eprintln!("{}", said.trim());
    // No token in what the server logged.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logged: Vec<String> = server.start_log.iter().cloned().chain(server.log.try_iter()).collect();
    assert!(!logged.is_empty());
    for line in logged {
        for (_, _, token) in tokens {
            assert!(!line.contains(token), "a token in the log: {line}");
        }
    }
}
