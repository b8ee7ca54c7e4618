//! `predial serve` as the README and `docs/operations.md` describe it.

mod common;

use common::*;
use predial::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread")]
async fn a_new_store_starts_with_the_regulation_f_preset_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("fresh"));
    let rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rules.version, 1);
    let regf = &rules.controls[0];
    assert_eq!(
        (regf.id.as_str(), regf.max_total_contacts, regf.hold_for_days),
        ("regf-calls", 7, 7)
    );
    assert_eq!((regf.call_from.as_str(), regf.call_to.as_str()), ("08:00", "21:00"));
    assert_eq!(regf.rpc_codes, [4, 101]);
    assert!(
        rules
            .controls
            .iter()
            .any(|c| c.state == "MA" && c.max_total_contacts == 2)
    );
    // A restart keeps the version.
    server.kill9();
    let server = Server::start(&dir.path().join("fresh"));
    let rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rules.version, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_file_on_a_new_store_is_version_1_and_is_not_reinstalled_when_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.json");
    std::fs::write(
        &file,
        r#"{"controls": [{"id": "texts", "type": "TEXT", "max_total_contacts": 3, "period": "DAY",
            "call_from": "09:00", "call_to": "20:00"}], "holidays": ["2026-12-25"]}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let arg = file.to_str().unwrap();
    let server = Server::start_with(&data, &["--rules", arg]);
    let rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (rules.version, rules.controls[0].id.as_str(), rules.holidays.clone()),
        (1, "texts", vec!["2026-12-25".to_string()])
    );
    server.kill9();
    let server = Server::start_with(&data, &["--rules", arg]);
    let rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rules.version, 1);
}

#[test]
fn an_invalid_rules_file_stops_the_server_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.json");
    std::fs::write(
        &file,
        r#"{"controls": [{"id": "x", "type": "PHONE", "max_total_contacts": 0, "period": "WEEK"}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .arg("--rules")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("controls[0].max_total_contacts"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_sets_what_the_flags_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("predial.toml");
    let data = dir.path().join("from-config");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata = {:?}\ndrain_seconds = 2\n", data),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("listening on"))
        .expect("a listening line");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains("127.0.0.1:"), "{line}");
    assert!(data.exists(), "the store was not created where the config says");
}
