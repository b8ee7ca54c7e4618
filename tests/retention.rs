//! Retention against the real binary: a sweep deletes exactly the contacts past
//! `retention_days` (and beyond every rule's reach), keeps the rest and the rule-set
//! versions, and says what it did.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use predial::proto::v1 as pb;

const PHONE: &str = "+12125550100";

/// One control with a short reach: 5 calls a day, no hold (3 days of look-back).
const DAILY_RULES: &str = r#"{"controls": [{"id": "daily", "type": "PHONE", "description": "5 calls a day",
  "max_total_contacts": 5, "period": "DAY", "call_from": "08:00", "call_to": "21:00"}]}"#;

fn days_ago(days: i64) -> String {
    let day = (Utc::now() - chrono::Duration::days(days)).date_naive();
    format!("{day}T15:00:00Z")
}

async fn attempts_on(server: &Server, at: &str) -> u32 {
    let query = pb::ComplianceQuery {
        consumer_id: "c1".into(),
        phone: String::new(),
        kind: pb::ComplianceKind::Attempts as i32,
        as_of: Some(ts(at)),
        rules_as_of: None,
    };
    server.compliance().await.query(query).await.unwrap().into_inner().count
}

/// Contacts deleted by the sweeps logged from now on, until they add up to `expected`;
/// then one more sweep, which must delete none.
fn sweeps_delete(server: &Server, expected: u64) {
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let mut total = 0;
    let mut after_expected = 0;
    while std::time::Instant::now() < until {
        let Ok(line) = server.log.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        let Some(count) = line.split("contacts=").nth(1) else {
            continue;
        };
        let count: u64 = count.split_whitespace().next().unwrap().parse().unwrap();
        if total == expected {
            assert_eq!(count, 0, "a sweep after the others deleted more: {line}");
            after_expected += 1;
            if after_expected == 1 {
                return;
            }
        }
        total += count;
        assert!(total <= expected, "swept {total}, expected {expected}: {line}");
    }
    panic!("the sweeps deleted {total} contacts in 30 s, expected {expected}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_deletes_exactly_the_contacts_past_retention_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("daily.json");
    std::fs::write(&rules, DAILY_RULES).unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--retention-days",
            "10",
            // The first sweep comes 5 s after start: the contacts are in, and counted
            // below, well before it.
            "--retention-sweep-seconds",
            "5",
        ],
    );
    upsert(&server, consumer("c1", "NY", "America/New_York", PHONE)).await;
    let ages = [40, 11, 9, 1];
    let mut decisions = server.decisions().await;
    for age in ages {
        decisions
            .record_contact(call(&format!("e{age}"), "c1", PHONE, 1, &days_ago(age)))
            .await
            .unwrap();
    }
    // A lease taken 40 days ago and settled: closed, so it goes with its contact.
    let mut reserve = dial("r-old", "c1", PHONE, pb::Mode::Auto, &days_ago(40));
    reserve.reserve = true;
    let leased = decisions.check(reserve).await.unwrap().into_inner();
    assert!(!leased.attempt_id.is_empty(), "{leased:?}");
    let mut outcome = call("e-settle", "c1", PHONE, 6, &days_ago(40));
    outcome.attempt_id = leased.attempt_id.clone();
    decisions.record_contact(outcome).await.unwrap();
    // The busy outcome counts too: the daily control lists no codes, so every call counts.
    for (age, before) in [(40, 2), (11, 1), (9, 1), (1, 1)] {
        assert_eq!(
            attempts_on(&server, &days_ago(age)).await,
            before,
            "{age} days ago, before"
        );
    }
    let release = || pb::ReleaseAttemptRequest {
        attempt_id: leased.attempt_id.clone(),
        operator_id: "ops".into(),
    };
    let settled = decisions.release_attempt(release()).await.unwrap_err();
    assert_eq!(
        settled.code(),
        tonic::Code::FailedPrecondition,
        "settled, before the sweep"
    );
    sweeps_delete(&server, 3);
    // The evidence of what was swept went with it: the export keeps the last 10 days.
    let mut stream = server
        .compliance()
        .await
        .export(pb::ExportRequest {
            consumer_id: "c1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        exported.push((r.kind, r.at.unwrap().seconds));
    }
    let cutoff = (Utc::now() - chrono::Duration::days(10)).timestamp();
    assert!(exported.iter().all(|(_, at)| *at >= cutoff), "{exported:?}");
    let contacts = exported.iter().filter(|(kind, _)| kind == "CONTACT").count();
    assert_eq!(contacts, 2, "the contacts 9 and 1 days old: {exported:?}");
    let gone = decisions.release_attempt(release()).await.unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound, "the closed lease was swept");

    for (age, left) in [(40, 0), (11, 0), (9, 1), (1, 1)] {
        assert_eq!(
            attempts_on(&server, &days_ago(age)).await,
            left,
            "{age} days ago, after"
        );
    }
    // A swept contact's event id is free again; a kept one's is still a duplicate.
    let swept = decisions
        .record_contact(call("e40", "c1", PHONE, 1, &days_ago(40)))
        .await
        .unwrap()
        .into_inner();
    assert!(!swept.duplicate);
    let kept = decisions
        .record_contact(call("e9", "c1", PHONE, 1, &days_ago(9)))
        .await
        .unwrap()
        .into_inner();
    assert!(kept.duplicate);
    // Rule-set versions are never swept.
    let versions = server
        .rules()
        .await
        .list_rule_set_versions(pb::ListRuleSetVersionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_that_looks_back_further_than_retention_keeps_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    // Regulation F looks back 9 days (a week, its 7-day hold, a margin); retention asks 2.
    let server = Server::start_with(dir.path(), &["--retention-days", "2", "--retention-sweep-seconds", "1"]);
    upsert(&server, consumer("c1", "NY", "America/New_York", PHONE)).await;
    let mut decisions = server.decisions().await;
    for age in [30, 5] {
        decisions
            .record_contact(call(&format!("e{age}"), "c1", PHONE, 1, &days_ago(age)))
            .await
            .unwrap();
    }
    // Only the 30-day-old one.
    sweeps_delete(&server, 1);
    assert_eq!(attempts_on(&server, &days_ago(5)).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_9_in_the_middle_of_a_sweep_leaves_every_contact_whole_or_gone() {
    const CONSUMERS: usize = 50;
    const PER_CONSUMER: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // First, on a server that keeps everything: 20,000 contacts 40 days old.
    let server = Server::start_with(&data, &["--retention-days", "0"]);
    for c in 0..CONSUMERS {
        upsert(&server, consumer(&format!("c{c}"), "NY", "America/New_York", PHONE)).await;
    }
    let mut writers = Vec::new();
    for c in 0..CONSUMERS {
        let mut decisions = server.decisions().await;
        writers.push(tokio::spawn(async move {
            for i in 0..PER_CONSUMER {
                let at = (Utc::now() - chrono::Duration::days(40) + chrono::Duration::seconds(i as i64)).to_rfc3339();
                let mut event = call(&format!("c{c}-e{i}"), &format!("c{c}"), PHONE, 1, &at);
                event.occurred_at = Some(ts(&at));
                decisions.record_contact(event).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    drop(server);

    // Then one that sweeps a second after start, killed -9 a few batches in.
    let sweeper = Server::start_env(
        &data,
        &["--retention-days", "10", "--retention-sweep-seconds", "1"],
        &[("RUST_LOG", "info,predial::state::retention=debug")],
    );
    let until = std::time::Instant::now() + Duration::from_secs(60);
    let mut batches = 0;
    while batches < 3 && std::time::Instant::now() < until {
        if let Ok(line) = sweeper.log.recv_timeout(Duration::from_millis(100))
            && line.contains("retention batch deleted")
        {
            batches += 1;
        }
    }
    assert_eq!(batches, 3, "the sweep started");
    sweeper.kill9();

    // What is left is consistent: for every consumer, the contacts its history counts are
    // exactly the event ids still recorded (a contact and its idempotency entry go
    // together or not at all).
    let server = Server::start_with(&data, &["--retention-days", "0"]);
    let mut decisions = server.decisions().await;
    let mut kept_total = 0;
    for c in 0..CONSUMERS {
        let query = pb::ComplianceQuery {
            consumer_id: format!("c{c}"),
            phone: String::new(),
            kind: pb::ComplianceKind::Attempts as i32,
            as_of: Some(ts(&(Utc::now() - chrono::Duration::days(39)).to_rfc3339())),
            rules_as_of: None,
        };
        let counted = server.compliance().await.query(query).await.unwrap().into_inner().count as usize;
        let mut still_recorded = 0;
        for i in 0..PER_CONSUMER {
            let at = (Utc::now() - chrono::Duration::days(40)).to_rfc3339();
            let again = decisions
                .record_contact(call(&format!("c{c}-e{i}"), &format!("c{c}"), PHONE, 1, &at))
                .await
                .unwrap()
                .into_inner();
            still_recorded += usize::from(again.duplicate);
        }
        assert_eq!(counted, still_recorded, "c{c}: contacts counted against event ids kept");
        kept_total += still_recorded;
    }
    // The kill landed part way (3 batches of 1,000 of 20,000 were done): say so when it did.
    eprintln!(
        "after the kill: {kept_total} of {} contacts kept",
        CONSUMERS * PER_CONSUMER
    );
    assert!(
        kept_total < CONSUMERS * PER_CONSUMER,
        "the batches before the kill are gone"
    );
}
