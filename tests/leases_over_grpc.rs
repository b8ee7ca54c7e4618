//! Attempt leases over the real gRPC interface, rule by rule of `docs/decisions.md`, "Counting calls in flight": taking,
//! counting, the in-flight cap, settling, releasing, expiry, retries, and a request that
//! does not reserve staying a pure read.

mod common;

use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

type Decisions = pb::decisions_client::DecisionsClient<tonic::transport::Channel>;

const A: &str = "+15551234567";
const B: &str = "+15557654321";
// Sunday June 7, 2026, 14:00 in New York: inside calling hours.
const AT: &str = "2026-06-07T18:00:00Z";

/// Consumer c1 with numbers A and B, and `calls` answered calls (one a day, at 10:00 New
/// York time, on June 6, 5, 4 …; the seventh, on May 31, is outside the week of June 7).
async fn setup(server: &Server, calls: usize) {
    let mut c = consumer("c1", "NY", "America/New_York", A);
    c.phones.push(pb::Phone {
        number: B.into(),
        ..Default::default()
    });
    server.accounts().await.upsert_consumer(c).await.unwrap();
    let mut decisions = server.decisions().await;
    for i in 0..calls {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 6).unwrap() - chrono::Days::new(i as u64);
        let at = format!("{day}T14:00:00Z");
        decisions
            .record_contact(call(&format!("e{i}"), "c1", A, 1, &at))
            .await
            .unwrap();
    }
}

fn reserving(request_id: &str, phone: &str, mode: pb::Mode, at: &str) -> pb::DialRequest {
    pb::DialRequest {
        reserve: true,
        ..dial(request_id, "c1", phone, mode, at)
    }
}

fn plain(phone: &str, at: &str) -> pb::DialRequest {
    dial("read", "c1", phone, pb::Mode::Auto, at)
}

fn outcome(event_id: &str, phone: &str, code: i32, at: &str, attempt_id: &str) -> pb::ContactEvent {
    pb::ContactEvent {
        attempt_id: attempt_id.into(),
        ..call(event_id, "c1", phone, code, at)
    }
}

async fn put_rules(server: &Server, f: impl FnOnce(&mut pb::RuleSet)) {
    let mut rules = server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    f(&mut rules);
    server.rules().await.put_rule_set(rules).await.unwrap();
}

/// A unary decision.
async fn check_one(decisions: &mut Decisions, request: pb::DialRequest) -> pb::DialDecision {
    decisions.check(request).await.unwrap().into_inner()
}

