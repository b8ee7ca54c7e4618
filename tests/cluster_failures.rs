//! A cluster losing a node, losing its database, and gaining a node late (`docs/operations.md`),
//! over gRPC against the real binary on a throwaway PostgreSQL.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::postgres::Postgres;
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York
const CONSUMERS: usize = 40;

fn phone(i: usize) -> String {
    format!("+1555{:07}", 2_000_000 + i)
}

/// Each consumer's second number: the kill test records its calls there, so that they
/// settle none of the leases taken on the first.
fn second_phone(i: usize) -> String {
    format!("+1555{:07}", 3_000_000 + i)
}

async fn node(pg: &Postgres, dir: &std::path::Path) -> Server {
    let server = Server::start_with(dir, &["--store", &pg.url()]);
    wait_health(&server, true).await;
    server
}

/// Consumers c0… and a rule set that counts every call, with room for 16 calls in flight.
async fn populate(server: &Server) {
    let mut accounts = server.accounts().await;
    for i in 0..CONSUMERS {
        let mut c = consumer(&format!("c{i}"), "NY", "America/New_York", &phone(i));
        c.phones.push(pb::Phone {
            number: second_phone(i),
            ..Default::default()
        });
        accounts.upsert_consumer(c).await.unwrap();
    }
    server
        .rules()
        .await
        .put_rule_set(pb::RuleSet {
            controls: vec![pb::ContactControl {
                id: "count-all".into(),
                r#type: pb::Channel::Phone as i32,
                max_total_contacts: 100_000,
                period: pb::Period::Week as i32,
                ..Default::default()
            }],
            max_in_flight: 16,
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Every consumer's decision on `server`, once it has caught up with `expect_attempts`
/// contacts and leases in all (within 2 s).
async fn answers(server: &Server, expect_attempts: u32) -> Vec<pb::DialDecision> {
    let mut decisions = server.decisions().await;
    for _ in 0..200 {
        let mut all = Vec::new();
        for i in 0..CONSUMERS {
            let d = decisions
                .check(dial("q", &format!("c{i}"), &phone(i), pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            all.push(d);
        }
        if all.iter().map(|d| d.attempts).sum::<u32>() == expect_attempts {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} did not catch up with {expect_attempts} attempts", server.addr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_killed_under_load_loses_nothing_it_acknowledged_and_comes_back_in_step() {
    let pg = Postgres::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&pg, a_dir.path()).await;
    let b = node(&pg, b_dir.path()).await;
    populate(&b).await;
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let granted: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let mut sent = Vec::new();
    let mut load = Vec::new();
    for w in 0..4 {
        let mut decisions = a.decisions().await;
        let acked = acked.clone();
        let events: Vec<pb::ContactEvent> = (0..300)
            .map(|k| {
                let i = (w * 7 + k) % CONSUMERS;
                call(
                    &format!("w{w}-{k}"),
                    &format!("c{i}"),
                    &second_phone(i),
                    1,
                    "2026-06-02T14:00:00Z",
                )
            })
            .collect();
        sent.extend(events.clone());
        load.push(tokio::spawn(async move {
            for e in events {
                match decisions.record_contact(e.clone()).await {
                    Ok(_) => {
                        acked.lock().unwrap().insert(e.event_id);
                    }
                    Err(_) => break,
                }
            }
        }));
    }
    for s in 0..2 {
        let mut decisions = a.decisions().await;
        let granted = granted.clone();
        load.push(tokio::spawn(async move {
            let requests = (0..5_000).map(move |k| pb::DialRequest {
                reserve: true,
                ..dial(
                    &format!("s{s}-{k}"),
                    &format!("c{}", k % CONSUMERS),
                    &phone(k % CONSUMERS),
                    pb::Mode::Auto,
                    AT,
                )
            });
            let Ok(answers) = decisions.can_dial(tokio_stream::iter(requests)).await else {
                return;
            };
            let mut answers = answers.into_inner();
            while let Ok(Some(d)) = answers.message().await {
                if !d.attempt_id.is_empty() {
                    let k: usize = d.request_id.split('-').nth(1).unwrap().parse().unwrap();
                    granted.lock().unwrap().push((k % CONSUMERS, d.attempt_id));
                }
            }
        }));
    }
    // Killed once both loads are well under way.
    until_progress(200, || acked.lock().unwrap().len().min(granted.lock().unwrap().len())).await;
    a.kill9();
    for l in load {
        l.await.unwrap();
    }
    let (acked, granted) = (acked.lock().unwrap().clone(), granted.lock().unwrap().clone());
    assert!(
        !acked.is_empty() && !granted.is_empty(),
        "the load did nothing before the kill"
    );

    // On B: every acknowledged event is there (sending it again is a duplicate). Sixteen
    // resenders at once, so their writes share commits.
    let mut resenders = Vec::new();
    for chunk in sent.chunks(sent.len().div_ceil(16)) {
        let (mut on_b, chunk, acked) = (b.decisions().await, chunk.to_vec(), acked.clone());
        resenders.push(tokio::spawn(async move {
            let mut durable = 0u32;
            for e in chunk {
                let ack = on_b.record_contact(e.clone()).await.unwrap().into_inner();
                if acked.contains(&e.event_id) {
                    assert!(ack.duplicate, "acknowledged event {} was lost", e.event_id);
                }
                assert!(
                    ack.settled_attempt_id.is_empty(),
                    "a call on the second number settled a lease"
                );
                durable += ack.duplicate as u32;
            }
            durable
        }));
    }
    let mut durable = 0u32;
    for r in resenders {
        durable += r.await.unwrap();
    }
    let mut on_b = b.decisions().await;
    // Every lease A granted still counts on B, and settles there by its id. (B's memory
    // holds everything committed before its own last write: each of its commits catches up
    // with the feed first.)
    let before = {
        let mut all = Vec::new();
        for i in 0..CONSUMERS {
            all.push(
                on_b.check(dial("q", &format!("c{i}"), &phone(i), pb::Mode::Auto, AT))
                    .await
                    .unwrap()
                    .into_inner(),
            );
        }
        all
    };
    for (i, d) in before.iter().enumerate() {
        let acked_here = granted.iter().filter(|(c, _)| *c == i).count() as u32;
        assert!(
            d.pending >= acked_here,
            "c{i}: {} pending, {acked_here} granted by A",
            d.pending
        );
    }
    for (k, (i, attempt_id)) in granted.iter().enumerate() {
        let done = pb::ContactEvent {
            attempt_id: attempt_id.clone(),
            ..call(&format!("done-{k}"), &format!("c{i}"), &phone(*i), 6, AT)
        };
        let ack = on_b.record_contact(done).await.unwrap().into_inner();
        assert_eq!(&ack.settled_attempt_id, attempt_id);
    }
    // A, restarted on the same database, answers as B does.
    let a = node(&pg, a_dir.path()).await;
    let on_b_now = {
        let mut all = Vec::new();
        for i in 0..CONSUMERS {
            all.push(
                on_b.check(dial("q", &format!("c{i}"), &phone(i), pb::Mode::Auto, AT))
                    .await
                    .unwrap()
                    .into_inner(),
            );
        }
        all
    };
    let expected: u32 = on_b_now.iter().map(|d| d.attempts).sum();
    assert_eq!(answers(&a, expected).await, on_b_now);
    eprintln!(
        "events sent {}, acknowledged {}, durable {durable}; leases granted by A before the kill {}",
        sent.len(),
        acked.len(),
        granted.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_database_a_node_refuses_writes_and_leases_reads_from_memory_and_recovers_by_itself() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&pg, dir.path()).await;
    populate(&a).await;
    let mut decisions = a.decisions().await;
    decisions
        .record_contact(call("before", "c0", &phone(0), 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    // A writer keeps writing through the outage; what it was told is durable must be.
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (mut decisions, acked, done) = (a.decisions().await, acked.clone(), done.clone());
        tokio::spawn(async move {
            let mut refused = 0u32;
            let mut k = 0u32;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                k += 1;
                let e = call(&format!("during-{k}"), "c1", &phone(1), 1, "2026-06-02T14:00:00Z");
                match decisions.record_contact(e.clone()).await {
                    Ok(_) => {
                        acked.lock().unwrap().insert(e.event_id);
                    }
                    Err(s) => {
                        assert_eq!(s.code(), Code::Unavailable, "{s:?}");
                        refused += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            refused
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    pg.stop();
    wait_health(&a, false).await;
    let write = decisions
        .record_contact(call("while-down", "c0", &phone(0), 1, "2026-06-02T14:30:00Z"))
        .await
        .unwrap_err();
    assert_eq!(write.code(), Code::Unavailable, "{write:?}");
    let reserve = decisions
        .check(pb::DialRequest {
            reserve: true,
            ..dial("r", "c2", &phone(2), pb::Mode::Auto, AT)
        })
        .await
        .unwrap_err();
    assert_eq!(reserve.code(), Code::Unavailable, "{reserve:?}");
    // Reads go on from memory.
    let read = decisions
        .check(dial("q", "c0", &phone(0), pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((verdict(&read), read.attempts), (pb::Verdict::Allow, 1));

    pg.restart();
    wait_health(&a, true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let refused = writer.await.unwrap();
    assert!(refused > 0, "the writer never saw the outage");
    let granted = decisions
        .check(pb::DialRequest {
            reserve: true,
            ..dial("r2", "c2", &phone(2), pb::Mode::Auto, AT)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(granted.attempt_id.len(), 32);
    let acked = acked.lock().unwrap().clone();
    for event_id in &acked {
        let again = call(event_id, "c1", &phone(1), 1, "2026-06-02T14:00:00Z");
        assert!(
            decisions.record_contact(again).await.unwrap().into_inner().duplicate,
            "{event_id} was acknowledged and lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_started_late_answers_exactly_as_the_others() {
    let pg = Postgres::start();
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = node(&pg, dirs[0].path()).await;
    let second = node(&pg, dirs[1].path()).await;
    populate(&first).await;
    let mut on_first = first.decisions().await;
    let mut on_second = second.decisions().await;
    for k in 0..120 {
        let i = k % CONSUMERS;
        let at = format!("2026-06-0{}T1{}:00:00Z", 1 + k % 2, k % 10);
        on_second
            .record_contact(call(
                &format!("e{k}"),
                &format!("c{i}"),
                &phone(i),
                1 + (k % 5) as i32,
                &at,
            ))
            .await
            .unwrap();
    }
    for i in 0..10 {
        on_first
            .check(pb::DialRequest {
                reserve: true,
                ..dial(&format!("r{i}"), &format!("c{i}"), &phone(i), pb::Mode::Auto, AT)
            })
            .await
            .unwrap();
    }
    let stop = pb::InboundTextRequest {
        phone: phone(3),
        body: "leave me alone".into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    };
    second.accounts().await.inbound_text(stop).await.unwrap();
    first
        .accounts()
        .await
        .set_exclusions(pb::SetExclusionsRequest {
            consumer_id: "c4".into(),
            bankruptcy: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let expected = answers(&first, 130).await;
    assert_eq!(answers(&second, 130).await, expected);
    let late = node(&pg, dirs[3].path()).await;
    assert_eq!(answers(&late, 130).await, expected);
}

/// The feed keeps a day of changes. A node that was away longer (here: stopped while the
/// changes it missed were pruned) cannot follow across the gap, and must not answer from
/// memory that lacks them: it turns NOT_SERVING and says to restart it, and a restart
/// rebuilds it from the database.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_memory_is_older_than_the_feed_keeps_stops_serving_and_a_restart_mends_it() {
    let pg = Postgres::start();
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let away = node(&pg, dirs[0].path()).await;
    let other = node(&pg, dirs[1].path()).await;
    populate(&other).await;
    wait_health(&away, true).await;
    let pid = away.child.id().to_string();
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    signal("-STOP");
    let mut decisions = other.decisions().await;
    for k in 0..3 {
        decisions
            .record_contact(call(&format!("gap{k}"), "c1", &phone(1), 1, AT))
            .await
            .unwrap();
    }
    pg.psql("DELETE FROM predial_changes WHERE seq < (SELECT max(seq) FROM predial_changes)");
    signal("-CONT");
    wait_health(&away, false).await;
    let said = (0..600)
        .filter_map(|_| away.log.recv_timeout(Duration::from_millis(100)).ok())
        .find(|line| line.contains("restart this node"));
    assert!(said.is_some(), "the node did not say why it stopped serving");

    drop(away);
    let restarted = node(&pg, dirs[0].path()).await;
    assert_eq!(answers(&restarted, 3).await, answers(&other, 3).await);
}
