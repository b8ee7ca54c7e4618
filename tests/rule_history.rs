//! Rules you can trust, over gRPC and HTTP against the real binary: every version kept and
//! listed, the version in force at each instant (pending versions included), the guard
//! against switching compliance off, the `RULES` trail, one spelling for files and bodies,
//! and versions that survive kill -9.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use common::http::{http_addr, request};
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const PHONE: &str = "+12125550100";
/// Wednesday June 3, 10:00 in New York.
const AT: &str = "2026-06-03T14:00:00Z";

fn preset(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(name)).unwrap()
}

fn preset_message(name: &str) -> pb::RuleSet {
    predial::proto::json::rule_set_from_json(&preset(name)).unwrap()
}

/// Regulation F with its call cap set to `max`.
fn calls_capped_at(max: u32) -> pb::RuleSet {
    let mut rules = preset_message("regulation-f.json");
    for c in rules.controls.iter_mut().filter(|c| c.max_total_contacts == 7) {
        c.max_total_contacts = max;
    }
    rules
}

fn later(seconds: i64) -> prost_types::Timestamp {
    let t = Utc::now() + chrono::Duration::seconds(seconds);
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

async fn setup(server: &Server, calls: usize) {
    upsert(server, consumer("c1", "NY", "America/New_York", PHONE)).await;
    let mut decisions = server.decisions().await;
    for i in 0..calls {
        let at = format!("2026-06-0{}T15:00:00Z", 1 + i % 2);
        decisions
            .record_contact(call(&format!("e{i}"), "c1", PHONE, 1, &at))
            .await
            .unwrap();
    }
}

async fn check_at(server: &Server, at: &str, rules_as_of: Option<&str>) -> pb::DialDecision {
    let mut ask = dial("r", "c1", PHONE, pb::Mode::Auto, at);
    ask.rules_as_of = rules_as_of.map(ts);
    server.decisions().await.check(ask).await.unwrap().into_inner()
}

async fn versions(server: &Server) -> Vec<u64> {
    let listed = server
        .rules()
        .await
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    listed.versions.iter().map(|v| v.version).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_put_is_refused_and_a_call_at_22_38_in_new_york_stays_denied() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    setup(&server, 0).await;
    let (status, body) = request(http_addr(&server), "PUT", "/v1/rules", Some("{}"));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("controls: a rule set with no controls allows every contact at any hour"),
        "{body}"
    );
    let refused = server
        .rules()
        .await
        .put_rule_set(pb::RuleSet::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().starts_with("controls"), "{}", refused.message());
    let (_, checked) = request(http_addr(&server), "POST", "/v1/rules:validate", Some("{}"));
    assert!(checked.contains("no controls"), "{checked}");

    // 22:38 on June 2 in New York.
    let late = check_at(&server, "2026-06-03T02:38:00Z", None).await;
    assert_eq!(verdict(&late), pb::Verdict::Deny);
    assert!(reason_codes(&late).contains(&pb::ReasonCode::OutsideCallingHours));
    assert_eq!(versions(&server).await, [1], "nothing was stored by the refused puts");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_channel_is_refused_then_accepted_with_the_flag_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = server.rules().await;
    // Florida's telemarketing rules add texts to the calls the preset controls.
    rules
        .put_rule_set(preset_message("florida-telemarketing.json"))
        .await
        .unwrap();
    let calls_only = preset_message("regulation-f.json");
    let refused = rules.put_rule_set(calls_only.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("TEXT"), "{}", refused.message());
    let checked = rules.validate_rule_set(calls_only.clone()).await.unwrap().into_inner();
    assert!(
        checked.errors.iter().any(|e| e.contains("TEXT")),
        "{:?}",
        checked.errors
    );

    let flag_only = pb::RuleSet {
        allow_uncontrolled_channels: true,
        ..calls_only.clone()
    };
    let refused = rules.put_rule_set(flag_only.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "the flag needs a reason");
    assert_eq!(versions(&server).await, [2, 1]);

    let meant = pb::RuleSet {
        change_reason: "texts are sent by another system from today".into(),
        operator_id: "compliance-1".into(),
        ..flag_only
    };
    let version = rules.put_rule_set(meant).await.unwrap().into_inner().version;
    assert_eq!(version, 3);
    let got = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (got.version, got.operator_id.as_str(), got.change_reason.as_str()),
        (3, "compliance-1", "texts are sent by another system from today")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_are_listed_newest_first_and_fetched_by_number_and_by_instant() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let mut rules = server.rules().await;
    let mut between = Vec::new();
    for max in [6, 5, 4] {
        rules.put_rule_set(calls_capped_at(max)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        between.push(later(0));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let first = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [4, 3, 2]);
    assert!(!first.next_page_token.is_empty());
    let second = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
            page_size: 3,
            page_token: first.next_page_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
    assert!(second.next_page_token.is_empty());
    assert_eq!(second.versions[0].operator_id, "predial", "the preset put at start");

    let cap = |r: &pb::RuleSet| r.controls.iter().map(|c| c.max_total_contacts).max().unwrap();
    let by_number = rules
        .get_rule_set(pb::GetRuleSetRequest { version: 3, at: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((by_number.version, cap(&by_number)), (3, 5));
    let by_instant = rules
        .get_rule_set(pb::GetRuleSetRequest {
            version: 0,
            at: Some(between[1]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_instant.version, 3);
    assert!(by_instant.activated_at.is_some());

    let unknown = rules
        .get_rule_set(pb::GetRuleSetRequest { version: 99, at: None })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let too_big = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
            page_size: 1001,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Code::InvalidArgument);
    assert!(too_big.message().contains("page_size"));
    let forged = rules
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest {
            page_size: 2,
            page_token: first.next_page_token.replace('0', "1"),
        })
        .await
        .unwrap_err();
    assert_eq!(forged.code(), Code::InvalidArgument);
    assert!(forged.message().contains("page_token"));

    let http = http_addr(&server);
    let (status, page) = request(http, "GET", "/v1/rules/versions?pageSize=2", None);
    assert_eq!(status, 200, "{page}");
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["versions"].as_array().unwrap().len(), 2);
    assert_eq!(page["versions"][0]["version"], "4");
    assert!(!page["nextPageToken"].as_str().unwrap().is_empty());
    let (status, one) = request(http, "GET", "/v1/rules/versions/2", None);
    assert_eq!(status, 200, "{one}");
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["version"], "2");
    let (status, _) = request(http, "GET", "/v1/rules/versions/99", None);
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_version_takes_effect_while_the_server_runs_and_rules_as_of_reads_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 3).await;
    // Whole seconds (as `ts` reads them) after version 1 took effect at start.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before_change = Utc::now().to_rfc3339();
    let effective = later(3);
    let pending = pb::RuleSet {
        effective_at: Some(effective),
        change_reason: "the city's amended rule takes effect".into(),
        ..calls_capped_at(3)
    };
    let version = server
        .rules()
        .await
        .put_rule_set(pending)
        .await
        .unwrap()
        .into_inner()
        .version;
    assert_eq!(version, 2);

    // Before its date: a question about the past, or now, is decided under version 1 ...
    let now = check_at(&server, AT, None).await;
    assert_eq!((now.rule_set_version, verdict(&now)), (1, pb::Verdict::Allow));
    // ... and a question about an instant after its date, under version 2.
    let effective_at = chrono::DateTime::from_timestamp(effective.seconds + 3600, 0).unwrap();
    let ahead = check_at(&server, &effective_at.to_rfc3339(), None).await;
    assert_eq!(ahead.rule_set_version, 2);

    let until = std::time::Instant::now() + Duration::from_secs(10);
    let after = loop {
        let d = check_at(&server, AT, None).await;
        if d.rule_set_version == 2 || std::time::Instant::now() > until {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after.rule_set_version, 2, "the pending version took effect");
    assert_eq!(verdict(&after), pb::Verdict::Deny);
    assert!(reason_codes(&after).contains(&pb::ReasonCode::MaxContacts));
    assert!(
        Utc::now().timestamp() >= effective.seconds,
        "not before its effective date"
    );

    // An examiner's question about before the change, under the rules of then.
    let old = check_at(&server, AT, Some(&before_change)).await;
    assert_eq!((old.rule_set_version, verdict(&old)), (1, pb::Verdict::Allow));
    let query = |rules_as_of: Option<&str>| pb::ComplianceQuery {
        consumer_id: "c1".into(),
        phone: String::new(),
        kind: pb::ComplianceKind::CallOk as i32,
        as_of: Some(ts(AT)),
        rules_as_of: rules_as_of.map(ts),
    };
    let mut compliance = server.compliance().await;
    let then = compliance
        .query(query(Some(&before_change)))
        .await
        .unwrap()
        .into_inner();
    let today = compliance.query(query(None)).await.unwrap().into_inner();
    assert!(then.ok, "3 calls were within the old limit of 7");
    assert!(!today.ok, "3 calls are the new limit of 3");

    // The log says when it took effect.
    let said = std::iter::from_fn(|| server.log.recv_timeout(Duration::from_secs(2)).ok())
        .find(|line| line.contains("rule set version 2 in force"));
    assert!(said.is_some(), "no log line for the activation");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_put_leaves_a_rules_note_naming_the_version_the_operator_the_reason_and_the_changes() {
    let dir = tempfile::tempdir().unwrap();
    let hash = predial::api::auth::hash_token("ops-secret");
    let server = Server::start_with(dir.path(), &["--token", &format!("ops-team:admin:{hash}")]);
    fn with_token<T>(message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", "Bearer ops-secret".parse().unwrap());
        request
    }
    let mut rules = server.rules().await;
    let mut nyc = preset_message("new-york-city.json");
    nyc.change_reason = "New York City book".into();
    rules.put_rule_set(with_token(nyc)).await.unwrap();
    let mut named = calls_capped_at(6);
    named.operator_id = "compliance-1".into();
    named.allow_uncontrolled_channels = true;
    named.change_reason = "back to Regulation F, one call fewer".into();
    rules.put_rule_set(with_token(named)).await.unwrap();

    let mut accounts = server.accounts().await;
    let notes = accounts
        .list_audit_notes(with_token(pb::ListAuditNotesRequest {
            kinds: vec!["RULES".into()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .notes;
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().all(|n| n.kind == "RULES" && n.consumer_id.is_empty()));
    assert_eq!(notes[0].operator_id, "predial");
    assert_eq!(
        notes[1].operator_id, "ops-team",
        "the token's name when the request names nobody"
    );
    assert!(notes[1].text.contains("version 2"), "{}", notes[1].text);
    assert!(notes[1].text.contains("New York City book"), "{}", notes[1].text);
    assert!(
        notes[1].text.contains("controls added: nyc-contacts"),
        "{}",
        notes[1].text
    );
    assert!(
        notes[1].text.contains("controls removed: ma-calls"),
        "{}",
        notes[1].text
    );
    assert_eq!(notes[2].operator_id, "compliance-1");
    assert!(notes[2].text.contains("max_total_contacts"), "{}", notes[2].text);
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_and_a_pending_one_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 0).await;
    let mut rules = server.rules().await;
    rules.put_rule_set(calls_capped_at(6)).await.unwrap();
    let effective = later(3600);
    let pending = pb::RuleSet {
        effective_at: Some(effective),
        ..calls_capped_at(3)
    };
    rules.put_rule_set(pending).await.unwrap();
    server.kill9();

    let server = Server::start(dir.path());
    assert_eq!(versions(&server).await, [3, 2, 1]);
    let now = rules_in_force(&server).await;
    assert_eq!(now.version, 2, "the pending version is still pending");
    let pending = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest { version: 3, at: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.effective_at.map(|t| t.seconds), Some(effective.seconds));
    let ahead = chrono::DateTime::from_timestamp(effective.seconds + 60, 0).unwrap();
    assert_eq!(check_at(&server, &ahead.to_rfc3339(), None).await.rule_set_version, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_effective_date_in_the_past_is_refused_and_a_wrong_enum_is_named_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let past = pb::RuleSet {
        effective_at: Some(ts("2026-01-01T00:00:00Z")),
        ..calls_capped_at(6)
    };
    let refused = server.rules().await.put_rule_set(past).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("effective_at"), "{}", refused.message());
    let wrong = preset("regulation-f.json").replace("\"WEEK\"", "\"WEKK\"");
    let (status, body) = request(http_addr(&server), "PUT", "/v1/rules", Some(&wrong));
    assert_eq!(status, 400);
    assert!(body.contains("WEKK") && body.contains("period"), "{body}");
    assert_eq!(versions(&server).await, [1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_preset_is_taken_as_is_over_http_and_what_get_answers_loads_with_rules() {
    let dir = tempfile::tempdir().unwrap();
    // Each on a server with only the Regulation F preset in force: the presets are rules
    // for different books (Florida's binds telemarketing alone), and going from one to
    // another may drop a channel, which the guard rightly refuses without a reason.
    let mut last = None;
    for name in [
        "regulation-f.json",
        "washington.json",
        "florida-telemarketing.json",
        "louisiana-telemarketing.json",
        "new-york-city.json",
    ] {
        let server = Server::start_with(&dir.path().join(name), &["--http-listen", "127.0.0.1:0"]);
        let http = http_addr(&server);
        let text = preset(name);
        let (status, body) = request(http, "POST", "/v1/rules:validate", Some(&text));
        assert_eq!(status, 200, "{name}: {body}");
        let errors: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(errors["errors"], serde_json::json!([]), "{name}");
        let (status, body) = request(http, "PUT", "/v1/rules", Some(&text));
        assert_eq!(status, 200, "{name}: {body}");
        last = Some(server);
    }
    let server = last.unwrap();
    let http = http_addr(&server);
    let (status, answered) = request(http, "GET", "/v1/rules", None);
    assert_eq!(status, 200);
    let file = dir.path().join("from-get.json");
    std::fs::write(&file, &answered).unwrap();
    let loaded = Server::start_with(&dir.path().join("b"), &["--rules", file.to_str().unwrap()]);
    let got = rules_in_force(&loaded).await;
    let served = rules_in_force(&server).await;
    assert_eq!(got.controls, served.controls);
    assert_eq!(got.operator_id, "predial");
}

#[test]
fn rules_check_names_every_error_and_rules_diff_shows_each_control() {
    let predial = env!("CARGO_BIN_EXE_predial");
    let presets: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let out = std::process::Command::new(predial)
        .args(["rules", "check"])
        .args(&presets)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"controls": [
            {"id": "a", "type": "PHONE", "max_total_contacts": 0, "period": "WEEK"},
            {"id": "b", "type": "PHONE", "max_total_contacts": 3, "period": "WEEK", "call_from": "25:00", "call_to": "21:00"},
            {"id": "b", "type": "TEXT", "max_total_contacts": 3, "period": "DAY"}
        ]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(predial)
        .args(["rules", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    for field in [
        "controls[0].max_total_contacts",
        "controls[1].call_from",
        "controls[2].id",
    ] {
        assert!(said.contains(field), "{field} not in:\n{said}");
    }
    assert_eq!(said.lines().count(), 3, "{said}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let out = std::process::Command::new(predial)
        .args(["rules", "diff"])
        .arg(root.join("regulation-f.json"))
        .arg(root.join("new-york-city.json"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("+ nyc-contacts: added"), "{diff}");
    assert!(diff.contains("- ma-calls: removed"), "{diff}");
}
