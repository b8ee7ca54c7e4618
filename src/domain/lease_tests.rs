//! The decision function with attempt leases, against the lease rules of `docs/decisions.md`: a lease counts as
//! an attempt of its channel at its request's instant, for the consumer and its group,
//! never as a right party contact; while `max_in_flight` are open, every request is DENY
//! ATTEMPT_IN_FLIGHT.

use chrono::{DateTime, Duration, Utc};

use super::decision::{Decision, Request, Subject, decide};
use super::decision_tests::{Case, call, calls_before_june_8, codes, number, one, regf, request, utc};
use super::history::{ContactRec, History};
use super::kinds::{Channel, Mode, Period, ReasonCode, Verdict};
use super::lease::{AttemptId, Lease, OpenLease};
use super::rules::{ControlDraft, RuleSet};

/// A PHONE lease on the test number, taken at `at`, held for the rules' default 15 minutes.
fn lease(id: u8, at: &str) -> Lease {
    let at = utc(at);
    Lease {
        attempt_id: AttemptId::from_bytes([id; 16]),
        consumer_id: "c".into(),
        request_id: format!("r{id}"),
        channel: Channel::Phone,
        phone: Some(number()),
        at,
        expires_at: at + Duration::minutes(15),
        operator_id: String::new(),
        granted_by: None,
    }
}

/// `case` with `leases` counted in its history (as the book keeps them) and open.
fn decide_leased(case: &Case, leases: &[Lease], rules: &RuleSet, req: &Request) -> Decision {
    let mut recs: Vec<ContactRec> = case.own.as_slice().to_vec();
    recs.extend(leases.iter().map(Lease::rec));
    let own = History::from_unsorted(recs, i64::MIN);
    let open: Vec<OpenLease> = leases.iter().map(Lease::open).collect();
    let subject = Subject {
        profile: &case.profile,
        exclusions: &case.exclusions,
        opted_out: None,
        own: &own,
        group: case.group.as_ref(),
        callback_active: false,
        do_not_call: None,
        leases: &open,
        reassigned: &case.reassigned,
    };
    decide(rules, Some(&subject), req)
}

const SUNDAY_2PM: &str = "2026-06-07T18:00:00Z"; // 14:00 in New York

#[test]
fn with_six_calls_recorded_a_lease_for_the_seventh_makes_the_next_request_a_deny() {
    let six = Case::new(calls_before_june_8(6));
    let first = decide_leased(&six, &[], &regf(), &request(SUNDAY_2PM));
    assert_eq!((first.verdict, first.attempts, first.pending), (Verdict::Warn, 6, 0));
    // The first took its lease; a second, on another number or the same, is over the limit
    // and in flight (and an expired lease still counts: only its slot is freed).
    let leased = [lease(1, SUNDAY_2PM)];
    let second = decide_leased(&six, &leased, &regf(), &request(SUNDAY_2PM));
    assert_eq!(second.verdict, Verdict::Deny);
    assert_eq!(codes(&second), [ReasonCode::AttemptInFlight, ReasonCode::MaxContacts]);
    assert_eq!((second.attempts, second.pending, second.max_contacts), (7, 1, 7));
    let an_hour_later = request("2026-06-07T19:00:00Z");
    let later = decide_leased(&six, &leased, &regf(), &an_hour_later);
    assert_eq!(codes(&later), [ReasonCode::MaxContacts]);
    assert_eq!((later.attempts, later.pending), (7, 1));
}

#[test]
fn a_consumer_in_flight_is_denied_in_every_mode_until_the_earliest_expiry() {
    let case = Case::new(vec![]);
    let leased = [lease(1, "2026-06-02T15:00:00Z"), lease(2, "2026-06-02T15:05:00Z")];
    let mut draft = regf().draft;
    draft.exempt_operator_ids = vec!["supervisor-1".into()];
    draft.max_in_flight = 2;
    let rules = RuleSet::compile(draft, 3).unwrap();
    for (mode, operator_id) in [
        (Mode::Auto, ""),
        (Mode::Manual, ""),
        (Mode::ClickToDial, ""),
        (Mode::ClickToDial, "supervisor-1"),
    ] {
        let req = Request {
            mode,
            operator_id,
            ..request("2026-06-02T15:06:00Z")
        };
        let d = decide_leased(&case, &leased, &rules, &req);
        assert_eq!(d.verdict, Verdict::Deny, "{mode:?} {operator_id:?}");
        assert_eq!(codes(&d), [ReasonCode::AttemptInFlight]);
        assert_eq!(d.next_allowed_at, Some(utc("2026-06-02T15:15:00Z")));
        assert!(d.prompt_text.is_none());
        assert_eq!(
            d.reasons[0].message,
            "2 calls to this consumer are in flight; the next is allowed once an outcome is recorded, at the latest at 2026-06-02 15:15:00 UTC"
        );
    }
    // One slot of two held: allowed, and the lease counts.
    let d = decide_leased(&case, &leased[..1], &rules, &request("2026-06-02T15:06:00Z"));
    assert_eq!((d.verdict, d.attempts, d.pending), (Verdict::Allow, 1, 1));
}

