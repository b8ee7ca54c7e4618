//! Letters, email and texts, and the report-writer queries, over gRPC.

mod common;

use common::*;
use predial::proto::v1 as pb;

const PHONE: &str = "+15551234567";

fn query(kind: pb::ComplianceKind, as_of: &str) -> pb::ComplianceQuery {
    pb::ComplianceQuery {
        consumer_id: "c1".into(),
        phone: String::new(),
        kind: kind as i32,
        as_of: Some(ts(as_of)),
        rules_as_of: None,
    }
}

fn letter_rules() -> pb::RuleSet {
    let holidays = predial::domain::calendar::us_federal_holidays(2026)
        .iter()
        .map(|d| d.to_string())
        .collect();
    pb::RuleSet {
        controls: vec![
            pb::ContactControl {
                id: "letters".into(),
                r#type: pb::Channel::Letter as i32,
                max_total_contacts: 2,
                period: pb::Period::Month as i32,
                validation_report: "Letter 1".into(),
                validation_business_days: 3,
                validation_calendar_days: 30,
                ..Default::default()
            },
            pb::ContactControl {
                id: "texts".into(),
                r#type: pb::Channel::Text as i32,
                max_total_contacts: 5,
                period: pb::Period::Week as i32,
                sms_reauth_days: 30,
                call_from: "08:00".into(),
                call_to: "21:00".into(),
                ..Default::default()
            },
            pb::ContactControl {
                id: "calls".into(),
                r#type: pb::Channel::Phone as i32,
                max_total_contacts: 7,
                period: pb::Period::Week as i32,
                rpc_codes: vec![4],
                non_attempt_codes: vec![6],
                hold_for_days: 7,
                call_from: "08:00".into(),
                call_to: "21:00".into(),
                ..Default::default()
            },
        ],
        holidays,
        ..Default::default()
    }
}

async fn setup(server: &Server, sms_authorized_at: Option<&str>) {
    server.rules().await.put_rule_set(letter_rules()).await.unwrap();
    let mut c = consumer("c1", "NY", "America/New_York", PHONE);
    c.phones[0].sms_authorized_at = sms_authorized_at.map(ts);
    server.accounts().await.upsert_consumer(c).await.unwrap();
}

