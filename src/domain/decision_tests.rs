//! The decision function against the rules of `docs/decisions.md`, example by example.

use chrono::{DateTime, Utc};
use chrono_tz::America::{Los_Angeles, New_York};
use chrono_tz::Tz;

use super::consumer::{PhoneProfile, Profile, Region};
use super::decision::{CallerFacts, Decision, Request, Subject, decide};
use super::exclusions::Exclusions;
use super::history::{ContactRec, History, RecKind};
use super::kinds::{CallPurpose, Channel, Mode, Period, ReasonCode, Role, Verdict};
use super::phone::PhoneNumber;
use super::rules::{ControlDraft, RuleSet, RuleSetDraft};

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub(super) fn number() -> PhoneNumber {
    PhoneNumber::parse("+15551234567").unwrap()
}

pub(super) fn profile(tz: Option<Tz>) -> Profile {
    Profile {
        role: Role::Debtor,
        group: None,
        state: Region::new("NY"),
        country: Region::new("US"),
        time_zone: tz,
        address_time_zone: None,
        phones: vec![PhoneProfile::new(number(), None, None)].into(),
        postal_code: None,
        county: None,
    }
}

pub(super) fn call(at: &str, code: i32) -> ContactRec {
    ContactRec {
        at_ms: utc(at).timestamp_millis(),
        code,
        phone: number().tag(),
        channel: Channel::Phone,
        kind: RecKind::Outbound,
    }
}

pub(super) fn request(at: &str) -> Request<'static> {
    Request {
        channel: Channel::Phone,
        mode: Mode::Auto,
        workflow: false,
        phone: Some(number()),
        purpose: None,
        operator_id: "",
        at: utc(at),
        caller: None,
        rules_as_of: None,
    }
}

pub(super) fn regf() -> RuleSet {
    RuleSet::regulation_f(7)
}

/// A rule set with one control built from `control`.
pub(super) fn one(control: ControlDraft) -> RuleSet {
    let base = ControlDraft {
        id: "c".into(),
        channel: Some(Channel::Phone),
        max_total_contacts: 3,
        period: Some(Period::Week),
        ..Default::default()
    };
    let control = ControlDraft {
        id: "c".into(),
        ..control
    };
    let merged = ControlDraft {
        channel: control.channel.or(base.channel),
        max_total_contacts: if control.max_total_contacts == 0 {
            base.max_total_contacts
        } else {
            control.max_total_contacts
        },
        period: control.period.or(base.period),
        ..control
    };
    RuleSet::compile(
        RuleSetDraft {
            controls: vec![merged],
            ..Default::default()
        },
        1,
    )
    .unwrap()
}

pub(super) struct Case {
    pub(super) profile: Profile,
    pub(super) exclusions: Exclusions,
    pub(super) own: History,
    pub(super) group: Option<History>,
    /// The Reassigned Numbers Database's answers about the request's number.
    pub(super) reassigned: Vec<super::reassigned::Answer>,
}

impl Case {
    pub(super) fn new(calls: Vec<ContactRec>) -> Case {
        Case {
            profile: profile(Some(New_York)),
            exclusions: Exclusions::default(),
            own: History::from_unsorted(calls, i64::MIN),
            group: None,
            reassigned: Vec::new(),
        }
    }

    pub(super) fn decide(&self, rules: &RuleSet, req: &Request) -> Decision {
        let subject = Subject {
            profile: &self.profile,
            exclusions: &self.exclusions,
            opted_out: None,
            own: &self.own,
            group: self.group.as_ref(),
            callback_active: false,
            do_not_call: None,
            leases: &[],
            reassigned: &self.reassigned,
        };
        decide(rules, Some(&subject), req)
    }
}

pub(super) fn codes(d: &Decision) -> Vec<ReasonCode> {
    d.reasons.iter().map(|r| r.code).collect()
}