#[test]
fn the_slot_frees_at_expiry_but_no_earlier_than_calling_hours_allow() {
    // A lease taken at 20:50 New York time expires at 21:05, after calling hours end.
    let leased = [lease(1, "2026-06-03T00:50:00Z")];
    let d = decide_leased(&Case::new(vec![]), &leased, &regf(), &request("2026-06-03T00:55:00Z"));
    assert_eq!(codes(&d), [ReasonCode::AttemptInFlight]);
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-03T12:00:00Z")));
}

#[test]
fn a_lease_is_an_attempt_never_a_right_party_contact() {
    // Only RPC codes count, and a hold follows them: a lease counts, and holds nothing.
    let rules = one(ControlDraft {
        max_total_contacts: 2,
        period: Some(Period::Week),
        hold_for_days: 7,
        rpc_codes: vec![4],
        attempt_codes: vec![1],
        ..Default::default()
    });
    let d = decide_leased(
        &Case::new(vec![]),
        &[lease(1, "2026-06-02T15:00:00Z")],
        &rules,
        &request("2026-06-02T16:00:00Z"),
    );
    assert_eq!((d.verdict, d.attempts, d.rpcs, d.pending), (Verdict::Warn, 1, 0, 1));
    assert!(!d.has(ReasonCode::HoldAfterRpc));
}

#[test]
fn a_lease_counts_at_its_requests_instant_and_leaves_the_window_with_it() {
    let rules = one(ControlDraft {
        max_total_contacts: 1,
        period: Some(Period::Day),
        ..Default::default()
    });
    let leased = [lease(1, "2026-06-02T15:00:00Z")];
    let same_day = decide_leased(&Case::new(vec![]), &leased, &rules, &request("2026-06-02T20:00:00Z"));
    assert_eq!(codes(&same_day), [ReasonCode::MaxContacts]);
    let next_day = decide_leased(&Case::new(vec![]), &leased, &rules, &request("2026-06-03T15:00:00Z"));
    assert_eq!(
        (next_day.verdict, next_day.attempts, next_day.pending),
        (Verdict::Warn, 0, 0)
    );
}

#[test]
fn a_lease_counts_toward_a_cross_channel_cap_and_the_groups() {
    // New York City: 3 contacts in 7 days across calls, texts and emails, for the group.
    let rules = one(ControlDraft {
        max_total_contacts: 3,
        period: Some(Period::Week),
        apply_to_group: true,
        also_channels: vec![Channel::Text, Channel::Email],
        ..Default::default()
    });
    let mut text = lease(1, "2026-06-02T15:00:00Z");
    text.channel = Channel::Text;
    // A cosigner's call, and the text lease, in the group's history.
    let mut case = Case::new(vec![]);
    case.group = Some(History::from_unsorted(
        vec![call("2026-06-01T15:00:00Z", 1), text.rec()],
        i64::MIN,
    ));
    let d = decide_leased(&case, &[], &rules, &request("2026-06-02T16:00:00Z"));
    assert_eq!((d.verdict, d.attempts, d.pending), (Verdict::Warn, 2, 1));
    // A text lease does not hold a PHONE in-flight slot.
    let d = decide_leased(&case, &[text], &rules, &request("2026-06-02T16:00:00Z"));
    assert!(!d.has(ReasonCode::AttemptInFlight));
}

#[test]
fn a_request_about_an_instant_before_the_lease_was_taken_is_not_in_flight() {
    let leased = [lease(1, "2026-06-02T15:00:00Z")];
    let before: DateTime<Utc> = utc("2026-06-02T14:59:00Z");
    let d = decide_leased(
        &Case::new(vec![]),
        &leased,
        &regf(),
        &Request {
            at: before,
            ..request("2026-06-02T14:59:00Z")
        },
    );
    assert!(!d.has(ReasonCode::AttemptInFlight));
}
