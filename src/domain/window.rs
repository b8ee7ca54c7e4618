//! Counting windows: which contacts a control's period covers at an instant, how many of
//! them count, the hold after a right party contact, and when each clears.
//!
//! Calendar periods (DAY, WEEK, MONTH) are whole local dates in the consumer's zone, so a
//! contact later on the same local date counts too (a dialer whose clock runs ahead cannot
//! slip an eighth call past the seventh). ROLLING_24_HOURS is the exact interval
//! (t − 24 h, t].

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;

use super::history::{History, RecKind};
use super::kinds::Period;
use super::rules::ContactControl;
use super::time::{local_date, start_of_day, start_of_day_ms};

const DAY_MS: i64 = 86_400_000;

/// How far ahead a search for a clear day looks before it gives up (a year and a month).
const SEARCH_DAYS: u64 = 400;

/// The half-open interval `[from_ms, to_ms)` that `period` covers at instant `t`.
pub fn window(period: Period, t: DateTime<Utc>, day_zone: Tz) -> (i64, i64) {
    match period {
        Period::Rolling24Hours => {
            let ms = t.timestamp_millis();
            (ms - DAY_MS + 1, ms + 1)
        }
        _ => window_on(period, local_date(t, day_zone), day_zone),
    }
}

/// The interval a calendar period covers on local date `d`.
fn window_on(period: Period, d: NaiveDate, day_zone: Tz) -> (i64, i64) {
    let start = |d: NaiveDate| start_of_day_ms(d, day_zone);
    let next = d + Days::new(1);
    match period {
        Period::Day | Period::Rolling24Hours => (start(d), start(next)),
        Period::Week => (start(d - Days::new(6)), start(next)),
        Period::Month => {
            let first = d.with_day(1).expect("day 1 exists");
            (start(first), start(first + Months::new(1)))
        }
    }
}

/// How many contacts `control` counts in `[from, to)`.
fn attempts_in(control: &ContactControl, history: &History, (from, to): (i64, i64)) -> u32 {
    history.between(from, to).iter().filter(|r| control.counts(r)).count() as u32
}

/// Contacts a control counts in a window, how many of them were right party contacts, and
/// how many of them are unsettled attempt leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub attempts: u32,
    pub rpcs: u32,
    pub pending: u32,
}

/// Counts what `control` counts in `history` over its period at `t`.
pub fn tally(control: &ContactControl, history: &History, t: DateTime<Utc>, day_zone: Tz) -> Tally {
    let (from, to) = window(control.period, t, day_zone);
    let mut tally = Tally::default();
    for rec in history.between(from, to) {
        let counted = control.counts(rec);
        tally.attempts += counted as u32;
        tally.rpcs += control.is_rpc(rec) as u32;
        tally.pending += (counted && rec.kind == RecKind::Lease) as u32;
    }
    tally
}

/// The earliest instant ≥ `t` at which `control` is under its maximum, assuming no further
/// contacts; `None` when none is found within a year.
pub fn frequency_clear_from(
    control: &ContactControl,
    history: &History,
    t: DateTime<Utc>,
    day_zone: Tz,
) -> Option<DateTime<Utc>> {
    if tally(control, history, t, day_zone).attempts < control.max_total_contacts {
        return Some(t);
    }
    frequency_clear_after(control, history, t, day_zone)
}

/// [`frequency_clear_from`] for a caller that already knows `control` is at its maximum
/// at `t` (a decision has just counted): the search alone.
pub fn frequency_clear_after(
    control: &ContactControl,
    history: &History,
    t: DateTime<Utc>,
    day_zone: Tz,
) -> Option<DateTime<Utc>> {
    let max = control.max_total_contacts;
    let under = |at: DateTime<Utc>| tally(control, history, at, day_zone).attempts < max;
    match control.period {
        Period::Rolling24Hours => {
            // The count only falls when a contact leaves the window, 24 h after it happened.
            let (from, to) = window(Period::Rolling24Hours, t, day_zone);
            history
                .between(from, to)
                .iter()
                .filter(|r| control.counts(r))
                .filter_map(|r| DateTime::from_timestamp_millis(r.at_ms + DAY_MS))
                .find(|&at| at > t && under(at))
        }
        _ => {
            // Day by day from tomorrow, each day's window taken from its date (no
            // instant-to-date conversion per day; the next date by `succ`, the cheap step).
            let mut d = local_date(t, day_zone);
            for _ in 0..SEARCH_DAYS {
                d = d.succ_opt()?;
                if attempts_in(control, history, window_on(control.period, d, day_zone)) < max {
                    return Some(start_of_day(d, day_zone));
                }
            }
            None
        }
    }
}

