//! Exact under concurrency: many CanDial streams and unary Checks reserve the same
//! consumers and groups at once; every consumer and group ends with exactly its limit of
//! leases — never more (over-admission), never fewer (under-admission) — and never more
//! than `max_in_flight` open. The negative control runs the same load against a server
//! whose reservations are not serialized, and shows the check catches what follows.

mod common;

use std::collections::HashMap;

use common::*;
use predial::proto::v1 as pb;

const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York
const GROUPS: usize = 6;
const MEMBERS: usize = 3;
const SOLO: usize = 6;
/// Per consumer in a week.
const PER_CONSUMER: u32 = 3;
/// Per group in a week (under the members' 3 × 3).
const PER_GROUP: u32 = 5;
const STREAMS: usize = 8;
const UNARY: usize = 4;
/// Reserving requests each stream sends for each consumer.
const ASKS_PER_STREAM: usize = 4;

fn phone(i: usize, n: usize) -> String {
    format!("+1555{:03}{:04}", 200 + n, i)
}

/// (consumer id, its group) for every consumer of the book.
fn book() -> Vec<(String, Option<String>)> {
    let grouped = (0..GROUPS).flat_map(|g| (0..MEMBERS).map(move |m| (format!("g{g}-m{m}"), Some(format!("g{g}")))));
    grouped.chain((0..SOLO).map(|s| (format!("solo{s}"), None))).collect()
}

async fn populate(server: &Server, max_in_flight: u32) {
    let mut accounts = server.accounts().await;
    for (i, (id, group)) in book().into_iter().enumerate() {
        let mut c = consumer(&id, "NY", "America/New_York", &phone(i, 0));
        c.phones.push(pb::Phone {
            number: phone(i, 1),
            ..Default::default()
        });
        c.group_id = group.unwrap_or_default();
        accounts.upsert_consumer(c).await.unwrap();
    }
    // Busy (6) does not count: a settled busy call gives its slot back.
    let control = |id: &str, max, group| pb::ContactControl {
        id: id.into(),
        r#type: pb::Channel::Phone as i32,
        max_total_contacts: max,
        period: pb::Period::Week as i32,
        apply_to_group: group,
        non_attempt_codes: vec![6],
        ..Default::default()
    };
    server
        .rules()
        .await
        .put_rule_set(pb::RuleSet {
            controls: vec![control("each", PER_CONSUMER, false), control("group", PER_GROUP, true)],
            max_in_flight,
            ..Default::default()
        })
        .await
        .unwrap();
}

/// A reserving request for consumer `i` on one of its numbers.
fn ask(tag: &str, i: usize, id: &str, n: usize) -> pb::DialRequest {
    pb::DialRequest {
        reserve: true,
        ..dial(&format!("{tag}-{id}-{n}"), id, &phone(i, n % 2), pb::Mode::Auto, AT)
    }
}

/// Every consumer reserved by STREAMS streams and UNARY unary callers at once; the
/// answers that took a lease, as (consumer id, attempt id).
async fn hammer(server: &Server, round: &str) -> Vec<(String, String)> {
    let consumers: Vec<(usize, String)> = book().into_iter().map(|(id, _)| id).enumerate().collect();
    let mut tasks = Vec::new();
    for s in 0..STREAMS {
        let mut decisions = server.decisions().await;
        // Every stream walks the consumers in the same order, so that streams collide on
        // the same consumer at the same moment (the unary callers walk them backwards).
        let mut requests = Vec::new();
        for (i, id) in &consumers {
            for k in 0..ASKS_PER_STREAM {
                requests.push(ask(&format!("{round}-s{s}"), *i, id, k));
            }
        }
        tasks.push(tokio::spawn(async move {
            let answers = can_dial_all(&mut decisions, requests.clone()).await;
            assert_eq!(answers.len(), requests.len());
            requests
                .into_iter()
                .zip(answers)
                .map(|(r, d)| {
                    assert_eq!(r.request_id, d.request_id);
                    (r.consumer_id, d)
                })
                .collect::<Vec<_>>()
        }));
    }
    for u in 0..UNARY {
        let mut decisions = server.decisions().await;
        let consumers = consumers.clone();
        let tag = format!("{round}-u{u}");
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for k in 0..2 {
                for (i, id) in consumers.iter().rev() {
                    let d = decisions.check(ask(&tag, *i, id, k)).await.unwrap();
                    answers.push((id.clone(), d.into_inner()));
                }
            }
            answers
        }));
    }
    let mut granted = Vec::new();
    for t in tasks {
        for (consumer, d) in t.await.unwrap() {
            if !d.attempt_id.is_empty() {
                assert!(matches!(verdict(&d), pb::Verdict::Allow | pb::Verdict::Warn));
                granted.push((consumer, d.attempt_id));
            }
        }
    }
    granted
}

