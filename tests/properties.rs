//! Property tests (proptest): bad input at scale never panics, and the arithmetic agrees
//! with a slow, obvious reference on generated rule sets, phones, times, CSV rows and
//! histories.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use predial::domain::history::History;
use predial::domain::programs::{MAX_CSV_ROWS, parse_numbers_csv};
use predial::domain::rules::{ContactControl, ControlDraft};
use predial::domain::time::{format_time_of_day, local_date, parse_time_of_day, start_of_day};
use predial::domain::window::tally;
use predial::domain::{Channel, ContactRec, Period, PhoneNumber, RecKind, RuleSet, RuleSetDraft};

const ZONES: [Tz; 6] = [
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::America::Phoenix,
    chrono_tz::Pacific::Honolulu,
    chrono_tz::America::St_Johns,
    chrono_tz::Australia::Lord_Howe,
];

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(ZONES.to_vec())
}

/// Instants from 2020 to 2030, to the millisecond.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (1_577_836_800_000i64..1_893_456_000_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
}

fn period() -> impl Strategy<Value = Period> {
    prop::sample::select(vec![Period::Day, Period::Week, Period::Month, Period::Rolling24Hours])
}

// ---- phones ----

proptest! {
    #[test]
    fn parsing_any_text_as_a_phone_never_panics(text in "\\PC{0,40}") {
        let _ = PhoneNumber::parse(&text);
    }

    #[test]
    fn a_nanp_number_reads_the_same_however_it_is_written(
        area in 200u32..1000, exchange in 200u32..1000, line in 0u32..10000, style in 0usize..6,
    ) {
        let (a, e, l) = (area, exchange, line);
        let written = match style {
            0 => format!("{a}{e}{l:04}"),
            1 => format!("({a}) {e}-{l:04}"),
            2 => format!("+1 {a} {e} {l:04}"),
            3 => format!("1-{a}-{e}-{l:04}"),
            4 => format!("  {a}.{e}.{l:04}  "),
            _ => format!("+1{a}{e}{l:04}"),
        };
        let parsed = PhoneNumber::parse(&written).unwrap();
        prop_assert_eq!(parsed.to_string(), format!("+1{a}{e}{l:04}"));
        // What it prints reads back as itself.
        prop_assert_eq!(PhoneNumber::parse(&parsed.to_string()).unwrap(), parsed);
        prop_assert_eq!(parsed.nanp_area_code(), Some(area as u16));
    }
}

// ---- CSV rows ----

fn purpose_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Debt Collection",
        "Customer Service",
        "Telemarketing",
        "informational/notification",
        "DO NOT ORIGINATE",
        "Survey",
    ])
}

proptest! {
    #[test]
    fn any_bytes_as_a_numbers_csv_never_panic_and_never_half_succeed(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(numbers) = parse_numbers_csv(&bytes) {
            prop_assert!(numbers.len() <= MAX_CSV_ROWS);
        }
    }

    #[test]
    fn well_formed_rows_are_all_read_and_one_bad_row_rejects_the_file(
        rows in prop::collection::vec((200u32..1000, 0u32..1_000_000, purpose_name()), 1..40),
        bad_at in any::<prop::sample::Index>(),
    ) {
        let lines: Vec<String> = rows.iter().map(|(a, n, p)| format!("{a}2{n:06}, {p}")).collect();
        let good = lines.join("\n");
        let read = parse_numbers_csv(good.as_bytes()).unwrap();
        prop_assert_eq!(read.len(), rows.len());
        for ((a, n, _), number) in rows.iter().zip(&read) {
            prop_assert_eq!(number.number.to_string(), format!("+1{a}2{n:06}"));
        }
        let mut broken = lines.clone();
        let i = bad_at.index(broken.len());
        broken[i] = format!("{}, Lottery", &rows[i].0);
        let errors = parse_numbers_csv(broken.join("\n").as_bytes()).unwrap_err();
        prop_assert_eq!(errors.len(), 1);
        prop_assert_eq!(errors[0].row as usize, i + 1);
    }
}

