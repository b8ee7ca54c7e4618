//! The state presets in `rules/`: each loads with `--rules`, is accepted by `PutRuleSet`
//! and `ValidateRuleSet`, and gives its rule's own example over gRPC.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use predial::domain::RuleSetDraft;
use predial::proto::convert::rule_set_to;
use predial::proto::v1 as pb;
use predial::proto::v1::CallPurpose::{DebtCollection as COLLECTION, Telemarketing as SALES};
use predial::proto::v1::Channel::{Email as EMAIL, Phone as PHONE, Text as TEXT};

const NO_ANSWER: i32 = 1;

fn preset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules").join(name)
}

fn presets() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    all.sort();
    all
}

/// A server on `name`, with consumer c1 in `state` and `zone` on `phone`.
async fn on(name: &str, dir: &Path, state: &str, zone: &str, phone: &str) -> Server {
    let server = Server::start_with(dir, &["--rules", preset(name).to_str().unwrap()]);
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", state, zone, phone))
        .await
        .unwrap();
    server
}

fn contact(event_id: &str, channel: pb::Channel, phone: &str, at: &str) -> pb::ContactEvent {
    let mut event = call(event_id, "c1", phone, NO_ANSWER, at);
    event.channel = channel as i32;
    if channel == EMAIL {
        event.phone.clear();
        event.email = "c1@example.com".into();
    }
    event
}

fn ask(id: &str, channel: pb::Channel, phone: &str, purpose: pb::CallPurpose, at: &str) -> pb::DialRequest {
    pb::DialRequest {
        channel: channel as i32,
        call_purpose: purpose as i32,
        ..dial(id, "c1", phone, pb::Mode::Auto, at)
    }
}

/// An AUTO decision for c1 on `channel` and `phone` with `purpose`, at `at`.
/// Records an unanswered contact for c1 at each `(channel, at)`.
async fn record(server: &Server, phone: &str, tag: &str, contacts: &[(pb::Channel, &str)]) {
    let mut decisions = server.decisions().await;
    for (k, (channel, at)) in contacts.iter().enumerate() {
        decisions
            .record_contact(contact(&format!("{tag}{k}"), *channel, phone, at))
            .await
            .unwrap();
    }
}

async fn decide(
    server: &Server,
    id: &str,
    channel: pb::Channel,
    phone: &str,
    purpose: pb::CallPurpose,
    at: &str,
) -> pb::DialDecision {
    let request = ask(id, channel, phone, purpose, at);
    server.decisions().await.check(request).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_preset_loads_and_is_accepted_by_put_rule_set() {
    let files = presets();
    assert!(files.len() >= 5, "{files:?}");
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = server.rules().await;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let draft = RuleSetDraft::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for control in &draft.controls {
            assert!(
                !control.description.is_empty(),
                "{}: {} cites nothing",
                file.display(),
                control.id
            );
        }
        // Going from one state's book to another may drop a channel: said on purpose.
        let proto = pb::RuleSet {
            allow_uncontrolled_channels: true,
            change_reason: format!("switching to {}", file.display()),
            ..rule_set_to(&draft, 0)
        };
        let checked = rules.validate_rule_set(proto.clone()).await.unwrap().into_inner();
        assert!(checked.errors.is_empty(), "{}: {:?}", file.display(), checked.errors);
        rules.put_rule_set(proto).await.unwrap();
        let loaded = Server::start_with(
            &dir.path().join(file.file_name().unwrap()),
            &["--rules", file.to_str().unwrap()],
        );
        assert!(loaded.start_log.iter().any(|l| l.contains("rule_set_version")));
    }
}

