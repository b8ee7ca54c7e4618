//! Bad input: INVALID_ARGUMENT naming the field, and nothing partly applied.

mod common;

use common::*;
use predial::proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;

const PHONE: &str = "+15551234567";
const AT: &str = "2026-06-02T15:00:00Z";

fn assert_invalid(status: tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().starts_with(&format!("{field}: ")),
        "{field} not named first in {:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_decision_requests_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;

    let no_consumer = dial("r", "", PHONE, pb::Mode::Auto, AT);
    assert_invalid(decisions.check(no_consumer).await.unwrap_err(), "consumer_id");
    let bad_phone = dial("r", "c", "123-4567", pb::Mode::Auto, AT);
    assert_invalid(decisions.check(bad_phone).await.unwrap_err(), "phone");
    let no_channel = pb::DialRequest {
        channel: 0,
        ..dial("r", "c", PHONE, pb::Mode::Auto, AT)
    };
    assert_invalid(decisions.check(no_channel).await.unwrap_err(), "channel");
    let bad_mode = pb::DialRequest {
        mode: 42,
        ..dial("r", "c", PHONE, pb::Mode::Auto, AT)
    };
    assert_invalid(decisions.check(bad_mode).await.unwrap_err(), "mode");

    let batch = pb::CheckBatchRequest {
        requests: vec![
            dial("a", "c", PHONE, pb::Mode::Auto, AT),
            dial("b", "c", "not a phone", pb::Mode::Auto, AT),
        ],
    };
    assert_invalid(decisions.check_batch(batch).await.unwrap_err(), "requests[1].phone");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_request_ends_a_can_dial_stream_after_the_good_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    let requests = vec![
        dial("ok-1", "c", PHONE, pb::Mode::Auto, AT),
        dial("bad", "c", "12", pb::Mode::Auto, AT),
        dial("never", "c", PHONE, pb::Mode::Auto, AT),
    ];
    let mut answers = decisions
        .can_dial(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answers.next().await.unwrap().unwrap().request_id, "ok-1");
    let status = answers.next().await.unwrap().unwrap_err();
    assert_invalid(status.clone(), "phone");
    assert!(status.message().contains("\"bad\""), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_with_a_bad_field_is_not_stored_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    let mut bad_zone = consumer("c1", "NY", "Mars/Olympus_Mons", PHONE);
    assert_invalid(
        accounts.upsert_consumer(bad_zone.clone()).await.unwrap_err(),
        "time_zone",
    );
    bad_zone.time_zone = "America/New_York".into();
    bad_zone.phones.push(pb::Phone {
        number: "555-0100".into(),
        ..Default::default()
    });
    assert_invalid(
        accounts.upsert_consumer(bad_zone).await.unwrap_err(),
        "phones[1].number",
    );
    let missing = accounts
        .get_consumer(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_invalid(
        accounts
            .upsert_consumer(consumer("", "NY", "America/New_York", PHONE))
            .await
            .unwrap_err(),
        "id",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_rule_set_is_rejected_whole_and_the_active_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = server.rules().await;
    let before = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    let good = pb::ContactControl {
        id: "good".into(),
        r#type: pb::Channel::Phone as i32,
        max_total_contacts: 3,
        period: pb::Period::Day as i32,
        ..Default::default()
    };
    let late = pb::ContactControl {
        id: "late".into(),
        call_from: "25:00".into(),
        call_to: "21:00".into(),
        ..good.clone()
    };
    let zero = pb::ContactControl {
        id: "zero".into(),
        max_total_contacts: 0,
        ..good.clone()
    };

    let status = rules
        .put_rule_set(pb::RuleSet {
            controls: vec![good.clone(), late.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid(status, "controls[1].call_from");
    let status = rules
        .put_rule_set(pb::RuleSet {
            controls: vec![zero.clone()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_invalid(status, "controls[0].max_total_contacts");
    let after = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after, before);

    let dry = rules
        .validate_rule_set(pb::RuleSet {
            controls: vec![late, zero],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dry.errors.len(), 2, "{:?}", dry.errors);
    assert!(dry.errors[0].starts_with("controls[0].call_from:"));
    assert!(dry.errors[1].starts_with("controls[1].max_total_contacts:"));
    let clean = rules
        .validate_rule_set(pb::RuleSet {
            controls: vec![good],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(clean.errors.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_contact_is_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    let no_event = call("", "c", PHONE, 1, AT);
    assert_invalid(decisions.record_contact(no_event).await.unwrap_err(), "event_id");
    let bad_time = pb::ContactEvent {
        occurred_at: Some(prost_types::Timestamp { seconds: 0, nanos: -1 }),
        ..call("e1", "c", PHONE, 1, AT)
    };
    assert_invalid(decisions.record_contact(bad_time).await.unwrap_err(), "occurred_at");
    let no_phone = call("e1", "c", "", 1, AT);
    assert_invalid(decisions.record_contact(no_phone).await.unwrap_err(), "phone");
    // e1 was never recorded: recording it now is not a duplicate.
    let ack = decisions
        .record_contact(call("e1", "c", PHONE, 1, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ack.duplicate, ack.attempts), (false, 1));
}