/// `n` calls, one a day at 14:00 UTC (10:00 New York), ending the day before June 8, 2026.
pub(super) fn calls_before_june_8(n: usize) -> Vec<ContactRec> {
    (0..n)
        .map(|i| call(&format!("2026-06-{:02}T14:00:00Z", 7 - i), 1))
        .collect()
}

#[test]
fn the_seventh_call_in_seven_days_warns_and_the_eighth_is_denied() {
    let rules = regf();
    let at = "2026-06-07T18:00:00Z"; // 14:00 in New York, a Sunday
    let six = Case::new(calls_before_june_8(6));
    let d = six.decide(&rules, &request(at));
    assert_eq!(d.verdict, Verdict::Warn);
    assert_eq!(codes(&d), [ReasonCode::NearMaxContacts]);
    assert_eq!((d.attempts, d.max_contacts), (6, 7));
    assert_eq!(d.next_allowed_at, Some(utc(at)));

    let seven = Case::new(calls_before_june_8(7));
    let d = seven.decide(&rules, &request(at));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(codes(&d), [ReasonCode::MaxContacts]);
    assert_eq!(d.reasons[0].message, "7 calls in the last 7 days; the limit is 7");
    assert_eq!(d.reasons[0].control_id.as_deref(), Some("regf-calls"));
    assert_eq!((d.attempts, d.max_contacts, d.rule_set_version), (7, 7, 7));
    // The oldest (June 1) leaves the window on June 8; the calling day opens at 08:00.
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-08T12:00:00Z")));
}

#[test]
fn busy_and_failed_calls_do_not_count_toward_seven_in_seven() {
    let mut calls = calls_before_june_8(6);
    calls.extend(["2026-06-07T15:00:00Z", "2026-06-07T16:00:00Z"].map(|t| call(t, 6)));
    calls.push(call("2026-06-07T16:30:00Z", 128));
    let d = Case::new(calls).decide(&regf(), &request("2026-06-07T18:00:00Z"));
    assert_eq!((d.verdict, d.attempts), (Verdict::Warn, 6));
}

#[test]
fn a_person_dialing_gets_a_prompt_where_a_machine_gets_a_deny() {
    let case = Case::new(calls_before_june_8(7));
    for mode in [Mode::Manual, Mode::ClickToDial] {
        let d = case.decide(
            &regf(),
            &Request {
                mode,
                ..request("2026-06-07T18:00:00Z")
            },
        );
        assert_eq!(d.verdict, Verdict::Prompt);
        assert_eq!(
            d.prompt_text.as_deref(),
            Some("7 calls in the last 7 days; the limit is 7 — call anyway?")
        );
    }
}

#[test]
fn an_exempt_operator_is_allowed_with_the_findings_listed() {
    let mut draft = regf().draft;
    draft.exempt_operator_ids = vec!["supervisor-1".into()];
    let rules = RuleSet::compile(draft, 2).unwrap();
    let case = Case::new(calls_before_june_8(7));
    let req = Request {
        mode: Mode::ClickToDial,
        operator_id: "supervisor-1",
        ..request("2026-06-07T18:00:00Z")
    };
    let d = case.decide(&rules, &req);
    assert_eq!(d.verdict, Verdict::Allow);
    assert_eq!(codes(&d), [ReasonCode::MaxContacts, ReasonCode::SuppressedForOperator]);
    // Never for a machine.
    let d = case.decide(
        &rules,
        &Request {
            mode: Mode::Auto,
            ..req
        },
    );
    assert_eq!(d.verdict, Verdict::Deny);
}

#[test]
fn a_conversation_on_monday_june_1_holds_calls_through_sunday_june_7() {
    let case = Case::new(vec![call("2026-06-01T15:00:00Z", 4)]);
    let d = case.decide(&regf(), &request("2026-06-07T20:00:00Z"));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(codes(&d), [ReasonCode::HoldAfterRpc]);
    assert_eq!(
        d.reasons[0].message,
        "A right party contact on MON 2026-06-01 holds calls through SUN 2026-06-07"
    );
    assert_eq!(d.rpcs, 1);
    // Allowed from Monday June 8, once calling hours open.
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-08T12:00:00Z")));
    let d = case.decide(&regf(), &request("2026-06-08T12:00:00Z"));
    assert_eq!(d.verdict, Verdict::Allow);
}

