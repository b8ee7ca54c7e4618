//! Cluster mode (`docs/operations.md`, "Running a cluster"): several nodes on one PostgreSQL database, over gRPC
//! against the real binary, each test on a throwaway database of its own.

mod common;

use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const A: &str = "+15551234567";
const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York

/// A node of the cluster on `pg`, serving.
async fn node(pg: &Postgres, extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let mut args = vec!["--store", url.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start_with(dir.path(), &args);
    // The start-up line names the store the node uses, never the data directory it does
    // not (the harness passes one).
    let listening = server.start_log.last().unwrap();
    assert!(listening.contains("PostgreSQL store"), "{listening}");
    assert!(!listening.contains(&dir.path().display().to_string()), "{listening}");
    wait_health(&server, true).await;
    (dir, server)
}

/// Polls `f` until it is true, for up to 2 s (the documented bound is one second); how long
/// it took.
async fn within_a_second<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if f().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("not seen within 2 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_one_node_writes_every_node_reads() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let (_c_dir, c) = node(&pg, &[]).await;
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    // GetConsumer reads the database; a decision reads memory, which follows the feed.
    for other in [&b, &c] {
        let got = other
            .accounts()
            .await
            .get_consumer(pb::GetConsumerRequest { id: "c1".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.phones[0].number, A);
        let mut decisions = other.decisions().await;
        within_a_second(|| {
            let mut decisions = decisions.clone();
            async move {
                let d = decisions
                    .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                    .await
                    .unwrap()
                    .into_inner();
                verdict(&d) == pb::Verdict::Allow
            }
        })
        .await;
        let _ = &mut decisions;
    }
    a.decisions()
        .await
        .record_contact(call("e1", "c1", A, 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    let mut on_c = c.decisions().await;
    let took = within_a_second(|| {
        let mut on_c = on_c.clone();
        async move {
            let d = on_c
                .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            d.attempts == 1
        }
    })
    .await;
    eprintln!("a contact recorded on A counted on C after {took:?}");
    // The same event sent to another node is a duplicate: one ledger.
    let again = on_c
        .record_contact(call("e1", "c1", A, 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_refuses_a_database_whose_schema_is_newer_than_it_knows() {
    let pg = Postgres::start();
    let (_dir, first) = node(&pg, &[]).await;
    drop(first);
    pg.psql("UPDATE predial_schema SET version = version + 1");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &pg.url(), "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("newer than this predial knows"), "{stderr}");
}

fn reserving(request_id: &str, consumer_id: &str, phone: &str, at: &str) -> pb::DialRequest {
    pb::DialRequest {
        reserve: true,
        ..dial(request_id, consumer_id, phone, pb::Mode::Auto, at)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_on_one_node_and_a_stop_on_another_bind_every_node_at_once() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let mut c = consumer("c1", "NY", "America/New_York", A);
    c.phones.push(pb::Phone {
        number: "+15557654321".into(),
        ..Default::default()
    });
    a.accounts().await.upsert_consumer(c).await.unwrap();
    let (mut on_a, mut on_b) = (a.decisions().await, b.decisions().await);
    // B's memory may not hold the consumer yet: it must before it can decide at all.
    within_a_second(|| {
        let mut on_b = on_b.clone();
        async move {
            verdict(
                &on_b
                    .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                    .await
                    .unwrap()
                    .into_inner(),
            ) == pb::Verdict::Allow
        }
    })
    .await;

    let granted = on_a.check(reserving("a1", "c1", A, AT)).await.unwrap().into_inner();
    assert_eq!(granted.attempt_id.len(), 32);
    // At once, whatever B's memory has followed: the database grants leases, not B.
    let on_b_now = on_b
        .check(reserving("b1", "c1", "+15557654321", AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&on_b_now), pb::Verdict::Deny);
    assert!(
        reason_codes(&on_b_now).contains(&pb::ReasonCode::AttemptInFlight),
        "{on_b_now:?}"
    );
    // A plain read on B sees the lease within a second.
    within_a_second(|| {
        let mut on_b = on_b.clone();
        async move {
            let d = on_b
                .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            d.pending == 1 && reason_codes(&d).contains(&pb::ReasonCode::AttemptInFlight)
        }
    })
    .await;
    // B settles A's lease; A sees the slot free.
    let ack = on_b
        .record_contact(pb::ContactEvent {
            attempt_id: granted.attempt_id.clone(),
            ..call("done", "c1", A, 6, "2026-06-02T15:00:30Z")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.settled_attempt_id, granted.attempt_id);

    // A STOP taken on A blocks a reservation on B at once.
    let stop = pb::InboundTextRequest {
        phone: A.into(),
        body: "STOP".into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    };
    assert!(
        a.accounts()
            .await
            .inbound_text(stop)
            .await
            .unwrap()
            .into_inner()
            .excluded
    );
    let after_stop = on_b
        .check(reserving("b2", "c1", A, "2026-06-02T15:01:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&after_stop), pb::Verdict::Deny);
    assert!(
        reason_codes(&after_stop).contains(&pb::ReasonCode::NumberExcludedByCustomer),
        "{after_stop:?}"
    );
    assert!(after_stop.attempt_id.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_set_is_active_everywhere_a_prompt_is_answered_once_and_the_trail_is_one() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let (_c_dir, c) = node(&pg, &[]).await;
    let rules = pb::RuleSet {
        controls: vec![pb::ContactControl {
            id: "one-a-week".into(),
            r#type: pb::Channel::Phone as i32,
            max_total_contacts: 1,
            period: pb::Period::Week as i32,
            ..Default::default()
        }],
        ..Default::default()
    };
    let version = b.rules().await.put_rule_set(rules).await.unwrap().into_inner().version;
    for other in [&a, &c] {
        let mut rules = other.rules().await;
        within_a_second(|| {
            let mut rules = rules.clone();
            async move {
                let r = rules
                    .get_rule_set(pb::GetRuleSetRequest::default())
                    .await
                    .unwrap()
                    .into_inner();
                r.version == version && r.controls[0].id == "one-a-week"
            }
        })
        .await;
        let _ = &mut rules;
    }
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    a.decisions()
        .await
        .record_contact(call("e1", "c1", A, 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    let ask = pb::DialRequest {
        operator_id: "agent-1".into(),
        ..dial("p", "c1", A, pb::Mode::ClickToDial, AT)
    };
    let prompted = a.decisions().await.check(ask).await.unwrap().into_inner();
    assert_eq!(verdict(&prompted), pb::Verdict::Prompt);
    let confirm = pb::ConfirmOverrideRequest {
        prompt_token: prompted.prompt_token.clone(),
        operator_id: "agent-1".into(),
        proceed: true,
    };
    let on_b = b
        .decisions()
        .await
        .confirm_override(confirm.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pb::Verdict::try_from(on_b.verdict).unwrap(), pb::Verdict::Allow);
    let on_c = c.decisions().await.confirm_override(confirm).await.unwrap_err();
    assert_eq!(on_c.code(), Code::FailedPrecondition, "{on_c:?}");
    // One trail: the prompt issued on A and the override confirmed on B, read on C.
    let kinds: Vec<String> = audit_notes(&c, "c1").await.into_iter().map(|n| n.kind).collect();
    assert_eq!(kinds, ["PROMPT_ISSUED", "OVERRIDE_CONFIRMED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_switch_to_a_pending_version_at_the_same_effective_date() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    let mut rules = rules_in_force(&a).await;
    let before = rules.version;
    let effective = chrono::Utc::now() + chrono::Duration::seconds(3);
    rules.effective_at = Some(prost_types::Timestamp {
        seconds: effective.timestamp(),
        nanos: effective.timestamp_subsec_nanos() as i32,
    });
    rules.change_reason = "a dated change".into();
    let version = a.rules().await.put_rule_set(rules).await.unwrap().into_inner().version;
    async fn decided(node: &Server) -> u64 {
        let mut decisions = node.decisions().await;
        let ask = dial("r", "c1", A, pb::Mode::Auto, AT);
        decisions.check(ask).await.unwrap().into_inner().rule_set_version
    }
    // Both nodes hold the pending version and go on deciding under the one in force.
    let mut b_rules = b.rules().await;
    within_a_second(|| {
        let mut rules = b_rules.clone();
        async move {
            rules
                .get_rule_set(pb::GetRuleSetRequest { version, at: None })
                .await
                .is_ok()
        }
    })
    .await;
    let _ = &mut b_rules;
    assert_eq!((decided(&a).await, decided(&b).await), (before, before));
    let wait = (effective - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert_eq!((decided(&a).await, decided(&b).await), (version, version));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_written_before_the_note_log_gets_it_from_its_migration() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    a.accounts()
        .await
        .set_exclusions(pb::SetExclusionsRequest {
            consumer_id: "c1".into(),
            bankruptcy: true,
            operator_id: "ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    drop(a);
    // What a database of schema version 1 holds: notes by consumer, no log.
    pg.psql(
        "DELETE FROM predial_kv WHERE k >= '\\x6a'::bytea AND k < '\\x6b'::bytea; \
         UPDATE predial_schema SET version = 1",
    );
    let (_b_dir, b) = node(&pg, &[]).await;
    let every = b
        .accounts()
        .await
        .list_audit_notes(pb::ListAuditNotesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<&str> = every.notes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(kinds, ["RULES", "EXCLUSIONS_CHANGED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_sweeps_what_retention_lets_go_from_the_database() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &["--retention-days", "10", "--retention-sweep-seconds", "2"]).await;
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    let day = |days: i64| {
        let d = (chrono::Utc::now() - chrono::Duration::days(days)).date_naive();
        format!("{d}T15:00:00Z")
    };
    let mut decisions = a.decisions().await;
    for (id, age) in [("old", 40), ("new", 1)] {
        decisions.record_contact(call(id, "c1", A, 1, &day(age))).await.unwrap();
    }
    let until = Instant::now() + Duration::from_secs(30);
    let mut swept = 0;
    while swept == 0 && Instant::now() < until {
        if let Ok(line) = a.log.recv_timeout(Duration::from_millis(200))
            && let Some(count) = line.split("contacts=").nth(1)
        {
            swept = count.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        }
    }
    assert_eq!(swept, 1, "the 40-day-old contact, from PostgreSQL");
    let again = decisions
        .record_contact(call("old", "c1", A, 1, &day(40)))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.duplicate, "its event id went with it");
    let kept = decisions
        .record_contact(call("new", "c1", A, 1, &day(1)))
        .await
        .unwrap()
        .into_inner();
    assert!(kept.duplicate);
}

/// Every record of an export, from `node`.
async fn export(node: &Server, request: pb::ExportRequest) -> Vec<pb::EvidenceRecord> {
    let mut stream = node.compliance().await.export(request).await.unwrap().into_inner();
    let mut got = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        got.push(r);
    }
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn either_node_exports_what_both_recorded() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    upsert(&a, consumer("c1", "NY", "America/New_York", A)).await;
    // Contacts on both nodes, a lease on one, an opt-out on the other.
    for (i, (n, day)) in [(&a, "05-29"), (&b, "05-30"), (&a, "05-31")].iter().enumerate() {
        n.decisions()
            .await
            .record_contact(call(&format!("e{i}"), "c1", A, 1, &format!("2026-{day}T14:00:00Z")))
            .await
            .unwrap();
    }
    let mut ask = dial("r1", "c1", A, pb::Mode::Auto, AT);
    ask.reserve = true;
    let granted = b.decisions().await.check(ask).await.unwrap().into_inner();
    assert!(!granted.attempt_id.is_empty(), "{granted:?}");
    a.accounts()
        .await
        .inbound_text(pb::InboundTextRequest {
            phone: A.into(),
            body: "STOP".into(),
            at: Some(ts(AT)),
            caller_id: String::new(),
        })
        .await
        .unwrap();
    let range = pb::ExportRequest {
        from: Some(ts("2026-01-01T00:00:00Z")),
        to: Some(ts("2099-01-01T00:00:00Z")),
        ..Default::default()
    };
    let from_a = export(&a, range.clone()).await;
    let from_b = export(&b, range).await;
    assert_eq!(from_a, from_b, "one log, whichever node reads it");
    let kinds: Vec<&str> = from_a
        .iter()
        .filter(|r| r.consumer_id == "c1")
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(kinds, ["CONTACT", "CONTACT", "CONTACT", "LEASE", "OPT_OUT"]);
    let lease = from_a.iter().find(|r| r.kind == "LEASE").unwrap();
    assert_eq!(lease.attempt_id, granted.attempt_id);
    assert_eq!(lease.verdict, granted.verdict);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_one_node_replaces_is_the_list_on_every_node() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let replace = |numbers: &[&str]| pb::DoNotCallChunk {
        numbers: numbers.iter().map(|n| n.to_string()).collect(),
        list: "national".into(),
        mode: pb::ImportMode::Replace as i32,
    };
    a.programs()
        .await
        .import_do_not_call(tokio_stream::iter(vec![replace(&[A, "+15551230000"])]))
        .await
        .unwrap();
    let lists = |node: &Server| {
        let node = node.addr;
        async move {
            let channel = tonic::transport::Channel::from_shared(format!("http://{node}"))
                .unwrap()
                .connect()
                .await
                .unwrap();
            pb::programs_client::ProgramsClient::new(channel)
                .list_do_not_call_lists(pb::ListDoNotCallListsRequest {})
                .await
                .unwrap()
                .into_inner()
                .lists
                .into_iter()
                .map(|l| (l.name, l.numbers))
                .collect::<Vec<_>>()
        }
    };
    within_a_second(|| async { lists(&b).await == [("national".to_string(), 2)] }).await;
    b.programs()
        .await
        .import_do_not_call(tokio_stream::iter(vec![replace(&[A])]))
        .await
        .unwrap();
    within_a_second(|| async { lists(&a).await == [("national".to_string(), 1)] }).await;
    // A node started now builds the list from the database.
    let (_c_dir, c) = node(&pg, &[]).await;
    assert_eq!(lists(&c).await, [("national".to_string(), 1)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_reaches_its_database_over_tls_and_checks_its_certificate() {
    let pki = pki::pki();
    let pg = Postgres::start_with(Some((&pki.server_cert, &pki.server_key)));
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("db-ca.pem");
    std::fs::write(&ca, &pki.ca).unwrap();
    let url = pg.url().replace("sslmode=disable", "sslmode=require");
    let server = Server::start_with(dir.path(), &["--store", &url, "--store-ca", ca.to_str().unwrap()]);
    wait_health(&server, true).await;
    upsert(&server, consumer("c1", "NY", "America/New_York", A)).await;
    // Every connection of the node — the pool's and the listener's — is over TLS.
    let count = |ssl: bool| {
        pg.psql(&format!(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE application_name = 'predial' AND ssl = {ssl}"
        ))
    };
    assert_eq!(count(false), "0");
    assert!(count(true).parse::<u32>().unwrap() >= 2);
    drop(server);
    // Without the CA, the server's certificate is refused: no TLS without verification.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &url, "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(!stderr.contains("password"), "{stderr}");
}

/// What `node` answers an automated call to c1's number A at `at`.
async fn verdict_on(node: &Server, at: &str) -> pb::Verdict {
    let ask = dial("r", "c1", A, pb::Mode::Auto, at);
    verdict(&node.decisions().await.check(ask).await.unwrap().into_inner())
}

#[tokio::test(flavor = "multi_thread")]
async fn reassigned_answers_one_node_imports_decide_on_every_node() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let mut c = consumer("c1", "NY", "America/New_York", A);
    c.phones[0].consent_at = Some(ts("2025-03-01T15:00:00Z"));
    upsert(&a, c).await;
    let at = "2026-12-01T16:00:00Z"; // a Tuesday, 11:00 in New York
    // Once b has the consumer, and before any answer, the call is allowed.
    within_a_second(|| async { verdict_on(&b, at).await == pb::Verdict::Allow }).await;
    let yes = pb::ReassignedAnswer {
        number: A.into(),
        as_of: "2025-03-01".into(),
        answer: pb::ReassignedAnswerKind::ReassignedAnswerYes as i32,
        checked_at: Some(ts("2026-11-02T13:00:00Z")),
    };
    a.programs()
        .await
        .import_reassigned(tokio_stream::iter(vec![pb::ReassignedChunk {
            answers: vec![yes.clone()],
        }]))
        .await
        .unwrap();
    within_a_second(|| async { verdict_on(&b, at).await == pb::Verdict::Deny }).await;
    // A node started now reads the answer from the database.
    let (_c_dir, c) = node(&pg, &[]).await;
    assert_eq!(verdict_on(&c, at).await, pb::Verdict::Deny);
    // A later check sent to another node replaces it everywhere.
    let no = pb::ReassignedAnswer {
        answer: pb::ReassignedAnswerKind::ReassignedAnswerNo as i32,
        checked_at: Some(ts("2026-11-20T13:00:00Z")),
        ..yes
    };
    b.programs()
        .await
        .import_reassigned(tokio_stream::iter(vec![pb::ReassignedChunk { answers: vec![no] }]))
        .await
        .unwrap();
    within_a_second(|| async { verdict_on(&a, at).await == pb::Verdict::Allow }).await;
    within_a_second(|| async { verdict_on(&c, at).await == pb::Verdict::Allow }).await;
}