#[test]
fn a_csv_of_more_than_the_row_limit_is_refused_whole() {
    let rows: Vec<String> = (0..=MAX_CSV_ROWS).map(|i| format!("212555{i:04},Survey")).collect();
    assert!(parse_numbers_csv(rows.join("\n").as_bytes()).is_err());
    assert_eq!(
        parse_numbers_csv(rows[..MAX_CSV_ROWS].join("\n").as_bytes())
            .unwrap()
            .len(),
        MAX_CSV_ROWS
    );
}

// ---- times ----

proptest! {
    #[test]
    fn a_time_of_day_prints_and_reads_back(h in 0u32..24, m in 0u32..60) {
        let t = NaiveTime::from_hms_opt(h, m, 0).unwrap();
        prop_assert_eq!(parse_time_of_day(&format_time_of_day(t)).unwrap(), t);
    }

    #[test]
    fn parsing_any_text_as_a_time_of_day_never_panics(text in "\\PC{0,12}") {
        let _ = parse_time_of_day(&text);
    }

    #[test]
    fn a_local_day_starts_at_its_first_instant_in_every_zone(days in 0u64..4000, tz in zone()) {
        let date = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + Days::new(days);
        let start = start_of_day(date, tz);
        prop_assert_eq!(local_date(start, tz), date);
        prop_assert!(local_date(start - Duration::milliseconds(1), tz) < date);
    }
}

// ---- rule sets ----

fn control_draft() -> impl Strategy<Value = ControlDraft> {
    (
        "[a-z0-9-]{0,12}",
        prop::option::of(prop::sample::select(Channel::ALL.to_vec())),
        prop::option::of(period()),
        0u32..20,
        0u32..30,
        prop::sample::select(vec!["", "NY", "MA", "ZZ", "new york"]),
        prop::sample::select(vec!["", "08:00", "21:00", "25:00", "8am"]),
        prop::sample::select(vec!["", "09:00", "20:00", "07:00"]),
        prop::collection::vec(-2i32..40, 0..4),
    )
        .prop_map(
            |(id, channel, period, max, hold, state, from, to, codes)| ControlDraft {
                id,
                channel,
                period,
                max_total_contacts: max,
                hold_for_days: hold,
                state: state.to_string(),
                call_from: from.to_string(),
                call_to: to.to_string(),
                attempt_codes: codes,
                ..Default::default()
            },
        )
}

proptest! {
    #[test]
    fn any_text_as_a_rule_file_is_read_or_refused_without_panicking(text in "\\PC{0,200}") {
        if let Ok(draft) = RuleSetDraft::from_json(&text) {
            let _ = RuleSet::compile(draft, 1);
        }
    }

    #[test]
    fn a_generated_rule_set_compiles_or_every_error_names_a_field(
        controls in prop::collection::vec(control_draft(), 0..6),
    ) {
        let draft = RuleSetDraft { controls, ..Default::default() };
        match RuleSet::compile(draft.clone(), 7) {
            Ok(rules) => prop_assert_eq!(rules.version, 7),
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                for e in &errors.0 {
                    prop_assert!(e.field.starts_with("controls["), "{}", e);
                }
            }
        }
        // A draft survives its JSON form unchanged.
        let json = serde_json::to_string(&draft).unwrap();
        prop_assert_eq!(RuleSetDraft::from_json(&json).unwrap(), draft);
    }
}

// ---- window arithmetic ----

/// A phone control counting every call over `period` (the shipped preset's first control,
/// re-periodised).
fn every_call(period: Period) -> ContactControl {
    let mut control = RuleSet::regulation_f(1).controls[0].clone();
    control.period = period;
    control.codes = Default::default();
    control.channels = predial::domain::kinds::ChannelSet::of([Channel::Phone]);
    control
}

