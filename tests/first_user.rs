//! The rough edges a first user hits, each tried as a new user would, against the real
//! binary: a second server on a store in use, an empty token, a wrong HTTP verb, logs in a
//! file, the example config, an override that names nobody, a replayed lease, and what
//! `--help` and `--version` say.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const AT: &str = "2026-06-03T14:00:00Z";
const PHONE: &str = "+16175550100";

fn predial() -> Command {
    Command::new(env!("CARGO_BIN_EXE_predial"))
}

#[test]
fn a_second_server_on_the_same_data_says_another_predial_is_using_it() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Server::start(dir.path());
    let out = predial()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = format!("another predial is using {}", dir.path().display());
    assert!(stderr.contains(&said), "{stderr}");
    // No Rust debug dump of the lock error.
    for dump in ["Io(", "Custom {", "kind:"] {
        assert!(!stderr.contains(dump), "{stderr}");
    }
}

#[test]
fn hashing_an_empty_token_is_refused_and_so_is_a_configured_hash_of_one() {
    for input in [vec!["hash-token", ""], vec!["hash-token", "  "]] {
        let out = predial().args(&input).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
        assert!(out.stdout.is_empty(), "a refused token prints no hash");
    }
    let out = predial().arg("hash-token").stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing on stdin is an empty token");

    let dir = tempfile::tempdir().unwrap();
    let empty = predial::api::auth::hash_token("");
    let out = predial()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .args(["--token", &format!("ops:admin:{empty}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("empty token"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_verb_is_a_405_that_names_the_allowed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let http = server
        .start_log
        .iter()
        .find_map(|l| l.split("HTTP/JSON on http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the HTTP address")
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let response = agent.delete(&format!("http://{http}/v1/rules")).call().unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let allow = response
        .headers()
        .get("allow")
        .expect("an Allow header")
        .to_str()
        .unwrap();
    let mut verbs: Vec<&str> = allow.split(',').map(str::trim).collect();
    verbs.sort();
    assert_eq!(verbs, ["GET", "PUT"]);
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert!(!server.start_log.is_empty());
    for line in &server.start_log {
        assert!(!line.contains('\u{1b}'), "an escape code in {line:?}");
    }
}

#[test]
fn the_start_up_log_names_the_store_actually_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let listening = server.start_log.last().unwrap();
    let store = format!("embedded store in {}", dir.path().display());
    assert!(listening.contains(&store), "{listening}");
}

#[test]
fn the_example_config_says_first_what_to_change_and_starts_once_changed() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/predial.example.toml")).unwrap();
    let head: String = example.lines().take(12).collect::<Vec<_>>().join("\n");
    for what in ["[tls]", "tokens", "before"] {
        assert!(
            head.to_lowercase().contains(&what.to_lowercase()),
            "{what} not in:\n{head}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let ports = [
        "--listen",
        "127.0.0.1:0",
        "--http-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    // As shipped: the error names the certificate file to change.
    let shipped = dir.path().join("as-shipped.toml");
    std::fs::write(&shipped, &example).unwrap();
    let out = predial()
        .args(["serve", "--config"])
        .arg(&shipped)
        .args(ports)
        .args(["--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/etc/predial/server.pem"), "{stderr}");
    // With the change its first lines ask for (no TLS files here), it serves.
    let tls_at = example.find("\n[tls]").unwrap();
    let tokens_at = example[tls_at..].find("\n[[tokens]]").unwrap() + tls_at;
    let changed = dir.path().join("changed.toml");
    std::fs::write(&changed, format!("{}{}", &example[..tls_at], &example[tokens_at..])).unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(
        &data,
        &[&["--config", changed.to_str().unwrap()][..], &ports[2..]].concat(),
    );
    assert!(server.start_log.last().unwrap().contains("listening on"));
}

async fn seven_calls_and_a_consumer(server: &Server) {
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    for i in 0..7 {
        let at = format!("2026-06-0{}T15:00:00Z", 1 + i % 2);
        decisions
            .record_contact(call(&format!("e{i}"), "c1", PHONE, 1, &at))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_must_name_its_operator_and_a_prompt_to_nobody_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    seven_calls_and_a_consumer(&server).await;
    let mut decisions = server.decisions().await;
    let prompted = decisions
        .check(dial("r1", "c1", PHONE, pb::Mode::ClickToDial, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&prompted), pb::Verdict::Prompt);
    let notes = audit_notes(&server, "c1").await;
    let issued = notes
        .iter()
        .find(|n| n.kind == "PROMPT_ISSUED")
        .expect("the prompt's note");
    assert!(issued.text.contains("No operator was named"), "{}", issued.text);

    let nameless = pb::ConfirmOverrideRequest {
        prompt_token: prompted.prompt_token.clone(),
        operator_id: " ".into(),
        proceed: true,
    };
    let status = decisions.confirm_override(nameless).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("operator_id"), "{}", status.message());
    // Nothing was used up: the named operator may still answer.
    let named = pb::ConfirmOverrideRequest {
        prompt_token: prompted.prompt_token,
        operator_id: "agent-9".into(),
        proceed: true,
    };
    let answer = decisions.confirm_override(named).await.unwrap().into_inner();
    assert_eq!(answer.verdict, pb::Verdict::Allow as i32);
    let notes = audit_notes(&server, "c1").await;
    assert!(
        notes
            .iter()
            .any(|n| n.kind == "OVERRIDE_CONFIRMED" && n.text.contains("agent-9")),
        "{notes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_reserving_request_gets_the_same_expiry_to_the_digit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    let mut ask = dial("r-lease", "c1", PHONE, pb::Mode::Auto, AT);
    ask.reserve = true;
    // An instant with nanoseconds, as a client's clock gives it.
    ask.at = Some(prost_types::Timestamp {
        seconds: ts(AT).seconds,
        nanos: 123_456_789,
    });
    let first = decisions.check(ask.clone()).await.unwrap().into_inner();
    assert!(!first.attempt_id.is_empty());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = decisions.check(ask).await.unwrap().into_inner();
    assert_eq!(again.attempt_id, first.attempt_id);
    assert_eq!(again.lease_expires_at, first.lease_expires_at);
}

#[test]
fn help_shows_every_default_and_version_names_the_commit() {
    let out = predial().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for default in [
        "default 127.0.0.1:50051",
        "default ./predial-data",
        "default 10",
        "default 300",
    ] {
        assert!(help.contains(default), "{default} not in:\n{help}");
    }
    let out = predial().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success());
    match head {
        Some(head) => {
            let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
            assert!(
                version.contains(&format!("commit {head}")),
                "{version} (HEAD is {head})"
            );
        }
        None => assert!(version.contains("commit unknown"), "{version}"),
    }
}