#[test]
fn an_inbound_conversation_holds_but_inbound_calls_never_count() {
    let mut inbound = call("2026-06-01T15:00:00Z", 4);
    inbound.kind = RecKind::Inbound;
    let d = Case::new(vec![inbound]).decide(&regf(), &request("2026-06-02T15:00:00Z"));
    assert!(d.has(ReasonCode::HoldAfterRpc));
    assert_eq!(d.attempts, 0);
}

#[test]
fn a_pacific_phone_on_an_eastern_account_is_callable_only_from_11_eastern() {
    let mut case = Case::new(vec![]);
    case.profile.phones = vec![PhoneProfile::new(number(), Some(Los_Angeles), None)].into();
    // 10:30 Eastern = 07:30 Pacific.
    let d = case.decide(&regf(), &request("2026-06-02T14:30:00Z"));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(codes(&d), [ReasonCode::OutsideCallingHours]);
    assert_eq!(
        d.reasons[0].message,
        "It is 07:30 in America/Los_Angeles; calls are allowed 08:00–21:00 local time"
    );
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-02T15:00:00Z")));
    assert_eq!(
        case.decide(&regf(), &request("2026-06-02T15:00:00Z")).verdict,
        Verdict::Allow
    );
    assert_eq!(
        case.decide(&regf(), &request("2026-06-03T00:59:00Z")).verdict,
        Verdict::Allow
    );
    assert_eq!(
        case.decide(&regf(), &request("2026-06-03T01:00:00Z")).verdict,
        Verdict::Deny
    );
}

#[test]
fn on_a_spring_forward_morning_calls_open_at_eight_daylight_time() {
    let case = Case::new(vec![]);
    // 2026-03-08 07:59 EDT = 11:59 UTC; 08:00 EDT = 12:00 UTC.
    assert_eq!(
        case.decide(&regf(), &request("2026-03-08T11:59:00Z")).verdict,
        Verdict::Deny
    );
    assert_eq!(
        case.decide(&regf(), &request("2026-03-08T12:00:00Z")).verdict,
        Verdict::Allow
    );
    let d = case.decide(&regf(), &request("2026-03-08T06:30:00Z"));
    assert_eq!(d.next_allowed_at, Some(utc("2026-03-08T12:00:00Z")));
}

#[test]
fn no_known_zone_denies_with_unknown_time_zone_and_no_next_time() {
    let mut case = Case::new(vec![]);
    case.profile = profile(None);
    let d = case.decide(
        &regf(),
        &Request {
            mode: Mode::Manual,
            ..request("2026-06-02T15:00:00Z")
        },
    );
    assert_eq!(d.verdict, Verdict::Deny);
    assert!(d.has(ReasonCode::UnknownTimeZone));
    assert_eq!(d.next_allowed_at, None);
    // Email has no calling hours: no zone needed.
    let email = Request {
        channel: Channel::Email,
        phone: None,
        ..request("2026-06-02T15:00:00Z")
    };
    assert_eq!(case.decide(&regf(), &email).verdict, Verdict::Allow);
}