/// The obvious reading of each period, contact by contact.
fn in_period_by_hand(period: Period, contact: DateTime<Utc>, t: DateTime<Utc>, tz: Tz) -> bool {
    let (c, d) = (local_date(contact, tz), local_date(t, tz));
    match period {
        Period::Day => c == d,
        Period::Week => c <= d && c >= d - Days::new(6),
        Period::Month => c.format("%Y-%m").to_string() == d.format("%Y-%m").to_string(),
        Period::Rolling24Hours => contact <= t && contact > t - Duration::hours(24),
    }
}

proptest! {
    #[test]
    fn a_window_counts_exactly_the_contacts_its_period_covers(
        t in instant(),
        offsets_min in prop::collection::vec(-60i64 * 24 * 40..60 * 24 * 2, 0..60),
        period in period(),
        tz in zone(),
    ) {
        let contacts: Vec<DateTime<Utc>> = offsets_min.iter().map(|m| t + Duration::minutes(*m)).collect();
        let recs = contacts
            .iter()
            .map(|c| ContactRec { at_ms: c.timestamp_millis(), code: 1, phone: 0, channel: Channel::Phone, kind: RecKind::Outbound })
            .collect();
        let history = History::from_unsorted(recs, i64::MIN);
        let counted = tally(&every_call(period), &history, t, tz).attempts;
        let by_hand = contacts.iter().filter(|c| in_period_by_hand(period, **c, t, tz)).count() as u32;
        prop_assert_eq!(counted, by_hand);
    }
}

// ---- the day cache against chrono-tz ----

/// Instants around the 2026 transitions of the zones above (US: Mar 8, Nov 1; Lord Howe:
/// Apr 5, Oct 4; St John's and Havana follow the US; Santiago: Apr 5, Sep 6; Beirut: Mar 29,
/// Oct 25), and anywhere else.
fn near_a_transition() -> impl Strategy<Value = DateTime<Utc>> {
    let days = prop::sample::select(vec![
        "2026-03-08",
        "2026-11-01",
        "2026-04-05",
        "2026-10-04",
        "2026-06-15",
        "2026-09-06",
        "2026-03-29",
        "2026-10-25",
    ]);
    (days, -3 * 86_400_000i64..3 * 86_400_000).prop_map(|(day, ms)| {
        let base: DateTime<Utc> = format!("{day}T00:00:00Z").parse().unwrap();
        base + Duration::milliseconds(ms)
    })
}

proptest! {
    #[test]
    fn cached_local_readings_agree_with_chrono_tz(
        instants in prop::collection::vec(prop_oneof![near_a_transition(), instant()], 1..40),
        tz in zone(),
    ) {
        for t in instants {
            let direct = t.with_timezone(&tz).naive_local();
            prop_assert_eq!(predial::domain::time::local_datetime(t, tz), direct, "{} in {}", t, tz);
            prop_assert_eq!(local_date(t, tz), direct.date());
            prop_assert_eq!(predial::domain::time::local_time(t, tz), direct.time(), "{} in {}", t, tz);
        }
    }
}

proptest! {
    #[test]
    fn cached_local_times_map_to_the_instants_chrono_tz_gives(
        t in prop_oneof![near_a_transition(), instant()],
        tz in prop_oneof![
            zone(),
            // Zones whose clocks change at midnight, so some days begin after 00:00.
            Just(chrono_tz::America::Havana),
            Just(chrono_tz::America::Santiago),
            Just(chrono_tz::Asia::Beirut),
        ],
        day_offset in -2i64..3,
        minutes in 0u32..1440,
    ) {
        use predial::domain::time::{first_instant_at_or_after, first_instant_at_or_after_on};
        let date = local_date(t, tz) + Duration::days(day_offset);
        let time = NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap();
        // Twice: the first asks fill the cache, the second is answered from it.
        for _ in 0..2 {
            prop_assert_eq!(
                first_instant_at_or_after_on(date, time, tz),
                first_instant_at_or_after(date.and_time(time), tz),
                "{} {} in {}", date, time, tz
            );
        }
    }
}

// ---- the next instant inside calling hours ----

