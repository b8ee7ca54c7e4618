//! The evidence export against the real binary: a scripted day — calls, a lease settled,
//! one released, a prompt overridden, a STOP, a rule change — comes out once each, in time
//! order, each lease with the decision that granted it; the same over HTTP as CSV that
//! Python's `csv` reads; and bad requests are refused naming the field.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::http::{http_addr, request};
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const PHONE: &str = "+15551234567";

/// The day, as the server records it. Answers the attempt ids of the settled and the
/// released lease.
async fn scripted_day(server: &Server) -> (String, String) {
    upsert(server, consumer("c1", "NY", "America/New_York", PHONE)).await;
    let mut decisions = server.decisions().await;
    // Six calls, one a day: the seventh call in seven days is the last the preset allows.
    for (i, day) in ["05-27", "05-28", "05-29", "05-30", "05-31", "06-01"]
        .iter()
        .enumerate()
    {
        decisions
            .record_contact(call(&format!("e{i}"), "c1", PHONE, 1, &format!("2026-{day}T14:00:00Z")))
            .await
            .unwrap();
    }
    // A reserving decision takes a lease; its outcome settles it.
    let mut ask = dial("r1", "c1", PHONE, pb::Mode::Auto, "2026-06-02T14:00:00Z");
    ask.reserve = true;
    ask.operator_id = "dialer-1".into();
    let granted = decisions.check(ask).await.unwrap().into_inner();
    assert_eq!(verdict(&granted), pb::Verdict::Warn, "{granted:?}");
    let mut outcome = call("e6", "c1", PHONE, 1, "2026-06-02T14:05:00Z");
    outcome.attempt_id = granted.attempt_id.clone();
    decisions.record_contact(outcome).await.unwrap();
    // Now 7 of 7: click-to-dial prompts; the agent overrides, which takes a lease that is
    // then released (the call was never placed).
    let mut ask = dial("r2", "c1", PHONE, pb::Mode::ClickToDial, "2026-06-02T15:00:00Z");
    ask.reserve = true;
    ask.operator_id = "agent-7".into();
    let prompted = decisions.check(ask).await.unwrap().into_inner();
    assert_eq!(verdict(&prompted), pb::Verdict::Prompt, "{prompted:?}");
    let confirmed = decisions
        .confirm_override(pb::ConfirmOverrideRequest {
            prompt_token: prompted.prompt_token.clone(),
            operator_id: "agent-7".into(),
            proceed: true,
        })
        .await
        .unwrap()
        .into_inner();
    let released = confirmed.attempt_id.clone();
    assert!(!released.is_empty(), "the override took a lease: {confirmed:?}");
    decisions
        .release_attempt(pb::ReleaseAttemptRequest {
            attempt_id: released.clone(),
            operator_id: "agent-7".into(),
        })
        .await
        .unwrap();
    // The consumer texts STOP; compliance changes the rules.
    server
        .accounts()
        .await
        .inbound_text(pb::InboundTextRequest {
            phone: PHONE.into(),
            body: "<b>STOP</b> please".into(),
            at: Some(ts("2026-06-02T16:00:00Z")),
            caller_id: String::new(),
        })
        .await
        .unwrap();
    let mut rules = rules_in_force(server).await;
    rules.controls[0].description = "Regulation F, as counsel reads it".into();
    rules.change_reason = "clearer description".into();
    rules.operator_id = "compliance-1".into();
    server.rules().await.put_rule_set(rules).await.unwrap();
    (granted.attempt_id, released)
}

async fn export(server: &Server, request: pb::ExportRequest) -> Result<Vec<pb::EvidenceRecord>, tonic::Status> {
    let mut stream = server.compliance().await.export(request).await?.into_inner();
    let mut got = Vec::new();
    while let Some(r) = stream.message().await? {
        got.push(r);
    }
    Ok(got)
}