/// Moves consumer `c1` to a postal code.
async fn live_at(server: &Server, phone: &str, postal_code: &str, county: &str) {
    let mut c = consumer("c1", "NY", "America/New_York", phone);
    c.postal_code = postal_code.into();
    c.county = county.into();
    c.emails = vec!["c1@example.com".into()];
    server.accounts().await.upsert_consumer(c).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn new_york_city_denies_the_fourth_contact_in_seven_days_counted_across_calls_texts_and_emails() {
    let dir = tempfile::tempdir().unwrap();
    let phone = "+12125550101";
    let server = on("new-york-city.json", dir.path(), "NY", "America/New_York", phone).await;
    live_at(&server, phone, "11201", "Kings").await; // Brooklyn
    record(
        &server,
        phone,
        "n",
        &[(PHONE, "2026-06-01T15:00:00Z"), (TEXT, "2026-06-02T15:00:00Z")],
    )
    .await;
    let third = decide(&server, "q3", EMAIL, phone, COLLECTION, "2026-06-03T15:00:00Z").await;
    assert_eq!(
        verdict(&third),
        pb::Verdict::Warn,
        "the third is the last allowed: {third:?}"
    );
    record(&server, phone, "e", &[(EMAIL, "2026-06-03T15:00:00Z")]).await;
    for channel in [PHONE, TEXT, EMAIL] {
        let fourth = decide(&server, "q4", channel, phone, COLLECTION, "2026-06-04T15:00:00Z").await;
        assert_eq!(verdict(&fourth), pb::Verdict::Deny, "{channel:?}: {fourth:?}");
        assert!(
            reason_codes(&fourth).contains(&pb::ReasonCode::MaxContacts),
            "{fourth:?}"
        );
    }
    // Seven days after the first, it no longer counts.
    let later = decide(&server, "q5", PHONE, phone, COLLECTION, "2026-06-08T15:00:00Z").await;
    assert_ne!(verdict(&later), pb::Verdict::Deny, "{later:?}");
    // The same history for a New Yorker in Albany, in Nassau County, or in a 110xx code of
    // Nassau's: the city's rule does not bind them (Regulation F's 7 in 7 does); in Long
    // Island City's 11101 it does.
    for (postal_code, county, bound) in [
        ("12207", "Albany", false),
        ("11501", "Nassau", false),
        ("11001", "Nassau", false),
        ("11101", "Queens", true),
    ] {
        live_at(&server, phone, postal_code, county).await;
        let fourth = decide(&server, "q6", PHONE, phone, COLLECTION, "2026-06-04T15:00:00Z").await;
        assert_eq!(
            reason_codes(&fourth).contains(&pb::ReasonCode::MaxContacts),
            bound,
            "{postal_code}: {fourth:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn washington_denies_a_fourth_contact_in_a_week_where_regulation_f_alone_would_allow_seven() {
    let dir = tempfile::tempdir().unwrap();
    let phone = "+12065550101";
    let server = on("washington.json", dir.path(), "WA", "America/Los_Angeles", phone).await;
    record(
        &server,
        phone,
        "w",
        &[
            (PHONE, "2026-06-01T18:00:00Z"),
            (PHONE, "2026-06-02T18:00:00Z"),
            (PHONE, "2026-06-03T18:00:00Z"),
        ],
    )
    .await;
    let fourth = decide(&server, "q", PHONE, phone, COLLECTION, "2026-06-04T18:00:00Z").await;
    assert_eq!(verdict(&fourth), pb::Verdict::Deny, "{fourth:?}");
    assert_eq!(fourth.max_contacts, 3, "{fourth:?}");
    // The same history for an Oregon consumer: only Regulation F applies.
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", "OR", "America/Los_Angeles", phone))
        .await
        .unwrap();
    let oregon = decide(&server, "q", PHONE, phone, COLLECTION, "2026-06-04T18:00:00Z").await;
    assert_eq!(verdict(&oregon), pb::Verdict::Allow, "{oregon:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn florida_binds_telemarketing_to_three_calls_a_day_and_eight_to_eight_but_not_debt_collection() {
    let dir = tempfile::tempdir().unwrap();
    let phone = "+13055550101";
    let server = on(
        "florida-telemarketing.json",
        dir.path(),
        "FL",
        "America/New_York",
        phone,
    )
    .await;
    // 8:30 pm in Miami: past the telemarketing hours, inside Regulation F's.
    let evening = "2026-06-02T00:30:00Z";
    let sales = decide(&server, "s", PHONE, phone, SALES, evening).await;
    assert!(
        reason_codes(&sales).contains(&pb::ReasonCode::OutsideCallingHours),
        "{sales:?}"
    );
    let collection = decide(&server, "d", PHONE, phone, COLLECTION, evening).await;
    assert!(
        !reason_codes(&collection).contains(&pb::ReasonCode::OutsideCallingHours),
        "{collection:?}"
    );

    record(
        &server,
        phone,
        "f",
        &[
            (PHONE, "2026-06-02T13:00:00Z"),
            (PHONE, "2026-06-02T15:00:00Z"),
            (PHONE, "2026-06-02T17:00:00Z"),
        ],
    )
    .await;
    let fourth = decide(&server, "s4", PHONE, phone, SALES, "2026-06-02T19:00:00Z").await;
    assert!(
        reason_codes(&fourth).contains(&pb::ReasonCode::MaxContacts),
        "{fourth:?}"
    );
    assert_eq!(verdict(&fourth), pb::Verdict::Deny);
    let collect = decide(&server, "d4", PHONE, phone, COLLECTION, "2026-06-02T19:00:00Z").await;
    assert!(
        !reason_codes(&collect).contains(&pb::ReasonCode::MaxContacts),
        "{collect:?}"
    );
    // A rolling 24 hours: the first call stops counting 24 hours after it was placed.
    let next_day = decide(&server, "s5", PHONE, phone, SALES, "2026-06-03T13:30:00Z").await;
    assert!(
        !reason_codes(&next_day).contains(&pb::ReasonCode::MaxContacts),
        "{next_day:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn louisiana_bars_telemarketing_on_sundays_and_legal_holidays_but_not_collection_calls() {
    let dir = tempfile::tempdir().unwrap();
    let phone = "+15045550101";
    let server = on(
        "louisiana-telemarketing.json",
        dir.path(),
        "LA",
        "America/Chicago",
        phone,
    )
    .await;
    let sunday = "2027-01-03T16:00:00Z"; // 10:00 in New Orleans
    let christmas = "2026-12-25T16:00:00Z"; // a Friday
    let monday = "2027-01-04T16:00:00Z";
    for at in [sunday, christmas] {
        let sales = decide(&server, "s", PHONE, phone, SALES, at).await;
        assert_eq!(verdict(&sales), pb::Verdict::Deny, "{at}: {sales:?}");
        assert!(
            reason_codes(&sales).contains(&pb::ReasonCode::RestrictedDay),
            "{at}: {sales:?}"
        );
        let text = decide(&server, "t", TEXT, phone, SALES, at).await;
        assert!(
            reason_codes(&text).contains(&pb::ReasonCode::RestrictedDay),
            "{at}: {text:?}"
        );
        let collection = decide(&server, "d", PHONE, phone, COLLECTION, at).await;
        assert!(
            !reason_codes(&collection).contains(&pb::ReasonCode::RestrictedDay),
            "{at}: {collection:?}"
        );
    }
    let weekday = decide(&server, "m", PHONE, phone, SALES, monday).await;
    assert!(
        !reason_codes(&weekday).contains(&pb::ReasonCode::RestrictedDay),
        "{weekday:?}"
    );
}
