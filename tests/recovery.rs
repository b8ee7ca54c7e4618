//! Durability: a server killed with SIGKILL restarts with every acknowledged write and
//! gives the same answers; SIGTERM drains and exits cleanly.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::*;
use predial::proto::v1 as pb;

const AT: &str = "2026-06-02T20:00:00Z"; // 16:00 in New York

fn phone(i: usize) -> String {
    format!("+1555{:07}", 1_000_000 + i)
}

/// A day-long cap high enough that every recorded call shows in `attempts`.
fn counting_rules() -> pb::RuleSet {
    pb::RuleSet {
        controls: vec![pb::ContactControl {
            id: "count-all".into(),
            r#type: pb::Channel::Phone as i32,
            max_total_contacts: 100_000,
            period: pb::Period::Week as i32,
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn answers(server: &Server, consumers: usize) -> Vec<pb::DialDecision> {
    let mut decisions = server.decisions().await;
    let mut out = Vec::new();
    for i in 0..consumers {
        let d = decisions
            .check(dial("q", &format!("c{i}"), &phone(i), pb::Mode::Auto, AT))
            .await
            .unwrap()
            .into_inner();
        out.push(d);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9_and_answers_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let version = server
        .rules()
        .await
        .put_rule_set(counting_rules())
        .await
        .unwrap()
        .into_inner()
        .version;
    let mut accounts = server.accounts().await;
    for i in 0..20 {
        let mut c = consumer(&format!("c{i}"), "NY", "America/New_York", &phone(i));
        c.group_id = format!("g{}", i % 5);
        accounts.upsert_consumer(c).await.unwrap();
    }
    // 8 writers at once: their acknowledgements share flushes.
    let mut writers = Vec::new();
    for w in 0..8 {
        let mut decisions = server.decisions().await;
        writers.push(tokio::spawn(async move {
            for k in 0..50 {
                let i = (w * 50 + k) % 20;
                let at = format!("2026-06-0{}T1{}:00:00Z", 1 + k % 2, k % 10);
                let e = call(
                    &format!("w{w}-{k}"),
                    &format!("c{i}"),
                    &phone(i),
                    1 + (k % 3) as i32,
                    &at,
                );
                assert!(!decisions.record_contact(e).await.unwrap().into_inner().duplicate);
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let before = answers(&server, 20).await;
    assert_eq!(before.iter().map(|d| d.attempts).sum::<u32>(), 400);
    let consumer_before = accounts
        .get_consumer(pb::GetConsumerRequest { id: "c3".into() })
        .await
        .unwrap()
        .into_inner();
    server.kill9();

    let server = Server::start(dir.path());
    assert_eq!(answers(&server, 20).await, before);
    let rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((rules.version, rules.controls[0].id.as_str()), (version, "count-all"));
    let consumer_after = server
        .accounts()
        .await
        .get_consumer(pb::GetConsumerRequest { id: "c3".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consumer_after, consumer_before);
    // Every acknowledged event is there: sending it again is a duplicate.
    let mut decisions = server.decisions().await;
    let again = call("w3-7", "c17", &phone(17), 2, "2026-06-02T17:00:00Z");
    assert!(decisions.record_contact(again).await.unwrap().into_inner().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_9_in_the_middle_of_a_write_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    server.rules().await.put_rule_set(counting_rules()).await.unwrap();
    let mut accounts = server.accounts().await;
    for i in 0..10 {
        accounts
            .upsert_consumer(consumer(&format!("c{i}"), "NY", "America/New_York", &phone(i)))
            .await
            .unwrap();
    }
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut sent = Vec::new();
    for round in 0..3 {
        let mut writers = Vec::new();
        for w in 0..16 {
            let mut decisions = server.decisions().await;
            let acked = acked.clone();
            let events: Vec<pb::ContactEvent> = (0..400)
                .map(|k| {
                    let i = (w + k) % 10;
                    call(
                        &format!("r{round}-w{w}-{k}"),
                        &format!("c{i}"),
                        &phone(i),
                        1,
                        "2026-06-01T15:00:00Z",
                    )
                })
                .collect();
            sent.extend(events.clone());
            writers.push(tokio::spawn(async move {
                for e in events {
                    match decisions.record_contact(e.clone()).await {
                        Ok(_) => {
                            acked.lock().unwrap().insert(e.event_id);
                        }
                        Err(_) => break, // the server died under us
                    }
                }
            }));
        }
        // Killed once this round's load has been acknowledged a while (more each round).
        let before = acked.lock().unwrap().len();
        until_progress(before + 200 * (round + 1), || acked.lock().unwrap().len()).await;
        server.kill9();
        for w in writers {
            w.await.unwrap();
        }
        server = Server::start(dir.path());
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "the load acknowledged nothing before the kills");

    // Re-send everything that was sent: each acknowledged event must be a duplicate.
    let mut resenders = Vec::new();
    for chunk in sent.chunks(sent.len().div_ceil(16)) {
        let mut decisions = server.decisions().await;
        let (chunk, acked) = (chunk.to_vec(), acked.clone());
        resenders.push(tokio::spawn(async move {
            let mut durable = 0u32;
            for e in chunk {
                let ack = decisions.record_contact(e.clone()).await.unwrap().into_inner();
                if acked.contains(&e.event_id) {
                    assert!(ack.duplicate, "acknowledged event {} was lost", e.event_id);
                }
                durable += ack.duplicate as u32;
            }
            durable
        }));
    }
    let mut durable = 0u32;
    for r in resenders {
        durable += r.await.unwrap();
    }
    assert!(durable as usize >= acked.len());
    // And the counts are exactly one per event: nothing counted twice, nothing lost.
    let total: u32 = answers(&server, 10).await.iter().map(|d| d.attempts).sum();
    assert_eq!(total as usize, sent.len());
    eprintln!(
        "kills: 3, events sent: {}, acknowledged: {}, durable: {durable}",
        sent.len(),
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_flushes_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c0", "NY", "America/New_York", &phone(0)))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    decisions
        .record_contact(call("e0", "c0", &phone(0), 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    // An open CanDial stream must not keep the server from stopping.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(dial("s1", "c0", &phone(0), pb::Mode::Auto, AT)).await.unwrap();
    let mut stream = decisions
        .can_dial(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().request_id, "s1");

    let status = tokio::task::spawn_blocking(move || server.terminate()).await.unwrap();
    assert!(status.success(), "{status:?}");
    assert!(matches!(stream.message().await, Ok(None) | Err(_)));
    drop(tx);

    let server = Server::start(dir.path());
    let d = server
        .decisions()
        .await
        .check(dial("q", "c0", &phone(0), pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.attempts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instant_older_than_memory_keeps_is_answered_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c0", "NY", "America/New_York", &phone(0)))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    for d in 1..=7 {
        let at = format!("2026-06-0{d}T14:00:00Z");
        decisions
            .record_contact(call(&format!("june-{d}"), "c0", &phone(0), 1, &at))
            .await
            .unwrap();
    }
    // A call in November pushes June out of memory.
    decisions
        .record_contact(call("nov", "c0", &phone(0), 1, "2026-11-02T15:00:00Z"))
        .await
        .unwrap();
    let june = dial("q", "c0", &phone(0), pb::Mode::Auto, "2026-06-07T18:00:00Z");
    let d = decisions.check(june.clone()).await.unwrap().into_inner();
    assert_eq!((verdict(&d), d.attempts), (pb::Verdict::Deny, 7));
    let nov = decisions
        .check(dial("q", "c0", &phone(0), pb::Mode::Auto, "2026-11-02T16:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nov.attempts, 1);
    server.kill9();
    let server = Server::start(dir.path());
    let d2 = server.decisions().await.check(june).await.unwrap().into_inner();
    assert_eq!(d2, d);
}

#[tokio::test(flavor = "multi_thread")]
async fn leases_granted_under_load_survive_kill_9_and_settle_by_their_id() {
    const CONSUMERS: usize = 400;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = counting_rules();
    rules.max_in_flight = 16;
    server.rules().await.put_rule_set(rules).await.unwrap();
    let mut accounts = server.accounts().await;
    for i in 0..CONSUMERS {
        accounts
            .upsert_consumer(consumer(&format!("c{i}"), "NY", "America/New_York", &phone(i)))
            .await
            .unwrap();
    }
    // 8 streams reserve, round robin over the consumers (16 in flight per consumer at
    // most, then DENY ATTEMPT_IN_FLIGHT: room for 6,400 leases, more than are granted
    // before the kill); every lease whose answer arrived is noted.
    let granted: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let mut streams = Vec::new();
    for s in 0..8 {
        let mut decisions = server.decisions().await;
        let granted = granted.clone();
        streams.push(tokio::spawn(async move {
            let requests = (0..2_000).map(move |k| {
                let i = (s + k) % CONSUMERS;
                pb::DialRequest {
                    reserve: true,
                    ..dial(&format!("s{s}-{k}"), &format!("c{i}"), &phone(i), pb::Mode::Auto, AT)
                }
            });
            let Ok(answers) = decisions.can_dial(tokio_stream::iter(requests)).await else {
                return;
            };
            let mut answers = answers.into_inner();
            while let Ok(Some(d)) = answers.message().await {
                if !d.attempt_id.is_empty() {
                    let i: usize = d.request_id.split('-').nth(1).unwrap().parse::<usize>().unwrap();
                    granted.lock().unwrap().push(((s + i) % CONSUMERS, d.attempt_id));
                }
            }
        }));
    }
    // Killed once 200 leases were answered: well inside the load (thousands are granted).
    until_progress(200, || granted.lock().unwrap().len()).await;
    server.kill9();
    for s in streams {
        s.await.unwrap();
    }
    let granted = granted.lock().unwrap().clone();
    assert!(!granted.is_empty(), "no lease was granted before the kill");

    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    let before: Vec<pb::DialDecision> = answers(&server, CONSUMERS).await;
    for (i, read) in before.iter().enumerate() {
        let acked = granted.iter().filter(|(c, _)| *c == i).count() as u32;
        // Every lease answered before the kill still counts (more may: durable, but their
        // answer was lost with the connection).
        assert!(read.pending >= acked, "c{i}: {} pending, {acked} granted", read.pending);
        assert_eq!(read.attempts, read.pending);
    }
    for (k, (i, attempt_id)) in granted.iter().enumerate() {
        let mut done = call(&format!("done-{k}"), &format!("c{i}"), &phone(*i), 1, AT);
        done.attempt_id = attempt_id.clone();
        let ack = decisions.record_contact(done).await.unwrap().into_inner();
        assert_eq!(&ack.settled_attempt_id, attempt_id);
    }
    // Each settled lease became one contact: nothing counted twice, nothing lost.
    let after = answers(&server, CONSUMERS).await;
    for (i, (after, before)) in after.iter().zip(&before).enumerate() {
        let acked = granted.iter().filter(|(c, _)| *c == i).count() as u32;
        assert_eq!(after.attempts, before.attempts, "c{i}");
        assert_eq!(after.pending, before.pending - acked, "c{i}");
    }
    eprintln!(
        "leases answered before the kill: {}, counted after it: {}",
        granted.len(),
        before.iter().map(|d| d.pending).sum::<u32>()
    );
}