#[test]
fn with_no_zone_on_record_the_area_codes_zones_are_used_all_of_them() {
    let mut case = Case::new(vec![]);
    case.profile = profile(None);
    let panhandle = PhoneNumber::parse("+18505550100").unwrap();
    let req = |at| Request {
        phone: Some(panhandle),
        ..request(at)
    };
    // 08:30 Eastern is 07:30 Central: outside in Chicago.
    let d = case.decide(&regf(), &req("2026-06-02T12:30:00Z"));
    assert_eq!(codes(&d), [ReasonCode::OutsideCallingHours]);
    assert!(
        d.reasons[0].message.contains("America/Chicago"),
        "{}",
        d.reasons[0].message
    );
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-02T13:00:00Z")));
    // 20:30 Central is 21:30 Eastern: outside in New York.
    assert_eq!(
        case.decide(&regf(), &req("2026-06-03T01:30:00Z")).verdict,
        Verdict::Deny
    );
    assert_eq!(
        case.decide(&regf(), &req("2026-06-02T15:00:00Z")).verdict,
        Verdict::Allow
    );
    // A toll-free number has no zone: unknown.
    let toll_free = Request {
        phone: Some(PhoneNumber::parse("+18005550100").unwrap()),
        ..request("2026-06-02T15:00:00Z")
    };
    assert!(case.decide(&regf(), &toll_free).has(ReasonCode::UnknownTimeZone));
}

#[test]
fn an_unknown_consumer_is_an_answer_not_an_error() {
    let d = decide(&regf(), None, &request("2026-06-02T15:00:00Z"));
    assert_eq!(
        (d.verdict, codes(&d), d.next_allowed_at),
        (Verdict::Deny, vec![ReasonCode::UnknownConsumer], None)
    );
}

#[test]
fn massachusetts_allows_two_calls_a_week_where_new_york_allows_seven() {
    let calls = vec![call("2026-06-01T15:00:00Z", 1), call("2026-06-02T15:00:00Z", 1)];
    let mut ma = Case::new(calls.clone());
    ma.profile.state = Region::new("ma");
    let d = ma.decide(&regf(), &request("2026-06-03T15:00:00Z"));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.reasons[0].control_id.as_deref(), Some("ma-calls"));
    assert_eq!((d.attempts, d.max_contacts), (2, 2));
    let ny = Case::new(calls);
    assert_eq!(
        ny.decide(&regf(), &request("2026-06-03T15:00:00Z")).verdict,
        Verdict::Allow
    );
}

#[test]
fn group_controls_count_every_member_and_others_count_only_the_consumer() {
    let rules = one(ControlDraft {
        apply_to_group: true,
        max_total_contacts: 2,
        ..Default::default()
    });
    let mut case = Case::new(vec![call("2026-06-01T15:00:00Z", 1)]);
    case.group = Some(History::from_unsorted(
        vec![call("2026-06-01T15:00:00Z", 1), call("2026-06-02T15:00:00Z", 1)],
        i64::MIN,
    ));
    assert_eq!(
        case.decide(&rules, &request("2026-06-03T15:00:00Z")).verdict,
        Verdict::Deny
    );
    let own_only = one(ControlDraft {
        apply_to_group: false,
        max_total_contacts: 2,
        ..Default::default()
    });
    assert_eq!(
        case.decide(&own_only, &request("2026-06-03T15:00:00Z")).verdict,
        Verdict::Warn
    );
}

#[test]
fn attempt_codes_choose_what_counts_and_rpc_codes_count_too() {
    let rules = one(ControlDraft {
        attempt_codes: vec![1],
        rpc_codes: vec![4],
        max_total_contacts: 2,
        ..Default::default()
    });
    let case = Case::new(vec![
        call("2026-06-01T15:00:00Z", 1),
        call("2026-06-01T16:00:00Z", 2),
        call("2026-06-01T17:00:00Z", 4),
    ]);
    let d = case.decide(&rules, &request("2026-06-02T15:00:00Z"));
    assert_eq!((d.verdict, d.attempts, d.rpcs), (Verdict::Deny, 2, 1));
}

#[test]
fn each_period_counts_its_own_window() {
    let calls = vec![
        call("2026-05-31T15:00:00Z", 1),
        call("2026-06-01T15:00:00Z", 1),
        call("2026-06-02T03:00:00Z", 1),
    ];
    let case = Case::new(calls);
    let at = request("2026-06-02T15:00:00Z"); // June 2, 11:00 New York; 23:00 June 1 was local June 1.
    let count = |period| {
        let rules = one(ControlDraft {
            period: Some(period),
            max_total_contacts: 9,
            ..Default::default()
        });
        case.decide(&rules, &at).attempts
    };
    assert_eq!(count(Period::Day), 0);
    assert_eq!(count(Period::Rolling24Hours), 1);
    assert_eq!(count(Period::Month), 2);
    assert_eq!(count(Period::Week), 3);
}

