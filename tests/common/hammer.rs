//! The load the concurrency tests put on one server or a cluster: a book of consumers in
//! groups and alone, a rule set with a per-consumer and a per-group weekly limit, many
//! streams and unary callers reserving the same consumers at once, and the check that
//! every consumer and group ends with exactly its limit of leases.

#![allow(dead_code)]

use std::collections::HashMap;

use super::*;
use predial::proto::v1 as pb;

pub const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York
pub const GROUPS: usize = 6;
pub const MEMBERS: usize = 3;
pub const SOLO: usize = 6;
/// Per consumer in a week.
pub const PER_CONSUMER: u32 = 3;
/// Per group in a week (under the members' 3 × 3).
pub const PER_GROUP: u32 = 5;
pub const STREAMS: usize = 8;
pub const UNARY: usize = 4;
/// Reserving requests each stream sends for each consumer.
pub const ASKS_PER_STREAM: usize = 4;

pub fn phone(i: usize, n: usize) -> String {
    format!("+1555{:03}{:04}", 200 + n, i)
}

/// (consumer id, its group) for every consumer of the book.
pub fn book() -> Vec<(String, Option<String>)> {
    let grouped = (0..GROUPS).flat_map(|g| (0..MEMBERS).map(move |m| (format!("g{g}-m{m}"), Some(format!("g{g}")))));
    grouped.chain((0..SOLO).map(|s| (format!("solo{s}"), None))).collect()
}

pub async fn populate(server: &Server, max_in_flight: u32) {
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
pub fn ask(tag: &str, i: usize, id: &str, n: usize) -> pb::DialRequest {
    pb::DialRequest {
        reserve: true,
        ..dial(&format!("{tag}-{id}-{n}"), id, &phone(i, n % 2), pb::Mode::Auto, AT)
    }
}

/// How long one hammer round may take before it is called hung (it takes seconds).
const HANG: std::time::Duration = std::time::Duration::from_secs(120);

/// Awaits every task in turn, answering their results in order.
async fn join_in_order<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

/// Every consumer reserved by STREAMS streams and UNARY unary callers at once, spread
/// over `servers` in turn; the answers that took a lease, as (consumer id, attempt id).
pub async fn hammer(servers: &[&Server], round: &str) -> Vec<(String, String)> {
    let consumers: Vec<(usize, String)> = book().into_iter().map(|(id, _)| id).enumerate().collect();
    let mut tasks = Vec::new();
    for s in 0..STREAMS.max(servers.len() * 3) {
        let mut decisions = servers[s % servers.len()].decisions().await;
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
    for u in 0..UNARY.max(servers.len()) {
        let mut decisions = servers[u % servers.len()].decisions().await;
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
    // A hammer that hangs is a failure (a lock-order deadlock once hid here as a stalled
    // run), not something for CI's own timeout to find.
    let answers = tokio::time::timeout(HANG, join_in_order(tasks))
        .await
        .unwrap_or_else(|_| panic!("round {round}: the callers did not all finish within {HANG:?}"));
    let mut granted = Vec::new();
    for answered in answers {
        for (consumer, d) in answered {
            if !d.attempt_id.is_empty() {
                assert!(matches!(verdict(&d), pb::Verdict::Allow | pb::Verdict::Warn));
                granted.push((consumer, d.attempt_id));
            }
        }
    }
    granted
}

/// Leases granted per consumer and per group.
pub fn tally(granted: &[(String, String)]) -> (HashMap<String, u32>, HashMap<String, u32>) {
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
pub fn exactly_at_the_limits(granted: &[(String, String)]) -> Result<(), String> {
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
