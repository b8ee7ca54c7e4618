//! The hot path over the real gRPC interface of the real binary.

mod common;

use common::*;
use predial::proto::v1 as pb;
use tokio_stream::StreamExt;

const PHONE: &str = "+15551234567";
// Sunday June 7, 2026, 14:00 in New York.
const SUNDAY_2PM: &str = "2026-06-07T18:00:00Z";

async fn with_calls(server: &Server, id: &str, n: usize) {
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer(id, "NY", "America/New_York", "(555) 123-4567"))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    for i in 0..n {
        let at = format!("2026-06-{:02}T14:00:00Z", 7 - i);
        decisions
            .record_contact(call(&format!("{id}-e{i}"), id, PHONE, 1, &at))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eighth_call_in_seven_days_is_denied_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    with_calls(&server, "c1", 6).await;
    let mut decisions = server.decisions().await;

    let d = decisions
        .check(dial("r1", "c1", PHONE, pb::Mode::Auto, SUNDAY_2PM))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Warn);
    assert_eq!(reason_codes(&d), [pb::ReasonCode::NearMaxContacts]);
    assert_eq!(
        (d.request_id.as_str(), d.attempts, d.max_contacts, d.rule_set_version),
        ("r1", 6, 7, 1)
    );

    // The seventh call, just made: the ack counts it with the six before.
    let ack = decisions
        .record_contact(call("c1-e6", "c1", PHONE, 1, "2026-06-07T17:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ack.duplicate, ack.attempts), (false, 7));

    let d = decisions
        .check(dial("r2", "c1", PHONE, pb::Mode::Auto, SUNDAY_2PM))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Deny);
    assert_eq!(reason_codes(&d), [pb::ReasonCode::MaxContacts]);
    assert_eq!(d.reasons[0].control_id, "regf-calls");
    // June 2 leaves the window on June 9; calls open at 08:00 New York.
    assert_eq!(d.next_allowed_at, Some(ts("2026-06-09T12:00:00Z")));

    let d = decisions
        .check(dial("r3", "c1", PHONE, pb::Mode::ClickToDial, SUNDAY_2PM))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Prompt);
    assert_eq!(
        d.prompt_text,
        "7 calls in the last 7 days; the limit is 7 — call anyway?"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_event_id_is_acknowledged_as_a_duplicate_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    with_calls(&server, "c1", 0).await;
    let mut decisions = server.decisions().await;
    let event = call("same", "c1", PHONE, 1, "2026-06-05T14:00:00Z");
    let first = decisions.record_contact(event.clone()).await.unwrap().into_inner();
    let again = decisions.record_contact(event).await.unwrap().into_inner();
    assert_eq!((first.duplicate, first.attempts), (false, 1));
    assert_eq!(
        (again.duplicate, again.attempts, again.event_id.as_str()),
        (true, 1, "same")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn can_dial_answers_every_request_in_order_on_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    with_calls(&server, "c1", 7).await;
    with_calls(&server, "c2", 0).await;
    let mut decisions = server.decisions().await;
    let requests: Vec<pb::DialRequest> = (0..200)
        .map(|i| {
            let who = if i % 2 == 0 { "c1" } else { "c2" };
            dial(&format!("q{i}"), who, PHONE, pb::Mode::Auto, SUNDAY_2PM)
        })
        .collect();
    let answers = can_dial_all(&mut decisions, requests).await;
    assert_eq!(answers.len(), 200);
    for (i, d) in answers.iter().enumerate() {
        assert_eq!(d.request_id, format!("q{i}"));
        let expected = if i % 2 == 0 {
            pb::Verdict::Deny
        } else {
            pb::Verdict::Allow
        };
        assert_eq!(verdict(d), expected, "q{i}");
    }
}

/// CanDial takes requests that arrived together in small batches, and CheckBatch its
/// requests, asking memory for what they will read before deciding them one by one. The
/// answers must be exactly those of one Check at a time: many consumers in every state
/// of their week, unknown ids, and ids padded with spaces, all in one burst.
#[tokio::test(flavor = "multi_thread")]
async fn requests_taken_together_get_the_answers_they_get_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    for i in 0..24 {
        with_calls(&server, &format!("m{i}"), i % 8).await;
    }
    let requests: Vec<pb::DialRequest> = (0..150)
        .map(|k| {
            let who = match k % 10 {
                7 => format!("nobody{k}"),
                8 => format!("  m{}  ", k % 24),
                _ => format!("m{}", (k * 7) % 24),
            };
            dial(&format!("q{k}"), &who, PHONE, pb::Mode::Auto, SUNDAY_2PM)
        })
        .collect();
    let mut decisions = server.decisions().await;
    let mut one_at_a_time = Vec::new();
    for r in &requests {
        one_at_a_time.push(decisions.check(r.clone()).await.unwrap().into_inner());
    }
    let verdicts: std::collections::HashSet<_> = one_at_a_time.iter().map(verdict).collect();
    assert!(
        verdicts.contains(&pb::Verdict::Allow)
            && verdicts.contains(&pb::Verdict::Warn)
            && verdicts.contains(&pb::Verdict::Deny),
        "the burst should meet every verdict: {verdicts:?}"
    );
    assert_eq!(can_dial_all(&mut decisions, requests.clone()).await, one_at_a_time);
    let batched = decisions
        .check_batch(pb::CheckBatchRequest { requests })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(batched, one_at_a_time);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_consumer_is_denied_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    let d = decisions
        .check(dial("r", "nobody", PHONE, pb::Mode::Auto, SUNDAY_2PM))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Deny);
    assert_eq!(reason_codes(&d), [pb::ReasonCode::UnknownConsumer]);
    assert_eq!(d.next_allowed_at, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_roaming_pacific_number_on_an_eastern_account_waits_for_eleven_eastern() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut c = consumer("roamer", "NY", "America/New_York", PHONE);
    c.phones[0].time_zone = "America/Los_Angeles".into();
    server.accounts().await.upsert_consumer(c).await.unwrap();
    let mut decisions = server.decisions().await;
    // 10:00 Eastern.
    let d = decisions
        .check(dial("r", "roamer", PHONE, pb::Mode::Auto, "2026-06-02T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::OutsideCallingHours]);
    assert_eq!(d.next_allowed_at, Some(ts("2026-06-02T15:00:00Z")));
}

#[tokio::test(flavor = "multi_thread")]
async fn group_members_count_together_under_a_group_control() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = server.rules().await;
    let control = pb::ContactControl {
        id: "group-week".into(),
        r#type: pb::Channel::Phone as i32,
        max_total_contacts: 2,
        period: pb::Period::Week as i32,
        apply_to_group: true,
        ..Default::default()
    };
    rules
        .put_rule_set(pb::RuleSet {
            controls: vec![control],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut accounts = server.accounts().await;
    for (id, role, phone) in [
        ("debtor", pb::Role::Debtor, PHONE),
        ("cosigner", pb::Role::Cosigner, "+15557654321"),
    ] {
        let mut c = consumer(id, "NY", "America/New_York", phone);
        c.role = role as i32;
        c.group_id = "acct-9".into();
        accounts.upsert_consumer(c).await.unwrap();
    }
    let mut decisions = server.decisions().await;
    decisions
        .record_contact(call("g1", "debtor", PHONE, 1, "2026-06-01T14:00:00Z"))
        .await
        .unwrap();
    decisions
        .record_contact(call("g2", "cosigner", "+15557654321", 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    let d = decisions
        .check(dial("r", "debtor", PHONE, pb::Mode::Auto, "2026-06-03T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((verdict(&d), d.attempts, d.rule_set_version), (pb::Verdict::Deny, 2, 2));

    // Moving the cosigner out of the group leaves the debtor with one call.
    let mut moved = consumer("cosigner", "NY", "America/New_York", "+15557654321");
    moved.group_id = "acct-10".into();
    accounts.upsert_consumer(moved).await.unwrap();
    let d = decisions
        .check(dial("r", "debtor", PHONE, pb::Mode::Auto, "2026-06-03T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((verdict(&d), d.attempts), (pb::Verdict::Warn, 1));
}

/// Memory keeps group histories only while a rule counts groups: contacts recorded before
/// such a rule arrives must count together the moment it does, and after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_control_installed_after_the_contacts_counts_them_together_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    for (id, phone) in [("debtor", PHONE), ("cosigner", "+15557654321")] {
        let mut c = consumer(id, "NY", "America/New_York", phone);
        c.group_id = "acct-9".into();
        accounts.upsert_consumer(c).await.unwrap();
    }
    let mut decisions = server.decisions().await;
    for (event, id, phone, day) in [("g1", "debtor", PHONE, "01"), ("g2", "cosigner", "+15557654321", "02")] {
        decisions
            .record_contact(call(event, id, phone, 1, &format!("2026-06-{day}T14:00:00Z")))
            .await
            .unwrap();
    }
    let check = dial("r", "debtor", PHONE, pb::Mode::Auto, "2026-06-03T14:00:00Z");
    let d = decisions.check(check.clone()).await.unwrap().into_inner();
    assert_eq!(
        (verdict(&d), d.attempts),
        (pb::Verdict::Allow, 1),
        "the preset counts each alone"
    );

    let group_rules = pb::RuleSet {
        controls: vec![pb::ContactControl {
            id: "group-week".into(),
            r#type: pb::Channel::Phone as i32,
            max_total_contacts: 2,
            period: pb::Period::Week as i32,
            apply_to_group: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    server.rules().await.put_rule_set(group_rules).await.unwrap();
    let d = decisions.check(check.clone()).await.unwrap().into_inner();
    assert_eq!((verdict(&d), d.attempts), (pb::Verdict::Deny, 2));

    server.kill9();
    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    let d = decisions.check(check.clone()).await.unwrap().into_inner();
    assert_eq!((verdict(&d), d.attempts), (pb::Verdict::Deny, 2), "after a restart too");

    // Back to rules without group counting: each alone again.
    let own_rules = pb::RuleSet {
        controls: vec![pb::ContactControl {
            id: "own-week".into(),
            r#type: pb::Channel::Phone as i32,
            max_total_contacts: 2,
            period: pb::Period::Week as i32,
            ..Default::default()
        }],
        ..Default::default()
    };
    server.rules().await.put_rule_set(own_rules).await.unwrap();
    let d = decisions.check(check).await.unwrap().into_inner();
    assert_eq!((verdict(&d), d.attempts), (pb::Verdict::Warn, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_and_ping_stream_echo_their_payload() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    let pong = decisions
        .ping(pb::PingRequest {
            payload: b"abc".to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pong.payload, b"abc");
    let pings = (0..10u8).map(|i| pb::PingRequest { payload: vec![i] });
    let pongs: Vec<Vec<u8>> = decisions
        .ping_stream(tokio_stream::iter(pings))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().payload)
        .collect()
        .await;
    assert_eq!(pongs, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn consumers_read_back_as_normalised() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    let stored = accounts
        .upsert_consumer(consumer(" c9 ", "ma", "America/New_York", "555-123-4567"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            stored.id.as_str(),
            stored.state.as_str(),
            stored.phones[0].number.as_str()
        ),
        ("c9", "MA", PHONE)
    );
    let got = accounts
        .get_consumer(pb::GetConsumerRequest { id: "c9".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, stored);
    let missing = accounts
        .get_consumer(pb::GetConsumerRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let status = server
        .compliance()
        .await
        .query(pb::ComplianceQuery::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().starts_with("consumer_id:"), "{}", status.message());
}