proptest! {
    #[test]
    fn the_next_instant_inside_calling_hours_is_inside_and_nothing_earlier_is(
        t in prop_oneof![near_a_transition(), instant()],
        picks in prop::collection::vec(zone(), 1..4),
        from_h in 6u32..11, to_h in 17u32..22,
    ) {
        use predial::domain::hours::{Zones, next_inside, outside_in};
        use predial::domain::rules::CallingHours;
        let hours = CallingHours {
            from: NaiveTime::from_hms_opt(from_h, 0, 0).unwrap(),
            to: NaiveTime::from_hms_opt(to_h, 0, 0).unwrap(),
        };
        let zones = Zones::of(picks.iter().map(|z| Some(*z)));
        let found = next_inside(hours, t, zones);
        // Openings fall on quarter hours in every zone used here (St John's is -3:30 and
        // Lord Howe +10:30 or +11), so scanning quarter hours finds any earlier one.
        let quarter = Duration::minutes(15);
        let mut probe = t;
        let limit = found.unwrap_or(t + Duration::days(3));
        while probe < limit {
            prop_assert!(outside_in(hours, probe, zones).is_some(), "{probe} is inside, before {found:?}");
            let ms = probe.timestamp_millis();
            let q = quarter.num_milliseconds();
            probe = Utc.timestamp_millis_opt((ms.div_euclid(q) + 1) * q).unwrap();
        }
        if let Some(r) = found {
            prop_assert!(r >= t);
            prop_assert!(outside_in(hours, r, zones).is_none());
        }
    }
}

proptest! {
    #[test]
    fn a_frequency_limit_clears_on_the_first_day_whose_window_is_under_it(
        t in instant(),
        offsets_min in prop::collection::vec(-60i64 * 24 * 40..60 * 24 * 3, 0..40),
        period in prop::sample::select(vec![Period::Day, Period::Week, Period::Month]),
        max in 1u32..6,
        tz in zone(),
    ) {
        use predial::domain::window::frequency_clear_from;
        let recs = offsets_min
            .iter()
            .map(|m| ContactRec { at_ms: (t + Duration::minutes(*m)).timestamp_millis(), code: 1, phone: 0, channel: Channel::Phone, kind: RecKind::Outbound })
            .collect();
        let history = History::from_unsorted(recs, i64::MIN);
        let mut control = every_call(period);
        control.max_total_contacts = max;
        let by_hand = if tally(&control, &history, t, tz).attempts < max {
            Some(t)
        } else {
            let today = local_date(t, tz);
            (1..=400u64)
                .map(|k| start_of_day(today + Days::new(k), tz))
                .find(|at| tally(&control, &history, *at, tz).attempts < max)
        };
        prop_assert_eq!(frequency_clear_from(&control, &history, t, tz), by_hand);
    }
}

proptest! {
    #[test]
    fn result_codes_count_as_the_lists_say_whatever_the_code(
        attempt in prop::collection::vec(-5i32..90, 0..4),
        rpc in prop::collection::vec(-5i32..90, 0..3),
        non_attempt in prop::collection::vec(-5i32..90, 0..4),
        code in -10i32..100,
    ) {
        use predial::domain::rules::CodeRule;
        let rule = CodeRule::new(attempt.clone(), rpc.clone(), non_attempt.clone());
        let by_hand = if rpc.contains(&code) || attempt.contains(&code) {
            true
        } else if !non_attempt.is_empty() {
            attempt.is_empty() && !non_attempt.contains(&code)
        } else {
            attempt.is_empty() && rpc.is_empty()
        };
        prop_assert_eq!(rule.counts(code), by_hand);
        prop_assert_eq!(rule.is_rpc(code), rpc.contains(&code));
    }
}

// ---- the earliest allowed instant ----

