//! Calling programs, caller IDs, Do Not Call and consent, over gRPC.

mod common;

use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const PHONE: &str = "+15551234567";
const AT: &str = "2026-06-02T15:00:00Z"; // 11:00 in New York

fn program(id: &str, purpose: pb::CallPurpose) -> pb::Program {
    pb::Program {
        id: id.into(),
        business_unit: "Collections".into(),
        program_type: "Outbound".into(),
        name: format!("Program {id}"),
        call_purpose: purpose as i32,
        display_name: "ACME Servicing".into(),
        shorthand_display: "ACME".into(),
        start: Some(ts("2026-01-01T00:00:00Z")),
        end: Some(ts("2027-01-01T00:00:00Z")),
        ..Default::default()
    }
}

fn from(caller_id: &str, mode: pb::Mode) -> pb::DialRequest {
    pb::DialRequest {
        caller_id: caller_id.into(),
        ..dial("r", "c1", PHONE, mode, AT)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn programs_are_validated_created_listed_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut programs = server.programs().await;
    let long = pb::Program {
        display_name: "A".repeat(33),
        ..program("p1", pb::CallPurpose::DebtCollection)
    };
    let status = programs.create_program(long).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("display_name:"), "{}", status.message());
    let short = pb::Program {
        shorthand_display: "SIXTEEN-LETTERS!".into(),
        ..program("p1", pb::CallPurpose::DebtCollection)
    };
    assert!(
        programs
            .create_program(short)
            .await
            .unwrap_err()
            .message()
            .starts_with("shorthand_display:")
    );
    let backwards = pb::Program {
        end: Some(ts("2025-01-01T00:00:00Z")),
        ..program("p1", pb::CallPurpose::DebtCollection)
    };
    assert!(
        programs
            .create_program(backwards)
            .await
            .unwrap_err()
            .message()
            .starts_with("end:")
    );
    assert!(
        programs
            .list_programs(pb::ListProgramsRequest {})
            .await
            .unwrap()
            .into_inner()
            .programs
            .is_empty()
    );

    let created = programs
        .create_program(program("p1", pb::CallPurpose::DebtCollection))
        .await
        .unwrap()
        .into_inner();
    programs
        .create_program(program("p0", pb::CallPurpose::Survey))
        .await
        .unwrap();
    let got = programs
        .get_program(pb::GetProgramRequest { id: "p1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);
    let ids: Vec<String> = programs
        .list_programs(pb::ListProgramsRequest {})
        .await
        .unwrap()
        .into_inner()
        .programs
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, ["p0", "p1"]);
    let missing = programs
        .get_program(pb::GetProgramRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut programs = server.programs().await;
    programs
        .create_program(program("p1", pb::CallPurpose::DebtCollection))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;

    // 501 rows: rejected whole, naming the field.
    let big: String = (0..501)
        .map(|i| format!("+1555{:07},Do Not Originate\n", 2_000_000 + i))
        .collect();
    let req = pb::ImportNumbersCsvRequest {
        program_id: "p1".into(),
        csv: big.into_bytes(),
    };
    let status = programs.import_numbers_csv(req).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("csv:"), "{}", status.message());
    let d = decisions
        .check(from("+15552000000", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow, "nothing of the 501 rows was imported");

    // One bad row among good ones: reported by row, nothing applied.
    let csv = b"+15553000001,Do Not Originate\n555-3000,Survey\n(555) 300-0003,Debt Collection\n".to_vec();
    let req = pb::ImportNumbersCsvRequest {
        program_id: "p1".into(),
        csv,
    };
    let answer = programs.import_numbers_csv(req).await.unwrap().into_inner();
    assert_eq!(answer.added, 0);
    assert_eq!(answer.errors.iter().map(|e| e.row).collect::<Vec<_>>(), [2]);
    let d = decisions
        .check(from("+15553000001", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow);

    // The good file lands whole.
    let csv = b"+15553000001,Do Not Originate\n(555) 300-0003,DEBT_COLLECTION\n".to_vec();
    let answer = programs
        .import_numbers_csv(pb::ImportNumbersCsvRequest {
            program_id: "p1".into(),
            csv,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.added, answer.errors.len()), (2, 0));
    let unknown = pb::ImportNumbersCsvRequest {
        program_id: "nope".into(),
        csv: b"+15553000001,Survey\n".to_vec(),
    };
    assert_eq!(
        programs.import_numbers_csv(unknown).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_ids_are_checked_against_their_programs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut programs = server.programs().await;
    programs
        .create_program(program("live", pb::CallPurpose::DebtCollection))
        .await
        .unwrap();
    let later = pb::Program {
        start: Some(ts("2026-07-01T00:00:00Z")),
        ..program("later", pb::CallPurpose::DebtCollection)
    };
    programs.create_program(later).await.unwrap();
    let add = |program_id: &str, number: &str, purpose: pb::CallPurpose| pb::AddNumbersRequest {
        program_id: program_id.into(),
        numbers: vec![pb::ProgramNumber {
            number: number.into(),
            call_purpose: purpose as i32,
        }],
    };
    programs
        .add_numbers(add("live", "+15554000001", pb::CallPurpose::DoNotOriginate))
        .await
        .unwrap();
    programs
        .add_numbers(add("live", "+15554000002", pb::CallPurpose::DebtCollection))
        .await
        .unwrap();
    programs
        .add_numbers(add("later", "+15554000003", pb::CallPurpose::DebtCollection))
        .await
        .unwrap();
    let bad = pb::AddNumbersRequest {
        program_id: "live".into(),
        numbers: vec![
            pb::ProgramNumber {
                number: "+15554000009".into(),
                call_purpose: pb::CallPurpose::Survey as i32,
            },
            pb::ProgramNumber {
                number: "+15554000010".into(),
                call_purpose: 0,
            },
        ],
    };
    let answer = programs.add_numbers(bad).await.unwrap().into_inner();
    assert_eq!((answer.added, answer.errors[0].row), (0, 2));

    let mut decisions = server.decisions().await;
    for mode in [pb::Mode::Auto, pb::Mode::ClickToDial] {
        let d = decisions.check(from("+15554000001", mode)).await.unwrap().into_inner();
        assert_eq!(
            (verdict(&d), reason_codes(&d)),
            (pb::Verdict::Deny, vec![pb::ReasonCode::DoNotOriginate])
        );
        assert!(d.prompt_token.is_empty());
    }
    let d = decisions
        .check(from("+15554000002", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow);
    let d = decisions
        .check(from("+15554000003", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::ProgramNotActive]);
    let mut in_july = from("+15554000003", pb::Mode::Auto);
    in_july.at = Some(ts("2026-07-01T15:00:00Z"));
    assert_eq!(
        verdict(&decisions.check(in_july).await.unwrap().into_inner()),
        pb::Verdict::Allow
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn telemarketing_to_a_listed_number_needs_consent_and_it_all_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let mut programs = server.programs().await;
    programs
        .create_program(program("tm", pb::CallPurpose::Telemarketing))
        .await
        .unwrap();
    let numbers = vec![pb::ProgramNumber {
        number: "+15556000001".into(),
        call_purpose: pb::CallPurpose::Telemarketing as i32,
    }];
    programs
        .add_numbers(pb::AddNumbersRequest {
            program_id: "tm".into(),
            numbers,
        })
        .await
        .unwrap();
    let chunks = vec![
        pb::DoNotCallChunk {
            numbers: (0..1000).map(|i| format!("+1555700{:04}", i)).collect(),
            ..Default::default()
        },
        pb::DoNotCallChunk {
            numbers: vec!["(555) 123-4567".into()],
            ..Default::default()
        },
    ];
    let summary = programs
        .import_do_not_call(tokio_stream::iter(chunks))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.imported, 1001);
    let bad = vec![pb::DoNotCallChunk {
        numbers: vec!["+15558000000".into(), "12".into()],
        ..Default::default()
    }];
    let status = programs.import_do_not_call(tokio_stream::iter(bad)).await.unwrap_err();
    assert!(
        status.message().starts_with("chunks[0].numbers[1]:"),
        "{}",
        status.message()
    );

    let mut decisions = server.decisions().await;
    let d = decisions
        .check(from("+15556000001", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::DoNotCallListed]);
    // A debt-collection call from an unregistered number is no telemarketing.
    assert_eq!(
        verdict(
            &decisions
                .check(from("+15559999999", pb::Mode::Auto))
                .await
                .unwrap()
                .into_inner()
        ),
        pb::Verdict::Allow
    );

    let consent = pb::SetConsentRequest {
        consumer_id: "c1".into(),
        phone: PHONE.into(),
        telemarketing: true,
        at: None,
    };
    programs.set_consent(consent).await.unwrap();
    let allowed = decisions
        .check(from("+15556000001", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&allowed), pb::Verdict::Allow);
    server.kill9();

    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    assert_eq!(
        decisions
            .check(from("+15556000001", pb::Mode::Auto))
            .await
            .unwrap()
            .into_inner(),
        allowed
    );
    let withdraw = pb::SetConsentRequest {
        consumer_id: "c1".into(),
        phone: PHONE.into(),
        telemarketing: false,
        at: None,
    };
    server.programs().await.set_consent(withdraw).await.unwrap();
    let d = decisions
        .check(from("+15556000001", pb::Mode::Auto))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::DoNotCallListed]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_ids_purpose_selects_the_telemarketing_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c1", "FL", "America/New_York", PHONE))
        .await
        .unwrap();
    let florida = pb::ContactControl {
        id: "fl-telemarketing".into(),
        r#type: pb::Channel::Phone as i32,
        state: "FL".into(),
        max_total_contacts: 3,
        period: pb::Period::Rolling24Hours as i32,
        call_from: "08:00".into(),
        call_to: "20:00".into(),
        call_purposes: vec![pb::CallPurpose::Telemarketing as i32],
        ..Default::default()
    };
    server
        .rules()
        .await
        .put_rule_set(pb::RuleSet {
            controls: vec![florida],
            ..Default::default()
        })
        .await
        .unwrap();
    let mut programs = server.programs().await;
    programs
        .create_program(program("tm", pb::CallPurpose::Telemarketing))
        .await
        .unwrap();
    let numbers = vec![pb::ProgramNumber {
        number: "+15556000001".into(),
        call_purpose: pb::CallPurpose::Telemarketing as i32,
    }];
    programs
        .add_numbers(pb::AddNumbersRequest {
            program_id: "tm".into(),
            numbers,
        })
        .await
        .unwrap();
    let mut evening = from("+15556000001", pb::Mode::Auto);
    evening.at = Some(ts("2026-06-03T00:30:00Z")); // 20:30 in Florida
    let d = server
        .decisions()
        .await
        .check(evening.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::OutsideCallingHours]);
    evening.caller_id.clear();
    let d = server.decisions().await.check(evening).await.unwrap().into_inner();
    assert_eq!(
        verdict(&d),
        pb::Verdict::Allow,
        "no purpose: the telemarketing rule does not bind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_with_no_zone_on_record_is_held_to_every_zone_of_its_area_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // No time zone anywhere: only the number's area code (850: Central and Eastern).
    let c = consumer("c1", "FL", "", "+18505550100");
    server.accounts().await.upsert_consumer(c).await.unwrap();
    let mut decisions = server.decisions().await;
    let at = |t: &str| dial("r", "c1", "+18505550100", pb::Mode::Auto, t);
    let early = decisions.check(at("2026-06-02T12:30:00Z")).await.unwrap().into_inner(); // 08:30 ET, 07:30 CT
    assert_eq!(reason_codes(&early), [pb::ReasonCode::OutsideCallingHours]);
    assert_eq!(early.next_allowed_at, Some(ts("2026-06-02T13:00:00Z")));
    let late = decisions.check(at("2026-06-03T01:30:00Z")).await.unwrap().into_inner(); // 21:30 ET
    assert_eq!(reason_codes(&late), [pb::ReasonCode::OutsideCallingHours]);
    let midday = decisions.check(at("2026-06-02T16:00:00Z")).await.unwrap().into_inner();
    assert_eq!(verdict(&midday), pb::Verdict::Allow);
    // A toll-free number says nothing of where it rings.
    let c = consumer("c2", "FL", "", "+18005550100");
    server.accounts().await.upsert_consumer(c).await.unwrap();
    let d = decisions
        .check(dial("r", "c2", "+18005550100", pb::Mode::Auto, "2026-06-02T16:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(reason_codes(&d).contains(&pb::ReasonCode::UnknownTimeZone));
}