#[test]
fn a_day_period_clears_at_local_midnight() {
    let rules = one(ControlDraft {
        period: Some(Period::Day),
        max_total_contacts: 1,
        ..Default::default()
    });
    let d = Case::new(vec![call("2026-06-02T14:00:00Z", 1)]).decide(&rules, &request("2026-06-02T15:00:00Z"));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(d.next_allowed_at, Some(utc("2026-06-03T04:00:00Z")));
}

#[test]
fn telemarketing_rules_bind_telemarketing_alone() {
    let rules = one(ControlDraft {
        call_purposes: vec![CallPurpose::Telemarketing],
        max_total_contacts: 1,
        ..Default::default()
    });
    let case = Case::new(vec![call("2026-06-02T14:00:00Z", 1)]);
    let tm = Request {
        purpose: Some(CallPurpose::Telemarketing),
        ..request("2026-06-02T15:00:00Z")
    };
    assert_eq!(case.decide(&rules, &tm).verdict, Verdict::Deny);
    assert_eq!(
        case.decide(&rules, &request("2026-06-02T15:00:00Z")).verdict,
        Verdict::Allow
    );
    let debt = Request {
        purpose: Some(CallPurpose::DebtCollection),
        ..tm
    };
    assert_eq!(case.decide(&rules, &debt).verdict, Verdict::Allow);
}

#[test]
fn a_cross_channel_cap_counts_calls_texts_and_emails_together() {
    let rules = one(ControlDraft {
        also_channels: vec![Channel::Text, Channel::Email],
        max_total_contacts: 3,
        ..Default::default()
    });
    let mut text = call("2026-06-01T15:00:00Z", 0);
    text.channel = Channel::Text;
    let mut email = call("2026-06-01T16:00:00Z", 0);
    email.channel = Channel::Email;
    let case = Case::new(vec![text, email, call("2026-06-01T17:00:00Z", 1)]);
    let req = Request {
        channel: Channel::Email,
        phone: None,
        ..request("2026-06-02T15:00:00Z")
    };
    let d = case.decide(&rules, &req);
    assert_eq!((d.verdict, d.attempts), (Verdict::Deny, 3));
    assert_eq!(d.reasons[0].message, "3 contacts in the last 7 days; the limit is 3");
}

#[test]
fn sundays_and_holidays_are_restricted_days_and_next_allowed_skips_them() {
    let mut rules = one(ControlDraft {
        no_contact_weekdays: vec!["SUN".into()],
        no_contact_on_holidays: true,
        call_from: "08:00".into(),
        call_to: "20:00".into(),
        ..Default::default()
    });
    rules.holidays = vec![chrono::NaiveDate::from_ymd_opt(2026, 9, 7).unwrap()]; // Labor Day, a Monday
    let case = Case::new(vec![]);
    // Sunday Sept 6, 2026, 12:00 New York.
    let d = case.decide(&rules, &request("2026-09-06T16:00:00Z"));
    assert_eq!(d.verdict, Verdict::Deny);
    assert_eq!(codes(&d), [ReasonCode::RestrictedDay]);
    // Monday is a holiday too: Tuesday 08:00.
    assert_eq!(d.next_allowed_at, Some(utc("2026-09-08T12:00:00Z")));
}

#[test]
fn exclusions_deny_in_every_mode_with_no_next_time() {
    let mut case = Case::new(vec![]);
    case.exclusions.bankruptcy = true;
    let req = Request {
        mode: Mode::ClickToDial,
        workflow: true,
        ..request("2026-06-02T15:00:00Z")
    };
    let d = case.decide(&regf(), &req);
    assert_eq!(
        (d.verdict, codes(&d), d.next_allowed_at),
        (Verdict::Deny, vec![ReasonCode::Bankruptcy], None)
    );
}