/// Rules with every kind of time constraint: the shipped preset (7 in 7 days, a 7-day
/// hold after a right party contact, 08:00–21:00, 2 in 7 days in Massachusetts), plus a
/// rolling-24-hour and a monthly limit with narrower hours, no calls on Sundays or
/// holidays.
fn every_kind_of_time_rule() -> RuleSet {
    let mut draft = RuleSetDraft::from_json(predial::domain::rules::REGULATION_F_JSON).unwrap();
    let extra = RuleSetDraft::from_json(
        r#"{"controls": [
            {"id": "daily", "type": "PHONE", "max_total_contacts": 2, "period": "ROLLING_24_HOURS",
             "call_from": "09:00", "call_to": "20:00", "no_contact_weekdays": ["SUN"],
             "no_contact_on_holidays": true},
            {"id": "monthly", "type": "PHONE", "max_total_contacts": 9, "period": "MONTH",
             "rpc_codes": [4], "hold_for_days": 2}
        ], "holidays": ["2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"]}"#,
    )
    .unwrap();
    draft.controls.extend(extra.controls);
    draft.holidays = extra.holidays;
    RuleSet::compile(draft, 1).unwrap()
}

fn decide_at(
    rules: &RuleSet,
    profile: &predial::domain::Profile,
    own: &History,
    phone: PhoneNumber,
    at: DateTime<Utc>,
) -> predial::domain::Decision {
    let exclusions = predial::domain::Exclusions::default();
    let subject = predial::domain::Subject {
        profile,
        exclusions: &exclusions,
        opted_out: None,
        own,
        group: None,
        callback_active: false,
        do_not_call: None,
        leases: &[],
        reassigned: &[],
    };
    let req = predial::domain::Request {
        channel: Channel::Phone,
        mode: predial::domain::Mode::Auto,
        workflow: false,
        phone: Some(phone),
        purpose: None,
        operator_id: "",
        at,
        caller: None,
        rules_as_of: None,
    };
    predial::domain::decide(rules, Some(&subject), &req)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// With contacts before the instant asked about (the dialer's case) and after it (a
    /// question about the past), the answer's `next_allowed_at` is allowed, and every
    /// quarter hour between the request and it is still denied.
    #[test]
    fn next_allowed_at_is_allowed_and_no_quarter_hour_before_it_is(
        t in (1_767_225_600_000i64..1_798_761_600_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap()),
        tz in zone(),
        phone_zone in prop::option::of(zone()),
        massachusetts in any::<bool>(),
        calls in prop::collection::vec((-20i64 * 96..2 * 96, prop::sample::select(vec![1, 4, 6])), 0..16),
    ) {
        let rules = every_kind_of_time_rule();
        let phone = PhoneNumber::parse("+15551234567").unwrap();
        let consumer = predial::domain::Consumer {
            id: "c".into(),
            role: predial::domain::Role::Debtor,
            group_id: None,
            state: Some(if massachusetts { "MA" } else { "NY" }.into()),
            country: Some("US".into()),
            time_zone: Some(tz),
            address_time_zone: None,
            phones: vec![predial::domain::Phone { number: phone, time_zone: phone_zone, sms_authorized_at: None, consent_at: None }],
            emails: vec![],
            ssn_hash: None,
            postal_code: None, county: None,
        };
        let profile = predial::domain::Profile::of(&consumer);
        let recs = calls
            .iter()
            .map(|&(quarters, code)| ContactRec {
                at_ms: t.timestamp_millis() + quarters * 900_000,
                code,
                phone: phone.tag(),
                channel: Channel::Phone,
                kind: RecKind::Outbound,
            })
            .collect();
        let own = History::from_unsorted(recs, i64::MIN);
        let d = decide_at(&rules, &profile, &own, phone, t);
        if d.verdict == predial::domain::Verdict::Deny && let Some(next) = d.next_allowed_at {
            prop_assert!(next > t);
            let then = decide_at(&rules, &profile, &own, phone, next);
            prop_assert!(then.verdict != predial::domain::Verdict::Deny, "denied at {next}: {then:?}");
            let mut g = t + Duration::minutes(15);
            while g < next {
                let before = decide_at(&rules, &profile, &own, phone, g);
                prop_assert_eq!(before.verdict, predial::domain::Verdict::Deny, "allowed at {} before {}", g, next);
                g += Duration::minutes(15);
            }
        }
    }
}