/// When `control` holds calls at `t` after a right party contact: the local date calls
/// are allowed again (RPC on local date r → held while d < r + hold_for_days).
pub fn hold_release(
    control: &ContactControl,
    history: &History,
    t: DateTime<Utc>,
    day_zone: Tz,
) -> Option<(NaiveDate, NaiveDate)> {
    if control.hold_for_days == 0 {
        return None;
    }
    let d = local_date(t, day_zone);
    let hold = Days::new(control.hold_for_days as u64);
    let earliest = start_of_day_ms(d - hold, day_zone);
    let end = start_of_day_ms(d + Days::new(1), day_zone);
    let rpc = history
        .between(earliest, end)
        .iter()
        .rev()
        .find(|r| control.is_rpc(r))?;
    let r = local_date(DateTime::from_timestamp_millis(rpc.at_ms)?, day_zone);
    let release = r + hold;
    (d < release).then_some((r, release))
}

/// How far back from an instant the rules' windows and holds can look, in milliseconds:
/// `retention_days` local days plus a day for the widest zone offset.
pub fn reach_ms(retention_days: u32) -> i64 {
    (retention_days as i64 + 1) * DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::ContactRec;
    use crate::domain::kinds::Channel;
    use crate::domain::rules::{ControlDraft, RuleSet, RuleSetDraft};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn control(period: Period, max: u32) -> ContactControl {
        let draft = RuleSetDraft {
            controls: vec![ControlDraft {
                id: "c".into(),
                channel: Some(Channel::Phone),
                max_total_contacts: max,
                period: Some(period),
                hold_for_days: 7,
                rpc_codes: vec![4],
                non_attempt_codes: vec![6],
                ..Default::default()
            }],
            ..Default::default()
        };
        RuleSet::compile(draft, 1).unwrap().controls.remove(0)
    }

    fn calls(times: &[&str], code: i32) -> History {
        History::from_unsorted(
            times
                .iter()
                .map(|t| ContactRec {
                    at_ms: utc(t).timestamp_millis(),
                    code,
                    phone: 0,
                    channel: Channel::Phone,
                    kind: RecKind::Outbound,
                })
                .collect(),
            i64::MIN,
        )
    }

    const NY: Tz = chrono_tz::America::New_York;

    #[test]
    fn a_week_is_seven_local_dates_ending_today() {
        let (from, to) = window(Period::Week, utc("2026-06-10T15:00:00Z"), NY);
        assert_eq!(
            DateTime::from_timestamp_millis(from).unwrap(),
            utc("2026-06-04T04:00:00Z")
        );
        assert_eq!(
            DateTime::from_timestamp_millis(to).unwrap(),
            utc("2026-06-11T04:00:00Z")
        );
    }

    #[test]
    fn a_month_is_the_local_calendar_month() {
        let (from, to) = window(Period::Month, utc("2026-03-01T03:00:00Z"), NY);
        // 22:00 on Feb 28 in New York.
        assert_eq!(
            DateTime::from_timestamp_millis(from).unwrap(),
            utc("2026-02-01T05:00:00Z")
        );
        assert_eq!(
            DateTime::from_timestamp_millis(to).unwrap(),
            utc("2026-03-01T05:00:00Z")
        );
    }

    #[test]
    fn rolling_24_hours_excludes_the_contact_exactly_a_day_old() {
        let c = control(Period::Rolling24Hours, 3);
        let h = calls(&["2026-06-01T12:00:00Z", "2026-06-01T18:00:00Z"], 1);
        assert_eq!(tally(&c, &h, utc("2026-06-02T11:59:59Z"), NY).attempts, 2);
        assert_eq!(tally(&c, &h, utc("2026-06-02T12:00:00Z"), NY).attempts, 1);
    }

    #[test]
    fn a_full_week_clears_the_day_its_oldest_call_leaves_the_window() {
        let c = control(Period::Week, 2);
        let h = calls(&["2026-06-01T14:00:00Z", "2026-06-03T14:00:00Z"], 1);
        let t = utc("2026-06-04T14:00:00Z");
        // June 1 leaves a window ending on June 8 (June 2 … June 8).
        assert_eq!(frequency_clear_from(&c, &h, t, NY), Some(utc("2026-06-08T04:00:00Z")));
    }

    #[test]
    fn a_full_rolling_day_clears_24_hours_after_its_oldest_call() {
        let c = control(Period::Rolling24Hours, 2);
        let h = calls(&["2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"], 1);
        let t = utc("2026-06-01T12:00:00Z");
        assert_eq!(frequency_clear_from(&c, &h, t, NY), Some(utc("2026-06-02T10:00:00Z")));
    }

    #[test]
    fn the_spec_hold_example_monday_june_1_holds_through_sunday_june_7() {
        let c = control(Period::Week, 7);
        let h = calls(&["2026-06-01T15:00:00Z"], 4);
        let june = |d| NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
        assert_eq!(
            hold_release(&c, &h, utc("2026-06-07T23:00:00Z"), NY),
            Some((june(1), june(8)))
        );
        assert_eq!(hold_release(&c, &h, utc("2026-06-08T04:00:00Z"), NY), None);
        assert_eq!(
            hold_release(
                &c,
                &calls(&["2026-06-01T15:00:00Z"], 1),
                utc("2026-06-02T15:00:00Z"),
                NY
            ),
            None
        );
    }
}