/// Leases granted per consumer and per group.
fn tally(granted: &[(String, String)]) -> (HashMap<String, u32>, HashMap<String, u32>) {
    let groups: HashMap<String, Option<String>> = book().into_iter().collect();
    let (mut per_consumer, mut per_group) = (HashMap::new(), HashMap::new());
    for (consumer, _) in granted {
        *per_consumer.entry(consumer.clone()).or_insert(0) += 1;
        if let Some(g) = &groups[consumer] {
            *per_group.entry(g.clone()).or_insert(0) += 1;
        }
    }
    (per_consumer, per_group)
}

/// Whether the tally is exactly the limits: every solo consumer at its own, every group
/// at the group's, no member past its own.
fn exactly_at_the_limits(granted: &[(String, String)]) -> Result<(), String> {
    let (per_consumer, per_group) = tally(granted);
    for (id, group) in book() {
        let n = per_consumer.get(&id).copied().unwrap_or(0);
        match group {
            None if n != PER_CONSUMER => {
                return Err(format!("{id} was granted {n} leases, its limit is {PER_CONSUMER}"));
            }
            Some(_) if n > PER_CONSUMER => {
                return Err(format!("{id} was granted {n} leases, its limit is {PER_CONSUMER}"));
            }
            _ => {}
        }
    }
    for g in 0..GROUPS {
        let n = per_group.get(&format!("g{g}")).copied().unwrap_or(0);
        if n != PER_GROUP {
            return Err(format!("group g{g} was granted {n} leases, its limit is {PER_GROUP}"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_streams_and_unary_calls_reserving_at_once_end_with_exactly_each_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    populate(&server, 16).await;
    let granted = hammer(&server, "a").await;
    exactly_at_the_limits(&granted).unwrap();
    // Every attempt id is distinct, and what the server counts agrees with what it granted.
    let mut ids: Vec<&String> = granted.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), granted.len());
    let (per_consumer, _) = tally(&granted);
    let mut decisions = server.decisions().await;
    for (i, (id, _)) in book().into_iter().enumerate() {
        let d = decisions
            .check(dial("read", &id, &phone(i, 0), pb::Mode::Auto, AT))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(verdict(&d), pb::Verdict::Deny, "{id}");
        let own = per_consumer.get(&id).copied().unwrap_or(0);
        assert!(d.pending >= own && d.pending == d.attempts, "{id}: {d:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn never_more_than_max_in_flight_open_and_a_settled_slot_is_taken_exactly_once_more() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    populate(&server, 1).await;
    let first = hammer(&server, "a").await;
    let (per_consumer, _) = tally(&first);
    // One call at a time to each person: exactly one lease each, the group limit unreached.
    for (id, _) in book() {
        assert_eq!(per_consumer.get(&id), Some(&1), "{id}");
    }
    // Each call ends busy (not counted): every slot frees, and is taken exactly once more.
    let mut decisions = server.decisions().await;
    for (k, (consumer_id, attempt_id)) in first.iter().enumerate() {
        let i = book().iter().position(|(id, _)| id == consumer_id).unwrap();
        let mut done = call(&format!("busy-{k}"), consumer_id, &phone(i, 0), 6, AT);
        done.attempt_id = attempt_id.clone();
        let ack = decisions.record_contact(done).await.unwrap().into_inner();
        assert_eq!(&ack.settled_attempt_id, attempt_id);
    }
    let second = hammer(&server, "b").await;
    let (per_consumer, _) = tally(&second);
    for (id, _) in book() {
        assert_eq!(per_consumer.get(&id), Some(&1), "{id}");
    }
}

/// The negative control: the same load against a server that does not serialize
/// reservations (a switch only debug builds have) is caught over-admitting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_check_catches_over_admission_when_reservations_are_not_serialized() {
    let mut caught = None;
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_env(dir.path(), &[], &[("PREDIAL_TEST_UNSERIALIZED_RESERVATIONS", "1")]);
        populate(&server, 16).await;
        let granted = hammer(&server, &format!("n{round}")).await;
        if let Err(why) = exactly_at_the_limits(&granted) {
            caught = Some(why);
            break;
        }
    }
    let why = caught.expect("without serialization, some consumer or group should have been over-admitted");
    eprintln!("negative control caught: {why}");
}