/// One consumer's records, all time.
async fn consumers_evidence(server: &Server, consumer_id: &str) -> Vec<pb::EvidenceRecord> {
    let request = pb::ExportRequest {
        consumer_id: consumer_id.into(),
        ..Default::default()
    };
    export(server, request).await.unwrap()
}

fn millis(r: &pb::EvidenceRecord) -> i64 {
    let t = r.at.as_ref().unwrap();
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

fn kinds(records: &[pb::EvidenceRecord]) -> Vec<&str> {
    records.iter().map(|r| r.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scripted_day_is_exported_once_each_in_time_order_with_each_lease_s_decision() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (settled, released) = scripted_day(&server).await;

    let all = consumers_evidence(&server, "c1").await;
    assert!(all.windows(2).all(|w| millis(&w[0]) <= millis(&w[1])), "in time order");
    let count = |kind: &str| all.iter().filter(|r| r.kind == kind).count();
    assert_eq!(count("CONTACT"), 7, "{:?}", kinds(&all));
    assert_eq!(count("LEASE"), 2, "{:?}", kinds(&all));
    assert_eq!(count("LEASE_SETTLED"), 1);
    assert_eq!(count("LEASE_RELEASED"), 1);
    assert_eq!(count("PROMPT"), 1);
    assert_eq!(count("OVERRIDE"), 1);
    assert_eq!(count("OPT_OUT"), 1);
    assert_eq!(count("RULES"), 0, "a rule change is no consumer's");

    // The first lease shows the decision that granted it: WARN, near the cap, version 1.
    let lease = all
        .iter()
        .find(|r| r.kind == "LEASE" && r.attempt_id == settled)
        .unwrap();
    assert_eq!(lease.verdict, pb::Verdict::Warn as i32);
    assert!(
        lease
            .reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::NearMaxContacts as i32),
        "{lease:?}"
    );
    assert_eq!(lease.rule_set_version, 1);
    assert!(lease.counted);
    assert_eq!((lease.phone.as_str(), lease.operator_id.as_str()), (PHONE, "dialer-1"));
    let settling = all.iter().find(|r| r.kind == "LEASE_SETTLED").unwrap();
    assert_eq!(settling.attempt_id, settled);
    assert_eq!(settling.verdict, pb::Verdict::Warn as i32);
    // The released lease was taken by the override of a PROMPT.
    let freed = all.iter().find(|r| r.kind == "LEASE_RELEASED").unwrap();
    assert_eq!(freed.attempt_id, released);
    let prompt = all.iter().find(|r| r.kind == "PROMPT").unwrap();
    assert_eq!(prompt.verdict, pb::Verdict::Prompt as i32);
    assert!(
        prompt
            .reasons
            .iter()
            .any(|r| r.code == pb::ReasonCode::MaxContacts as i32),
        "{prompt:?}"
    );
    // Every call with code 1 counted under the preset.
    assert!(
        all.iter()
            .filter(|r| r.kind == "CONTACT")
            .all(|r| r.counted && r.rule_set_version == 1)
    );
    let stop = all.iter().find(|r| r.kind == "OPT_OUT").unwrap();
    assert!(stop.text.contains("<b>STOP</b> please"), "{}", stop.text);
    assert_eq!(stop.phone, PHONE);

    // Everyone's, over a range: the rule changes are there (the preset put on the empty
    // store, then compliance's), each under the version it put.
    let range = pb::ExportRequest {
        from: Some(ts("2026-01-01T00:00:00Z")),
        to: Some(ts("2099-01-01T00:00:00Z")),
        ..Default::default()
    };
    let everyone = export(&server, range.clone()).await.unwrap();
    let rules: Vec<_> = everyone.iter().filter(|r| r.kind == "RULES").collect();
    let versions: Vec<_> = rules
        .iter()
        .map(|r| (r.rule_set_version, r.operator_id.as_str()))
        .collect();
    assert_eq!(versions, [(1, "predial"), (2, "compliance-1")]);
    assert_eq!(
        everyone.len(),
        all.len() + 2,
        "the consumer's records and the rule changes"
    );

    // Kinds and a narrower range filter.
    let only = export(
        &server,
        pb::ExportRequest {
            kinds: vec!["CONTACT".into()],
            from: Some(ts("2026-05-29T00:00:00Z")),
            to: Some(ts("2026-06-01T00:00:00Z")),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(kinds(&only), ["CONTACT"; 3]);

    // The store keeps it: the same after a restart.
    drop(server);
    let server = Server::start(dir.path());
    let again = consumers_evidence(&server, "c1").await;
    assert_eq!(again, all);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_without_a_consumer_needs_a_range_that_runs_forward() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let refused = |request| async {
        let status = export(&server, request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        status.message().to_string()
    };
    let no_range = refused(pb::ExportRequest::default()).await;
    assert!(no_range.contains("from"), "{no_range}");
    let backwards = refused(pb::ExportRequest {
        from: Some(ts("2026-02-01T00:00:00Z")),
        to: Some(ts("2026-01-01T00:00:00Z")),
        ..Default::default()
    })
    .await;
    assert!(backwards.contains("to: must be after from"), "{backwards}");
    let kind = refused(pb::ExportRequest {
        consumer_id: "c1".into(),
        kinds: vec!["CALLS".into()],
        ..Default::default()
    })
    .await;
    assert!(kind.contains("kinds"), "{kind}");
}

/// Rows of a CSV text as Python's `csv` module reads them.
fn python_csv(text: &str) -> Vec<Vec<String>> {
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    python.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_over_http_is_csv_python_reads_and_ndjson() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let (settled, _) = scripted_day(&server).await;
    let addr = http_addr(&server);

    let (status, body) = request(addr, "GET", "/v1/evidence?consumerId=c1", None);
    assert_eq!(status, 200, "{body}");
    let rows = python_csv(&body);
    assert_eq!(
        rows[0],
        [
            "at",
            "kind",
            "consumer_id",
            "channel",
            "phone",
            "result_code",
            "counted",
            "operator_id",
            "caller_id",
            "attempt_id",
            "rule_set_version",
            "verdict",
            "reasons",
            "text"
        ]
    );
    let grpc = consumers_evidence(&server, "c1").await;
    assert_eq!(rows.len(), grpc.len() + 1, "a row per record after the header");
    let lease = rows
        .iter()
        .find(|r| r[1] == "LEASE" && r[9] == settled)
        .expect("the settled lease's row");
    assert_eq!(
        (lease[3].as_str(), lease[6].as_str(), lease[11].as_str()),
        ("PHONE", "true", "WARN")
    );
    assert!(lease[12].starts_with("NEAR_MAX_CONTACTS"), "{}", lease[12]);
    let stop = rows.iter().find(|r| r[1] == "OPT_OUT").unwrap();
    assert!(stop[13].contains("<b>STOP</b> please"), "{}", stop[13]);

    let (status, body) = request(
        addr,
        "GET",
        "/v1/evidence?from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00Z&kinds=RULES&format=ndjson",
        None,
    );
    assert_eq!(status, 200, "{body}");
    let lines: Vec<serde_json::Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{body}");
    assert!(lines.iter().all(|l| l["kind"] == "RULES"));
    assert_eq!(lines[1]["ruleSetVersion"], "2");

    let (status, body) = request(addr, "GET", "/v1/evidence", None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("from"), "{body}");
    let (status, body) = request(addr, "GET", "/v1/evidence?consumerId=c1&format=xml", None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("format"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn predial_export_writes_the_file_a_user_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    scripted_day(&server).await;
    let file = dir.path().join("evidence.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["export", "--addr", &server.addr.to_string(), "--consumer", "c1", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let rows = python_csv(&std::fs::read_to_string(&file).unwrap());
    assert!(said.contains(&format!("{} records written", rows.len() - 1)), "{said}");
    assert!(rows.iter().any(|r| r[1] == "LEASE_SETTLED"));

    let out = Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["export", "--addr", &server.addr.to_string(), "--from", "2026-06-02"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("to"), "{said}");
}