/// A recorded outcome's acknowledgement.
async fn record_one(decisions: &mut Decisions, event: pb::ContactEvent) -> pb::RecordAck {
    decisions.record_contact(event).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_specs_example_six_recorded_and_a_burst_of_three_gives_one_warn_and_two_denies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    // Without reserve, the burst is three reads: all WARN, nothing changes.
    let burst = |reserve: bool| {
        [("r1", A), ("r2", B), ("r3", A)]
            .map(|(id, phone)| pb::DialRequest {
                reserve,
                ..dial(id, "c1", phone, pb::Mode::Auto, AT)
            })
            .to_vec()
    };
    let reads = can_dial_all(&mut decisions, burst(false)).await;
    assert!(
        reads
            .iter()
            .all(|d| verdict(d) == pb::Verdict::Warn && d.attempt_id.is_empty())
    );

    let answers = can_dial_all(&mut decisions, burst(true)).await;
    assert_eq!(answers.len(), 3);
    let first = &answers[0];
    assert_eq!(
        (verdict(first), first.attempts, first.pending),
        (pb::Verdict::Warn, 6, 0)
    );
    assert_eq!(first.attempt_id.len(), 32);
    let expires = first.lease_expires_at.unwrap();
    assert_eq!(expires.seconds, ts(AT).seconds + 900);
    for d in &answers[1..] {
        assert_eq!(verdict(d), pb::Verdict::Deny);
        assert!(d.attempt_id.is_empty() && d.lease_expires_at.is_none());
        assert_eq!(
            reason_codes(d),
            [pb::ReasonCode::AttemptInFlight, pb::ReasonCode::MaxContacts]
        );
        assert_eq!((d.attempts, d.pending), (7, 1));
        // Past the lease's expiry, the week is still full: June 1 leaves it on June 8.
        assert_eq!(d.next_allowed_at, Some(ts("2026-06-08T12:00:00Z")));
    }
    // In every mode where a violation is a DENY, and for a person too (in flight is
    // never overridable): a click-to-dial agent is denied, not prompted.
    let agent = check_one(&mut decisions, reserving("r4", B, pb::Mode::ClickToDial, AT)).await;
    assert_eq!(verdict(&agent), pb::Verdict::Deny);
    assert!(agent.prompt_token.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_counts_in_reads_and_reports_until_settled_and_the_outcome_takes_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 2).await;
    let mut decisions = server.decisions().await;
    let granted = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    assert_eq!((verdict(&granted), granted.attempts), (pb::Verdict::Allow, 2));
    // A read sees the lease: counted, pending, and the consumer in flight.
    let read = check_one(&mut decisions, plain(B, AT)).await;
    assert_eq!((read.attempts, read.pending), (3, 1));
    assert_eq!(reason_codes(&read), [pb::ReasonCode::AttemptInFlight]);
    assert_eq!(read.next_allowed_at, granted.lease_expires_at);
    let attempts = server
        .compliance()
        .await
        .query(pb::ComplianceQuery {
            consumer_id: "c1".into(),
            kind: pb::ComplianceKind::Attempts as i32,
            as_of: Some(ts(AT)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(attempts.count, 3);
    // GetConsumer is unchanged by it.
    let got = server
        .accounts()
        .await
        .get_consumer(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.phones.len(), 2);

    // The outcome settles it, by attempt id: counted once, the slot free at once.
    let ack = record_one(
        &mut decisions,
        outcome("done-1", A, 1, "2026-06-07T18:01:00Z", &granted.attempt_id),
    )
    .await;
    assert_eq!(ack.settled_attempt_id, granted.attempt_id);
    assert_eq!((ack.attempts, ack.duplicate), (3, false));
    let read = check_one(&mut decisions, plain(B, "2026-06-07T18:02:00Z")).await;
    assert_eq!(
        (verdict(&read), read.attempts, read.pending),
        (pb::Verdict::Allow, 3, 0)
    );
    // The same event again is a duplicate and settles nothing more.
    let again = record_one(
        &mut decisions,
        outcome("done-1", A, 1, "2026-06-07T18:01:00Z", &granted.attempt_id),
    )
    .await;
    assert!(again.duplicate && again.settled_attempt_id.is_empty());
    assert_eq!(again.attempts, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_outcome_stops_counting_and_a_conversation_starts_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 0).await;
    let mut decisions = server.decisions().await;
    let first = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    let busy = record_one(
        &mut decisions,
        outcome("busy", A, 6, "2026-06-07T18:00:30Z", &first.attempt_id),
    )
    .await;
    assert_eq!(
        (busy.settled_attempt_id.as_str(), busy.attempts),
        (first.attempt_id.as_str(), 0)
    );
    let second = check_one(
        &mut decisions,
        reserving("r2", A, pb::Mode::Auto, "2026-06-07T18:05:00Z"),
    )
    .await;
    assert_eq!((verdict(&second), second.attempts), (pb::Verdict::Allow, 0));
    // Code 4 is a right party contact in the preset.
    let talked = record_one(
        &mut decisions,
        outcome("talk", A, 4, "2026-06-07T18:06:00Z", &second.attempt_id),
    )
    .await;
    assert_eq!((talked.attempts, talked.rpcs), (1, 1));
    let held = check_one(&mut decisions, plain(B, "2026-06-07T18:10:00Z")).await;
    assert_eq!(reason_codes(&held), [pb::ReasonCode::HoldAfterRpc]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_without_an_attempt_id_settles_the_oldest_lease_of_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 0).await;
    put_rules(&server, |r| r.max_in_flight = 3).await;
    let mut decisions = server.decisions().await;
    let mut ids = Vec::new();
    for (i, (phone, at)) in [
        (A, "2026-06-07T18:00:00Z"),
        (B, "2026-06-07T18:00:10Z"),
        (A, "2026-06-07T18:00:20Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let d = check_one(&mut decisions, reserving(&format!("r{i}"), phone, pb::Mode::Auto, at)).await;
        assert_eq!(verdict(&d), pb::Verdict::Allow, "{i}");
        ids.push(d.attempt_id);
    }
    // An inbound call settles nothing: the consumer called in.
    let mut inbound = call("in", "c1", A, 1, "2026-06-07T18:01:00Z");
    inbound.inbound = true;
    assert!(record_one(&mut decisions, inbound).await.settled_attempt_id.is_empty());
    let on_a = decisions
        .record_contact(call("o1", "c1", A, 1, "2026-06-07T18:02:00Z"))
        .await
        .unwrap();
    assert_eq!(on_a.into_inner().settled_attempt_id, ids[0]);
    let on_a = decisions
        .record_contact(call("o2", "c1", A, 1, "2026-06-07T18:03:00Z"))
        .await
        .unwrap();
    assert_eq!(on_a.into_inner().settled_attempt_id, ids[2]);
    let on_a = decisions
        .record_contact(call("o3", "c1", A, 1, "2026-06-07T18:04:00Z"))
        .await
        .unwrap();
    assert!(on_a.into_inner().settled_attempt_id.is_empty());
    let read = check_one(&mut decisions, plain(A, "2026-06-07T18:05:00Z")).await;
    // Three calls recorded on A and the lease on B, still open.
    assert_eq!((read.attempts, read.pending), (4, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attempt_id_the_server_never_issued_is_invalid_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 1).await;
    let mut decisions = server.decisions().await;
    for bad in ["00000000000000000000000000000000", "not-an-id", "abc"] {
        let e = decisions
            .record_contact(outcome("x", A, 1, "2026-06-07T18:00:00Z", bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert!(e.message().starts_with("attempt_id"), "{}", e.message());
    }
    // Another consumer's lease is not this one's to settle.
    let mut other = consumer("c2", "NY", "America/New_York", "+15550001111");
    other.id = "c2".into();
    server.accounts().await.upsert_consumer(other).await.unwrap();
    let theirs = check_one(
        &mut decisions,
        pb::DialRequest {
            reserve: true,
            ..dial("t", "c2", "+15550001111", pb::Mode::Auto, AT)
        },
    )
    .await;
    let e = decisions
        .record_contact(outcome("y", A, 1, "2026-06-07T18:00:00Z", &theirs.attempt_id))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("attempt_id") && e.message().contains("another consumer"),
        "{}",
        e.message()
    );
    // Nothing was recorded: the events are new, and the count is the one call.
    let read = check_one(&mut decisions, plain(A, "2026-06-07T18:10:00Z")).await;
    assert_eq!(read.attempts, 1);
    let fresh = decisions
        .record_contact(call("x", "c1", A, 1, "2026-06-07T18:00:00Z"))
        .await
        .unwrap();
    assert!(!fresh.into_inner().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_frees_the_slot_and_stops_counting_once_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    let granted = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    assert_eq!(verdict(&granted), pb::Verdict::Warn);
    let release = |id: &str| pb::ReleaseAttemptRequest {
        attempt_id: id.into(),
        operator_id: "dialer-7".into(),
    };
    let first = decisions
        .release_attempt(release(&granted.attempt_id))
        .await
        .unwrap()
        .into_inner();
    assert!(first.released);
    let read = check_one(&mut decisions, plain(B, AT)).await;
    assert_eq!((verdict(&read), read.attempts, read.pending), (pb::Verdict::Warn, 6, 0));
    let released_notes: Vec<_> = audit_notes(&server, "c1")
        .await
        .into_iter()
        .filter(|n| n.kind == "ATTEMPT_RELEASED")
        .collect();
    assert_eq!(released_notes.len(), 1);
    assert!(released_notes[0].text.contains(&granted.attempt_id) && released_notes[0].operator_id == "dialer-7");
    // A second release changes nothing and writes no note.
    let second = decisions
        .release_attempt(release(&granted.attempt_id))
        .await
        .unwrap()
        .into_inner();
    assert!(!second.released);
    assert_eq!(
        audit_notes(&server, "c1")
            .await
            .iter()
            .filter(|n| n.kind == "ATTEMPT_RELEASED")
            .count(),
        1
    );
    // Unknown: NOT_FOUND; empty or malformed: INVALID_ARGUMENT.
    let e = decisions.release_attempt(release(&"ab".repeat(16))).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    for bad in ["", "  ", "xyz"] {
        let e = decisions.release_attempt(release(bad)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad:?}");
        assert!(e.message().starts_with("attempt_id"));
    }
    // A settled lease cannot be released.
    let next = check_one(&mut decisions, reserving("r2", A, pb::Mode::Auto, AT)).await;
    decisions
        .record_contact(outcome("done", A, 1, "2026-06-07T18:01:00Z", &next.attempt_id))
        .await
        .unwrap();
    let e = decisions.release_attempt(release(&next.attempt_id)).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_lease_frees_its_slot_but_goes_on_counting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 5).await;
    put_rules(&server, |r| r.lease_seconds = 60).await;
    let mut decisions = server.decisions().await;
    let first = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    assert_eq!(first.lease_expires_at.unwrap().seconds, ts(AT).seconds + 60);
    let during = check_one(
        &mut decisions,
        reserving("r2", B, pb::Mode::Auto, "2026-06-07T18:00:59Z"),
    )
    .await;
    assert_eq!(
        reason_codes(&during),
        [pb::ReasonCode::AttemptInFlight, pb::ReasonCode::NearMaxContacts]
    );
    // A minute on, the slot is free; the expired lease still counts: 5 + 1, so this is the
    // last one allowed, and it takes the seventh.
    let after = check_one(
        &mut decisions,
        reserving("r3", B, pb::Mode::Auto, "2026-06-07T18:01:00Z"),
    )
    .await;
    assert_eq!(
        (verdict(&after), after.attempts, after.pending),
        (pb::Verdict::Warn, 6, 1)
    );
    let full = check_one(&mut decisions, plain(A, "2026-06-07T18:30:00Z")).await;
    assert_eq!((verdict(&full), full.attempts, full.pending), (pb::Verdict::Deny, 7, 2));
    assert_eq!(reason_codes(&full), [pb::ReasonCode::MaxContacts]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_request_gets_its_lease_back_and_takes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    let first = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    // The same request on a stream, twice (a dialer that lost the answer), and unary.
    let mut retries = can_dial_all(
        &mut decisions,
        vec![
            reserving("r1", A, pb::Mode::Auto, AT),
            reserving("r1", A, pb::Mode::Auto, AT),
        ],
    )
    .await;
    retries.push(check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await);
    for again in &retries {
        assert_eq!(again, &first);
    }
    let read = check_one(&mut decisions, plain(B, AT)).await;
    assert_eq!((read.attempts, read.pending), (7, 1));
    // Once settled, the id is a new request.
    decisions
        .record_contact(outcome("done", A, 6, "2026-06-07T18:01:00Z", &first.attempt_id))
        .await
        .unwrap();
    let anew = check_one(&mut decisions, reserving("r1", A, pb::Mode::Auto, AT)).await;
    assert_ne!(anew.attempt_id, first.attempt_id);
    assert_eq!(verdict(&anew), pb::Verdict::Warn);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_does_not_reserve_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    let many: Vec<_> = (0..50)
        .map(|i| dial(&format!("p{i}"), "c1", A, pb::Mode::Auto, AT))
        .collect();
    let answers = can_dial_all(&mut decisions, many).await;
    assert!(
        answers
            .iter()
            .all(|d| verdict(d) == pb::Verdict::Warn && d.attempts == 6 && d.attempt_id.is_empty())
    );
    let batch = decisions
        .check_batch(pb::CheckBatchRequest {
            requests: vec![plain(A, AT), plain(B, AT)],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(batch.decisions.iter().all(|d| d.attempts == 6 && d.pending == 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_reserving_requests_is_decided_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 4).await;
    put_rules(&server, |r| r.max_in_flight = 16).await;
    let requests = (0..5)
        .map(|i| reserving(&format!("b{i}"), A, pb::Mode::Auto, AT))
        .collect();
    let batch = server
        .decisions()
        .await
        .check_batch(pb::CheckBatchRequest { requests })
        .await
        .unwrap()
        .into_inner();
    let seen: Vec<_> = batch
        .decisions
        .iter()
        .map(|d| (verdict(d), d.attempts, !d.attempt_id.is_empty()))
        .collect();
    assert_eq!(
        seen,
        [
            (pb::Verdict::Allow, 4, true),
            (pb::Verdict::Allow, 5, true),
            (pb::Verdict::Warn, 6, true),
            (pb::Verdict::Deny, 7, false),
            (pb::Verdict::Deny, 7, false),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_prompt_takes_the_lease_and_a_declined_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    // The seventh this week, this morning.
    decisions
        .record_contact(call("e7", "c1", A, 1, "2026-06-07T14:00:00Z"))
        .await
        .unwrap();
    let ask = |id: &str| pb::DialRequest {
        operator_id: "agent-1".into(),
        ..reserving(id, A, pb::Mode::ClickToDial, AT)
    };
    let prompted = check_one(&mut decisions, ask("p1")).await;
    assert_eq!(verdict(&prompted), pb::Verdict::Prompt);
    assert!(prompted.attempt_id.is_empty());
    let confirm = |token: &str, proceed| pb::ConfirmOverrideRequest {
        prompt_token: token.into(),
        operator_id: "agent-1".into(),
        proceed,
    };
    let ok = decisions
        .confirm_override(confirm(&prompted.prompt_token, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pb::Verdict::try_from(ok.verdict).unwrap(), pb::Verdict::Allow);
    assert_eq!(ok.attempt_id.len(), 32);
    assert_eq!(ok.lease_expires_at.unwrap().seconds, ts(AT).seconds + 900);
    let read = check_one(&mut decisions, plain(B, AT)).await;
    assert_eq!((read.attempts, read.pending), (8, 1));
    assert_eq!(
        reason_codes(&read),
        [pb::ReasonCode::AttemptInFlight, pb::ReasonCode::MaxContacts]
    );
    decisions
        .record_contact(outcome("talked", A, 1, "2026-06-07T18:02:00Z", &ok.attempt_id))
        .await
        .unwrap();
    let again = check_one(&mut decisions, ask("p2")).await;
    let declined = decisions
        .confirm_override(confirm(&again.prompt_token, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pb::Verdict::try_from(declined.verdict).unwrap(), pb::Verdict::Deny);
    assert!(declined.attempt_id.is_empty() && declined.lease_expires_at.is_none());
    // The confirmed call's outcome counts; the declined prompt took nothing.
    let read = check_one(&mut decisions, plain(B, "2026-06-07T18:03:00Z")).await;
    assert_eq!((read.attempts, read.pending), (8, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_cannot_be_confirmed_into_a_call_while_another_is_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, 6).await;
    let mut decisions = server.decisions().await;
    // The seventh this week, this morning.
    decisions
        .record_contact(call("e7", "c1", A, 1, "2026-06-07T14:00:00Z"))
        .await
        .unwrap();
    let prompted = check_one(
        &mut decisions,
        pb::DialRequest {
            operator_id: "agent-1".into(),
            ..reserving("p1", A, pb::Mode::ClickToDial, AT)
        },
    )
    .await;
    // Meanwhile another agent confirms theirs: that call is in flight.
    let other = check_one(
        &mut decisions,
        pb::DialRequest {
            operator_id: "agent-2".into(),
            ..reserving("p2", B, pb::Mode::ClickToDial, AT)
        },
    )
    .await;
    let confirm = |token: &str, operator: &str| pb::ConfirmOverrideRequest {
        prompt_token: token.into(),
        operator_id: operator.into(),
        proceed: true,
    };
    decisions
        .confirm_override(confirm(&other.prompt_token, "agent-2"))
        .await
        .unwrap();
    let e = decisions
        .confirm_override(confirm(&prompted.prompt_token, "agent-1"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("in flight"), "{}", e.message());
    // Nothing was written: the token is still unanswered, and only one lease counts.
    let read = check_one(&mut decisions, plain(A, AT)).await;
    assert_eq!(read.pending, 1);
    assert_eq!(
        audit_notes(&server, "c1")
            .await
            .iter()
            .filter(|n| n.kind == "OVERRIDE_CONFIRMED")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_of_one_member_counts_for_the_whole_group_under_apply_to_group() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    for (id, phone) in [("d", A), ("s", B)] {
        let mut c = consumer(id, "NY", "America/New_York", phone);
        c.group_id = "acct-9".into();
        accounts.upsert_consumer(c).await.unwrap();
    }
    server
        .rules()
        .await
        .put_rule_set(pb::RuleSet {
            controls: vec![pb::ContactControl {
                id: "pair".into(),
                r#type: pb::Channel::Phone as i32,
                max_total_contacts: 2,
                period: pb::Period::Week as i32,
                apply_to_group: true,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    let ask = |id: &str, who: &str, phone: &str| pb::DialRequest {
        reserve: true,
        ..dial(id, who, phone, pb::Mode::Auto, AT)
    };
    let d1 = check_one(&mut decisions, ask("1", "d", A)).await;
    let s1 = check_one(&mut decisions, ask("2", "s", B)).await;
    let d2 = check_one(&mut decisions, ask("3", "d", A)).await;
    assert_eq!((verdict(&d1), d1.attempts), (pb::Verdict::Allow, 0));
    assert_eq!((verdict(&s1), s1.attempts, s1.pending), (pb::Verdict::Warn, 1, 1));
    assert_eq!(verdict(&d2), pb::Verdict::Deny);
    assert_eq!(
        reason_codes(&d2),
        [pb::ReasonCode::AttemptInFlight, pb::ReasonCode::MaxContacts]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lease_settings_out_of_range_are_invalid_arguments_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = server.rules().await;
    let base = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    for (lease_seconds, max_in_flight, field) in [
        (10, 0, "lease_seconds"),
        (86_401, 0, "lease_seconds"),
        (0, 17, "max_in_flight"),
    ] {
        let bad = pb::RuleSet {
            lease_seconds,
            max_in_flight,
            ..base.clone()
        };
        let e = rules.put_rule_set(bad.clone()).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().starts_with(field), "{}", e.message());
        let dry = rules.validate_rule_set(bad).await.unwrap().into_inner();
        assert_eq!(dry.errors.len(), 1);
        assert!(dry.errors[0].starts_with(field));
    }
    let active = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(active.version, base.version);
    let good = pb::RuleSet {
        lease_seconds: 120,
        max_in_flight: 2,
        ..base
    };
    rules.put_rule_set(good).await.unwrap();
    let active = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((active.lease_seconds, active.max_in_flight), (120, 2));
}