#[test]
fn a_callback_lifts_frequency_and_hold_but_not_calling_hours() {
    let case = Case::new(vec![call("2026-06-01T15:00:00Z", 4)]);
    let subject = Subject {
        profile: &case.profile,
        exclusions: &case.exclusions,
        opted_out: None,
        own: &case.own,
        group: None,
        callback_active: true,
        do_not_call: None,
        leases: &[],
        reassigned: &[],
    };
    let d = decide(&regf(), Some(&subject), &request("2026-06-02T15:00:00Z"));
    assert_eq!(
        (d.verdict, codes(&d)),
        (Verdict::Allow, vec![ReasonCode::CallbackOverride])
    );
    let d = decide(&regf(), Some(&subject), &request("2026-06-02T02:00:00Z"));
    assert!(d.has(ReasonCode::OutsideCallingHours));
}

#[test]
fn the_answer_is_the_same_whenever_it_is_asked_for_the_same_instant() {
    let case = Case::new(calls_before_june_8(7));
    let a = case.decide(&regf(), &request("2026-06-07T18:00:00Z"));
    let b = case.decide(&regf(), &request("2026-06-07T18:00:00Z"));
    assert_eq!(a, b);
    // And an instant later in the week sees the window move.
    let later = case.decide(&regf(), &request("2026-06-08T18:00:00Z"));
    assert_eq!(later.attempts, 6);
}

#[test]
fn a_text_needs_an_sms_authorization_younger_than_the_reauth_days() {
    let rules = one(ControlDraft {
        channel: Some(Channel::Text),
        max_total_contacts: 9,
        sms_reauth_days: 30,
        ..Default::default()
    });
    let mut case = Case::new(vec![]);
    let text = Request {
        channel: Channel::Text,
        ..request("2026-06-02T15:00:00Z")
    };
    let d = case.decide(&rules, &text);
    assert_eq!(
        (d.verdict, codes(&d), d.next_allowed_at),
        (Verdict::Deny, vec![ReasonCode::SmsReauthRequired], None)
    );
    // Authorized 30 days minus a second before: fine. One day past the limit: not.
    let authorized = |at: &str| vec![PhoneProfile::new(number(), None, Some(utc(at).timestamp_millis()))].into();
    case.profile.phones = authorized("2026-05-03T15:00:01Z");
    assert_eq!(case.decide(&rules, &text).verdict, Verdict::Allow);
    case.profile.phones = authorized("2026-05-02T15:00:00Z");
    let d = case.decide(&rules, &text);
    assert_eq!(codes(&d), [ReasonCode::SmsReauthRequired]);
    assert_eq!(
        case.decide(
            &rules,
            &Request {
                mode: Mode::Manual,
                ..text
            }
        )
        .verdict,
        Verdict::Prompt
    );
    // Calls are not texts.
    assert_eq!(
        case.decide(&regf(), &request("2026-06-02T15:00:00Z")).verdict,
        Verdict::Allow
    );
}

#[test]
fn only_calls_and_texts_from_a_telemarketing_caller_id_consult_the_do_not_call_lists() {
    let from = |channel, purpose: Option<CallPurpose>| Request {
        channel,
        caller: purpose.map(|purpose| CallerFacts {
            purpose,
            program_active: true,
        }),
        ..request("2026-06-03T15:00:00Z")
    };
    for channel in [Channel::Phone, Channel::Text] {
        assert!(from(channel, Some(CallPurpose::Telemarketing)).consults_do_not_call());
        assert!(!from(channel, Some(CallPurpose::DebtCollection)).consults_do_not_call());
        assert!(!from(channel, None).consults_do_not_call());
    }
    for channel in [Channel::Email, Channel::Letter] {
        assert!(!from(channel, Some(CallPurpose::Telemarketing)).consults_do_not_call());
    }
}
