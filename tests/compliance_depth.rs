//! Compliance depth against the real binary: a wrong-number outcome excludes that number
//! for that consumer only, and calls placed with the consumer's recent consent are recorded
//! but not counted by the Regulation F preset (while a conversation still starts the hold).

mod common;

use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const A: &str = "+12125550101";
const B: &str = "+12125550102";
const AT: &str = "2026-06-02T15:00:00Z"; // a Tuesday, 11:00 in New York

async fn check(server: &Server, consumer_id: &str, phone: &str) -> pb::DialDecision {
    let ask = dial("r", consumer_id, phone, pb::Mode::Manual, AT);
    server.decisions().await.check(ask).await.unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_number_outcome_excludes_that_number_for_that_consumer_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut c1 = consumer("c1", "NY", "America/New_York", A);
    c1.phones.push(pb::Phone {
        number: B.into(),
        ..Default::default()
    });
    upsert(&server, c1).await;
    upsert(&server, consumer("c2", "NY", "America/New_York", A)).await;
    let mut decisions = server.decisions().await;
    let mut wrong = call("w1", "c1", A, 115, "2026-06-01T14:00:00Z");
    wrong.operator_id = "agent-3".into();
    decisions.record_contact(wrong.clone()).await.unwrap();

    let to_a = check(&server, "c1", A).await;
    assert_eq!(verdict(&to_a), pb::Verdict::Deny, "{to_a:?}");
    assert!(reason_codes(&to_a).contains(&pb::ReasonCode::NumberExcludedByUser));
    assert_ne!(
        verdict(&check(&server, "c1", B).await),
        pb::Verdict::Deny,
        "the other number"
    );
    assert_ne!(
        verdict(&check(&server, "c2", A).await),
        pb::Verdict::Deny,
        "another consumer"
    );
    let notes = audit_notes(&server, "c1").await;
    let note = notes.iter().find(|n| n.kind == "PHONE_EXCLUDED").expect("a note");
    assert!(note.text.contains("result code 115"), "{}", note.text);
    assert_eq!(note.operator_id, "agent-3");

    // A user clears it; the same outcome sent again is a duplicate and changes nothing.
    server
        .accounts()
        .await
        .exclude_phone(pb::ExcludePhoneRequest {
            consumer_id: "c1".into(),
            phone: A.into(),
            by: pb::ExcludedBy::User as i32,
            excluded: false,
            operator_id: "supervisor".into(),
        })
        .await
        .unwrap();
    let again = decisions.record_contact(wrong).await.unwrap().into_inner();
    assert!(again.duplicate);
    assert_ne!(
        verdict(&check(&server, "c1", A).await),
        pb::Verdict::Deny,
        "still cleared"
    );
    // The same after a restart: the exclusion and its clearing were durable.
    drop(decisions);
    drop(server);
    let server = Server::start(dir.path());
    assert_ne!(verdict(&check(&server, "c1", A).await), pb::Verdict::Deny);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_number_code_that_is_also_a_right_party_contact_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut rules = rules_in_force(&server).await;
    assert_eq!(rules.wrong_number_codes, [5, 111, 115], "the preset lists them");
    rules.wrong_number_codes = vec![5, 4];
    let refused = server.rules().await.put_rule_set(rules).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("wrong_number_codes[1]"),
        "{}",
        refused.message()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_placed_with_recent_consent_are_recorded_but_not_counted_and_a_conversation_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    upsert(&server, consumer("c1", "NY", "America/New_York", A)).await;
    let mut decisions = server.decisions().await;
    // Seven consented calls and six counted ones in the week before AT.
    let days = ["05-27", "05-28", "05-29", "05-30", "05-31", "06-01"];
    for i in 0..13 {
        let at = format!("2026-{}T14:{:02}:00Z", days[i % days.len()], i);
        let mut c = call(&format!("e{i}"), "c1", A, 1, &at);
        c.consented = i < 7;
        let ack = decisions.record_contact(c).await.unwrap().into_inner();
        assert!(!ack.duplicate);
    }
    let seventh = check(&server, "c1", A).await;
    assert_eq!(verdict(&seventh), pb::Verdict::Warn, "6 of 7 counted: {seventh:?}");
    assert_eq!(seventh.attempts, 6);
    // The evidence shows all thirteen, the consented ones not counted.
    let mut stream = server
        .compliance()
        .await
        .export(pb::ExportRequest {
            consumer_id: "c1".into(),
            kinds: vec!["CONTACT".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut counted = 0;
    let mut all = 0;
    while let Some(r) = stream.message().await.unwrap() {
        all += 1;
        counted += usize::from(r.counted);
    }
    assert_eq!((all, counted), (13, 6));

    // A conversation on a consented call still starts the hold.
    let mut talk = call("rpc", "c1", A, 4, "2026-06-02T13:00:00Z");
    talk.consented = true;
    decisions.record_contact(talk).await.unwrap();
    let held = check(&server, "c1", A).await;
    // A contact-control finding: an agent dialling by hand is prompted.
    assert_eq!(verdict(&held), pb::Verdict::Prompt, "{held:?}");
    assert!(reason_codes(&held).contains(&pb::ReasonCode::HoldAfterRpc));
}

const CALLER_TM: &str = "+15556000001";
const CALLER_DC: &str = "+15556000002";

/// Two programs: a telemarketing one and a debt-collection one, each with a caller ID.
async fn two_programs(server: &Server) {
    let mut programs = server.programs().await;
    for (id, purpose, caller) in [
        ("tm", pb::CallPurpose::Telemarketing, CALLER_TM),
        ("dc", pb::CallPurpose::DebtCollection, CALLER_DC),
    ] {
        programs
            .create_program(pb::Program {
                id: id.into(),
                business_unit: "Ops".into(),
                program_type: "Outbound".into(),
                name: id.into(),
                call_purpose: purpose as i32,
                display_name: "ACME".into(),
                shorthand_display: "ACME".into(),
                start: Some(ts("2026-01-01T00:00:00Z")),
                end: Some(ts("2028-01-01T00:00:00Z")),
                ..Default::default()
            })
            .await
            .unwrap();
        programs
            .add_numbers(pb::AddNumbersRequest {
                program_id: id.into(),
                numbers: vec![pb::ProgramNumber {
                    number: caller.into(),
                    call_purpose: purpose as i32,
                }],
            })
            .await
            .unwrap();
    }
}

/// Whether a call from `caller` at `at` is refused because the consumer opted out.
async fn opted_out_for(server: &Server, caller: &str, at: &str) -> bool {
    let ask = pb::DialRequest {
        caller_id: caller.into(),
        ..dial("r", "c1", A, pb::Mode::Manual, at)
    };
    let d = server.decisions().await.check(ask).await.unwrap().into_inner();
    reason_codes(&d).contains(&pb::ReasonCode::NumberExcludedByCustomer)
}

async fn stop_answering(server: &Server, caller: &str) {
    server
        .accounts()
        .await
        .inbound_text(pb::InboundTextRequest {
            phone: A.into(),
            body: "STOP".into(),
            at: Some(ts("2026-06-01T12:00:00Z")),
            caller_id: caller.into(),
        })
        .await
        .unwrap();
}

async fn put_scope(server: &Server, scope: pb::RevocationScope, effective_at: Option<&str>) {
    let mut rules = rules_in_force(server).await;
    rules.revocation_scope = scope as i32;
    rules.effective_at = effective_at.map(ts);
    rules.change_reason = "counsel's reading of the revoke-all rule".into();
    server.rules().await.put_rule_set(rules).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_to_a_telemarketing_text_binds_every_purpose_or_its_own_as_the_rules_say() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    upsert(&server, consumer("c1", "NY", "America/New_York", A)).await;
    two_programs(&server).await;
    stop_answering(&server, CALLER_TM).await;
    // The default: every purpose.
    assert!(opted_out_for(&server, CALLER_TM, AT).await);
    assert!(opted_out_for(&server, CALLER_DC, AT).await);
    // The same purpose only: telemarketing stays denied, collection calls are allowed.
    put_scope(&server, pb::RevocationScope::SamePurpose, None).await;
    assert!(opted_out_for(&server, CALLER_TM, AT).await);
    assert!(!opted_out_for(&server, CALLER_DC, AT).await);
    assert!(
        opted_out_for(&server, "", AT).await,
        "a call of no known purpose is bound"
    );
    // A spoken opt-out, of no one text's purpose, binds every purpose under either scope.
    drop(server);
    let server = Server::start(dir.path());
    assert!(!opted_out_for(&server, CALLER_DC, AT).await, "kept across a restart");
    stop_answering(&server, "").await;
    assert!(opted_out_for(&server, CALLER_DC, AT).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scope_switches_on_the_date_a_version_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    upsert(&server, consumer("c1", "NY", "America/New_York", A)).await;
    two_programs(&server).await;
    stop_answering(&server, CALLER_TM).await;
    put_scope(&server, pb::RevocationScope::SamePurpose, Some("2027-01-31T05:00:00Z")).await;
    // Before the date every purpose is bound; from it, only the STOP's own.
    assert!(opted_out_for(&server, CALLER_DC, "2027-01-29T15:00:00Z").await);
    assert!(!opted_out_for(&server, CALLER_DC, "2027-02-02T15:00:00Z").await);
    assert!(opted_out_for(&server, CALLER_TM, "2027-02-02T15:00:00Z").await);
}

/// The rules in force with one blackout over Lee and Charlotte counties, Florida.
fn with_blackout(mut rules: pb::RuleSet, blackout: pb::Blackout) -> pb::RuleSet {
    rules.blackouts = vec![blackout];
    rules.change_reason = "the governor's order".into();
    rules
}

fn hurricane() -> pb::Blackout {
    pb::Blackout {
        id: "hurricane-2026".into(),
        from: Some(ts("2026-09-28T00:00:00Z")),
        to: Some(ts("2026-10-12T04:00:00Z")),
        states: vec!["FL".into()],
        counties: vec!["Lee".into(), "Charlotte County".into()],
        citation: "Executive Order 26-201, Governor of Florida".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_blackout_denies_contacts_in_its_counties_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let rules = with_blackout(rules_in_force(&server).await, hurricane());
    server.rules().await.put_rule_set(rules).await.unwrap();
    for (id, county, phone) in [("lee", "Lee County", A), ("collier", "Collier", B)] {
        let mut c = consumer(id, "FL", "America/New_York", phone);
        c.county = county.into();
        c.postal_code = "33901".into();
        upsert(&server, c).await;
    }
    let during = dial("r", "lee", A, pb::Mode::Manual, "2026-10-01T15:00:00Z");
    let d = server.decisions().await.check(during).await.unwrap().into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Deny, "{d:?}");
    assert!(reason_codes(&d).contains(&pb::ReasonCode::EmergencyBlackout));
    assert!(d.reasons.iter().any(|r| r.message.contains("Executive Order 26-201")));
    assert_eq!(
        d.next_allowed_at.unwrap().seconds,
        ts("2026-10-12T12:00:00Z").seconds,
        "the order ends at midnight in Florida; calls resume at 08:00"
    );
    let next_door = dial("r", "collier", B, pb::Mode::Manual, "2026-10-01T15:00:00Z");
    let d = server.decisions().await.check(next_door).await.unwrap().into_inner();
    assert!(!reason_codes(&d).contains(&pb::ReasonCode::EmergencyBlackout), "{d:?}");
    let after = dial("r", "lee", A, pb::Mode::Manual, "2026-10-13T15:00:00Z");
    let d = server.decisions().await.check(after).await.unwrap().into_inner();
    assert!(!reason_codes(&d).contains(&pb::ReasonCode::EmergencyBlackout), "{d:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blackout_or_a_place_that_makes_no_sense_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let in_force = rules_in_force(&server).await;
    let refused = |rules: pb::RuleSet| {
        let server = &server;
        async move {
            let status = server.rules().await.put_rule_set(rules).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            status.message().to_string()
        }
    };
    let backwards = pb::Blackout {
        to: Some(ts("2026-09-01T00:00:00Z")),
        ..hurricane()
    };
    let said = refused(with_blackout(in_force.clone(), backwards)).await;
    assert!(said.contains("blackouts[0].to"), "{said}");
    let nowhere = pb::Blackout {
        states: vec![],
        counties: vec![],
        ..hurricane()
    };
    let said = refused(with_blackout(in_force.clone(), nowhere)).await;
    assert!(said.contains("blackouts[0].states"), "{said}");
    let mut bad_prefix = in_force.clone();
    bad_prefix.controls[0].postal_codes = vec!["11x".into()];
    let said = refused(bad_prefix).await;
    assert!(said.contains("controls[0].postal_codes[0]"), "{said}");
    let mut bad_consumer = consumer("z", "NY", "America/New_York", A);
    bad_consumer.postal_code = "1120".into();
    let status = server.accounts().await.upsert_consumer(bad_consumer).await.unwrap_err();
    assert!(status.message().contains("postal_code"), "{}", status.message());
}