fn letter(event_id: &str, template: &str, at: &str) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: event_id.into(),
        consumer_id: "c1".into(),
        channel: pb::Channel::Letter as i32,
        template: template.into(),
        occurred_at: Some(ts(at)),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_validation_date_spans_a_weekend_and_a_holiday() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, None).await;
    // Thursday July 2, 2026, 10:00 New York; Friday July 3 is the observed Independence Day.
    server
        .decisions()
        .await
        .record_contact(letter("l1", "Letter 1 - Spanish", "2026-07-02T14:00:00Z"))
        .await
        .unwrap();
    let mut compliance = server.compliance().await;
    let a = compliance
        .query(query(pb::ComplianceKind::ValidationDate, "2026-07-10T12:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    // Mon 6, Tue 7, Wed 8 are the three business days; then 30 calendar days.
    assert_eq!((a.ok, a.date.as_str()), (true, "2026-08-07"));
    let before = compliance
        .query(query(pb::ComplianceKind::ValidationDate, "2026-07-01T12:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((before.ok, before.date.as_str()), (false, ""));
}

#[tokio::test(flavor = "multi_thread")]
async fn attempts_and_rpcs_as_of_count_what_had_happened_by_then() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, None).await;
    let mut decisions = server.decisions().await;
    decisions
        .record_contact(call("a", "c1", PHONE, 1, "2026-06-01T14:00:00Z"))
        .await
        .unwrap();
    decisions
        .record_contact(call("b", "c1", PHONE, 4, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    decisions
        .record_contact(call("busy", "c1", PHONE, 6, "2026-06-02T15:00:00Z"))
        .await
        .unwrap();
    let mut compliance = server.compliance().await;
    let ask = |kind, at| query(kind, at);
    let count = |a: pb::ComplianceAnswer| a.count;
    assert_eq!(
        count(
            compliance
                .query(ask(pb::ComplianceKind::Attempts, "2026-06-01T13:00:00Z"))
                .await
                .unwrap()
                .into_inner()
        ),
        0
    );
    assert_eq!(
        count(
            compliance
                .query(ask(pb::ComplianceKind::Attempts, "2026-06-01T20:00:00Z"))
                .await
                .unwrap()
                .into_inner()
        ),
        1
    );
    assert_eq!(
        count(
            compliance
                .query(ask(pb::ComplianceKind::Attempts, "2026-06-03T12:00:00Z"))
                .await
                .unwrap()
                .into_inner()
        ),
        2
    );
    assert_eq!(
        count(
            compliance
                .query(ask(pb::ComplianceKind::Rpcs, "2026-06-01T20:00:00Z"))
                .await
                .unwrap()
                .into_inner()
        ),
        0
    );
    assert_eq!(
        count(
            compliance
                .query(ask(pb::ComplianceKind::Rpcs, "2026-06-03T12:00:00Z"))
                .await
                .unwrap()
                .into_inner()
        ),
        1
    );
    // After the conversation calls are held: CALL_OK is false until June 9, 08:00.
    let call_ok = compliance
        .query(ask(pb::ComplianceKind::CallOk, "2026-06-03T15:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((call_ok.ok, call_ok.date.as_str()), (false, "2026-06-09"));
    let tz_ok = compliance
        .query(ask(pb::ComplianceKind::TzCallOk, "2026-06-03T15:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(tz_ok.ok);
    let night = compliance
        .query(ask(pb::ComplianceKind::TzCallOk, "2026-06-03T03:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(!night.ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_authorization_one_day_past_its_limit_needs_renewing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // Authorized May 2; the limit is 30 days: good through June 1 14:59, lapsed June 2.
    setup(&server, Some("2026-05-02T15:00:00Z")).await;
    let mut compliance = server.compliance().await;
    let in_time = compliance
        .query(query(pb::ComplianceKind::SmsOk, "2026-05-31T15:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((in_time.ok, in_time.date.as_str()), (true, "2026-06-01"));
    let late = compliance
        .query(query(pb::ComplianceKind::SmsOk, "2026-06-02T15:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(!late.ok);
    let mut text = dial("t", "c1", PHONE, pb::Mode::Auto, "2026-06-02T15:00:00Z");
    text.channel = pb::Channel::Text as i32;
    let d = server.decisions().await.check(text.clone()).await.unwrap().into_inner();
    assert_eq!(
        (verdict(&d), reason_codes(&d)),
        (pb::Verdict::Deny, vec![pb::ReasonCode::SmsReauthRequired])
    );
    text.at = Some(ts("2026-05-31T15:00:00Z"));
    assert_eq!(
        verdict(&server.decisions().await.check(text).await.unwrap().into_inner()),
        pb::Verdict::Allow
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_letter_run_answers_in_order_and_marks_what_to_skip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server, None).await;
    let mut c2 = consumer("c2", "NY", "America/New_York", "+15550000002");
    c2.id = "c2".into();
    server.accounts().await.upsert_consumer(c2).await.unwrap();
    let mut decisions = server.decisions().await;
    decisions
        .record_contact(letter("l1", "Letter 1", "2026-06-01T14:00:00Z"))
        .await
        .unwrap();
    decisions
        .record_contact(letter("l2", "Letter 2", "2026-06-05T14:00:00Z"))
        .await
        .unwrap();
    let ask = |id: &str, who: &str| pb::DialRequest {
        request_id: id.into(),
        consumer_id: who.into(),
        channel: pb::Channel::Letter as i32,
        workflow: true,
        at: Some(ts("2026-06-10T14:00:00Z")),
        ..Default::default()
    };
    let batch = pb::CheckBatchRequest {
        requests: vec![ask("1", "c1"), ask("2", "c2"), ask("3", "nobody")],
    };
    let answers = decisions.check_batch(batch).await.unwrap().into_inner().decisions;
    let got: Vec<(String, pb::Verdict)> = answers.iter().map(|d| (d.request_id.clone(), verdict(d))).collect();
    assert_eq!(
        got,
        [
            ("1".into(), pb::Verdict::Deny),
            ("2".into(), pb::Verdict::Allow),
            ("3".into(), pb::Verdict::Deny)
        ]
    );
    assert_eq!(
        answers[0].next_allowed_at,
        Some(ts("2026-07-01T04:00:00Z")),
        "the next month, local midnight"
    );
    let letter_ok = server
        .compliance()
        .await
        .query(query(pb::ComplianceKind::LetterOk, "2026-06-10T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (letter_ok.ok, letter_ok.count, letter_ok.date.as_str()),
        (false, 2, "2026-07-01")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_s_standing_shows_each_control_s_counts_the_hold_and_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    upsert(&server, consumer("s1", "NY", "America/New_York", PHONE)).await;
    let mut decisions = server.decisions().await;
    for (id, code, at) in [
        ("s-1", 1, "2026-05-29T14:00:00Z"),
        ("s-2", 1, "2026-05-31T14:00:00Z"),
        ("s-3", 4, "2026-06-01T14:00:00Z"),
    ] {
        decisions.record_contact(call(id, "s1", PHONE, code, at)).await.unwrap();
    }
    let mut compliance = server.compliance().await;
    let standing = compliance
        .get_standing(pb::GetStandingRequest {
            consumer_id: "s1".into(),
            at: Some(ts("2026-06-02T15:00:00Z")),
        })
        .await
        .unwrap()
        .into_inner();
    let calls = standing
        .controls
        .iter()
        .find(|c| c.control_id == "regf-calls")
        .expect("the preset's call control binds a New Yorker");
    assert_eq!((calls.attempts, calls.rpcs, calls.max_total_contacts), (3, 1, 7));
    assert_eq!(
        calls.held_until, "2026-06-08",
        "a conversation on June 1 holds calls 7 days"
    );
    assert_eq!(
        standing.next_call_allowed_at.unwrap().seconds,
        ts("2026-06-08T12:00:00Z").seconds,
        "08:00 in New York when the hold ends"
    );
    let missing = compliance
        .get_standing(pb::GetStandingRequest {
            consumer_id: "nobody".into(),
            at: None,
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
}
