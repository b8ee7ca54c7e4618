//! The decision function and the Reassigned Numbers Database's answers: a number
//! disconnected since consent is DENY in every mode; a control's required check is a
//! contact-control finding (DENY for a machine, PROMPT for a person) that no time lifts.

use chrono::NaiveDate;

use super::decision_tests::{Case, codes, one, regf, request};
use super::kinds::{Channel, Mode, ReasonCode, Verdict};
use super::reassigned::{Answer, AnswerKind};
use super::rules::ControlDraft;

/// The case's number given on 2025-03-01 (New York).
fn consented() -> Case {
    let mut case = Case::new(vec![]);
    let mut phones = case.profile.phones.to_vec();
    phones[0].consent_day = NaiveDate::from_ymd_opt(2025, 3, 1);
    case.profile.phones = phones.into();
    case
}

fn answer(as_of: &str, kind: AnswerKind, checked: &str) -> Answer {
    Answer {
        as_of: as_of.parse().unwrap(),
        kind,
        checked_at: checked.parse().unwrap(),
    }
}

fn requiring(max_age_days: u32) -> super::rules::RuleSet {
    one(ControlDraft {
        max_total_contacts: 7,
        require_reassigned_check: true,
        reassigned_check_max_age_days: max_age_days,
        ..Default::default()
    })
}

#[test]
fn a_number_reassigned_after_consent_is_deny_in_every_mode_with_the_answer_and_its_date() {
    let mut case = consented();
    case.reassigned = vec![answer("2025-03-01", AnswerKind::Yes, "2026-06-01T15:00:00Z")];
    for mode in [Mode::Auto, Mode::ClickToDial] {
        let req = super::decision::Request {
            mode,
            ..request("2026-06-02T15:00:00Z")
        };
        let d = case.decide(&regf(), &req);
        assert_eq!(d.verdict, Verdict::Deny, "{mode:?}");
        assert_eq!(codes(&d), vec![ReasonCode::ReassignedNumber]);
        assert_eq!(
            d.reasons[0].message,
            "The Reassigned Numbers Database answered YES on 2026-06-01: the number was permanently disconnected after 2025-03-01, on or after the consent given on 2025-03-01."
        );
        assert_eq!(d.next_allowed_at, None, "no time helps");
    }
}

#[test]
fn a_number_reassigned_before_consent_is_allowed() {
    let mut case = consented();
    // Asked as of a day before consent: the disconnection may have come before the consumer
    // gave the number, and says nothing about it.
    case.reassigned = vec![answer("2024-01-01", AnswerKind::Yes, "2026-06-01T15:00:00Z")];
    let d = case.decide(&regf(), &request("2026-06-02T15:00:00Z"));
    assert_eq!(d.verdict, Verdict::Allow, "{:?}", d.reasons);
}

#[test]
fn emails_and_letters_never_read_the_answers() {
    let mut case = consented();
    case.reassigned = vec![answer("2025-03-01", AnswerKind::Yes, "2026-06-01T15:00:00Z")];
    let req = super::decision::Request {
        channel: Channel::Email,
        ..request("2026-06-02T15:00:00Z")
    };
    assert_eq!(case.decide(&regf(), &req).verdict, Verdict::Allow);
}

#[test]
fn a_missing_check_is_deny_in_auto_and_prompt_for_a_person_and_no_time_lifts_it() {
    let case = consented();
    let d = case.decide(&requiring(0), &request("2026-06-02T15:00:00Z"));
    assert_eq!(
        (d.verdict, codes(&d)),
        (Verdict::Deny, vec![ReasonCode::ReassignedCheckMissing])
    );
    assert_eq!(d.reasons[0].control_id.as_deref(), Some("c"));
    assert_eq!(d.next_allowed_at, None);
    let by_hand = super::decision::Request {
        mode: Mode::ClickToDial,
        ..request("2026-06-02T15:00:00Z")
    };
    let d = case.decide(&requiring(0), &by_hand);
    assert_eq!(d.verdict, Verdict::Prompt);
    assert!(
        d.prompt_text.as_deref().unwrap().contains("no answer"),
        "{:?}",
        d.prompt_text
    );
}

#[test]
fn a_fresh_no_since_consent_meets_the_check_until_it_is_older_than_the_maximum_age() {
    let mut case = consented();
    case.reassigned = vec![answer("2025-03-01", AnswerKind::No, "2026-05-20T12:00:00Z")];
    let fresh = case.decide(&requiring(0), &request("2026-06-02T15:00:00Z"));
    assert_eq!(fresh.verdict, Verdict::Allow, "{:?}", fresh.reasons);
    // 31 days by default: June 20 is 31 days and 3 hours after the check.
    let stale = case.decide(&requiring(0), &request("2026-06-20T15:00:00Z"));
    assert_eq!(codes(&stale), vec![ReasonCode::ReassignedCheckMissing]);
    assert!(stale.reasons[0].message.contains("more than 31 days ago"));
    let longer = case.decide(&requiring(60), &request("2026-06-20T15:00:00Z"));
    assert_eq!(longer.verdict, Verdict::Allow);
}

#[test]
fn a_required_check_with_a_yes_says_reassigned_once_not_missing_too() {
    let mut case = consented();
    case.reassigned = vec![answer("2025-03-01", AnswerKind::Yes, "2026-06-01T15:00:00Z")];
    let d = case.decide(&requiring(0), &request("2026-06-02T15:00:00Z"));
    assert_eq!(codes(&d), vec![ReasonCode::ReassignedNumber]);
}

#[test]
fn a_control_requiring_the_check_must_be_for_calls_or_texts_and_an_age_needs_the_requirement() {
    let email = super::rules::RuleSetDraft {
        controls: vec![ControlDraft {
            id: "e".into(),
            channel: Some(Channel::Email),
            max_total_contacts: 3,
            period: Some(super::kinds::Period::Week),
            require_reassigned_check: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    let errors = super::rules::RuleSet::compile(email, 1).unwrap_err();
    assert_eq!(errors.0[0].field, "controls[0].require_reassigned_check");
    let age_alone = super::rules::RuleSetDraft {
        controls: vec![ControlDraft {
            id: "p".into(),
            channel: Some(Channel::Phone),
            max_total_contacts: 3,
            period: Some(super::kinds::Period::Week),
            reassigned_check_max_age_days: 10,
            ..Default::default()
        }],
        ..Default::default()
    };
    let errors = super::rules::RuleSet::compile(age_alone, 1).unwrap_err();
    assert_eq!(errors.0[0].field, "controls[0].reassigned_check_max_age_days");
}
