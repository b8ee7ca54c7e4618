//! Exact under concurrency: many CanDial streams and unary Checks reserve the same
//! consumers and groups at once; every consumer and group ends with exactly its limit of
//! leases — never more (over-admission), never fewer (under-admission) — and never more
//! than `max_in_flight` open. The negative control runs the same load against a server
//! whose reservations are not serialized, and shows the check catches what follows.

mod common;

use common::hammer::*;
use common::*;
use predial::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_streams_and_unary_calls_reserving_at_once_end_with_exactly_each_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    populate(&server, 16).await;
    let granted = hammer(&[&server], "a").await;
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
    let first = hammer(&[&server], "a").await;
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
    let second = hammer(&[&server], "b").await;
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
        let granted = hammer(&[&server], &format!("n{round}")).await;
        if let Err(why) = exactly_at_the_limits(&granted) {
            caught = Some(why);
            break;
        }
    }
    let why = caught.expect("without serialization, some consumer or group should have been over-admitted");
    eprintln!("negative control caught: {why}");
}
