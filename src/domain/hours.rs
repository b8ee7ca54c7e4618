//! Calling hours and restricted days across every time zone the consumer may be in.
//!
//! The relevant zones are the number's, the consumer's and the address's — every one that
//! is known — and a contact is inside the hours only when it is inside in all of them, so a
//! roaming number is callable only where the windows overlap.

use chrono::{DateTime, Datelike, Days, Utc};
use chrono_tz::Tz;

use super::rules::{CallingHours, ContactControl, RuleSet};
use super::time::{first_instant_at_or_after_on, local_date, local_time, start_of_day};

/// Up to four distinct zones, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Zones {
    list: [Option<Tz>; 4],
}

impl Zones {
    /// The distinct zones among `candidates`, in order (the first four).
    pub fn of(candidates: impl IntoIterator<Item = Option<Tz>>) -> Zones {
        let mut zones = Zones::default();
        let mut n = 0;
        for tz in candidates.into_iter().flatten() {
            if n < zones.list.len() && !zones.iter().any(|z| z == tz) {
                zones.list[n] = Some(tz);
                n += 1;
            }
        }
        zones
    }

    pub fn iter(&self) -> impl Iterator<Item = Tz> + '_ {
        self.list.iter().flatten().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.list[0].is_none()
    }
}

/// The first zone in which `t` is outside `hours`, if any.
pub fn outside_in(hours: CallingHours, t: DateTime<Utc>, zones: Zones) -> Option<Tz> {
    zones.iter().find(|&tz| !hours.contains(local_time(t, tz)))
}

/// The earliest instant ≥ `t` inside `hours` in every zone; `None` when the windows never
/// overlap (zones more than a window's width apart).
pub fn next_inside(hours: CallingHours, t: DateTime<Utc>, zones: Zones) -> Option<DateTime<Utc>> {
    if outside_in(hours, t, zones).is_none() {
        return Some(t);
    }
    // An overlap of windows begins where the last of them opens, so the answer is `t` or
    // the opening of some zone's window on one of the next few local days.
    // Day by day, every zone's opening; once one works, two more days cover zones whose
    // "today" is a local date ahead or behind (zones are less than two days apart).
    let mut today = [None; 4];
    for (slot, tz) in today.iter_mut().zip(zones.iter()) {
        *slot = Some((tz, local_date(t, tz)));
    }
    let mut best: Option<DateTime<Utc>> = None;
    let mut until = 8;
    let mut k = 0;
    while k <= until {
        for &(tz, date) in today.iter().flatten() {
            let opens = first_instant_at_or_after_on(date + Days::new(k), hours.from, tz);
            if opens > t && best.is_none_or(|b| opens < b) && outside_in(hours, opens, zones).is_none() {
                best = Some(opens);
                until = until.min(k + 2);
            }
        }
        k += 1;
    }
    best
}

/// Why `t` is a restricted day for `control` in one of `zones`: the zone and the day.
pub fn restricted_in(
    control: &ContactControl,
    rules: &RuleSet,
    t: DateTime<Utc>,
    zones: Zones,
) -> Option<(Tz, RestrictedDay)> {
    zones.iter().find_map(|tz| {
        let date = local_date(t, tz);
        if control.restricts_weekday(date.weekday()) {
            Some((tz, RestrictedDay::Weekday(date)))
        } else if control.no_contact_on_holidays && rules.is_holiday(date) {
            Some((tz, RestrictedDay::Holiday(date)))
        } else {
            None
        }
    })
}

/// A no-contact day, and which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestrictedDay {
    Weekday(chrono::NaiveDate),
    Holiday(chrono::NaiveDate),
}

/// The earliest instant ≥ `t` that is not a restricted day in any zone (within 60 days).
pub fn next_unrestricted(
    control: &ContactControl,
    rules: &RuleSet,
    t: DateTime<Utc>,
    zones: Zones,
) -> Option<DateTime<Utc>> {
    let mut candidates: Vec<DateTime<Utc>> = vec![t];
    for tz in zones.iter() {
        let today = local_date(t, tz);
        candidates.extend((1..=60).map(|k| start_of_day(today + Days::new(k), tz)));
    }
    candidates.sort();
    candidates
        .into_iter()
        .find(|&c| c >= t && restricted_in(control, rules, c, zones).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_time_of_day;
    use chrono_tz::America::{Los_Angeles, New_York};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hours(from: &str, to: &str) -> CallingHours {
        CallingHours {
            from: parse_time_of_day(from).unwrap(),
            to: parse_time_of_day(to).unwrap(),
        }
    }

    #[test]
    fn a_pacific_phone_on_an_eastern_account_is_callable_11_to_21_eastern() {
        let zones = Zones::of([Some(Los_Angeles), Some(New_York), None]);
        let h = hours("08:00", "21:00");
        // 10:59 Eastern = 07:59 Pacific: outside in Los Angeles.
        assert_eq!(outside_in(h, utc("2026-06-02T14:59:00Z"), zones), Some(Los_Angeles));
        assert_eq!(outside_in(h, utc("2026-06-02T15:00:00Z"), zones), None);
        // 20:59 Eastern inside, 21:00 Eastern outside.
        assert_eq!(outside_in(h, utc("2026-06-03T00:59:00Z"), zones), None);
        assert_eq!(outside_in(h, utc("2026-06-03T01:00:00Z"), zones), Some(New_York));
        // From 09:00 Eastern the earliest is 11:00 Eastern (08:00 Pacific).
        assert_eq!(
            next_inside(h, utc("2026-06-02T13:00:00Z"), zones),
            Some(utc("2026-06-02T15:00:00Z"))
        );
        // From 21:30 Eastern, 11:00 Eastern the next day.
        assert_eq!(
            next_inside(h, utc("2026-06-03T01:30:00Z"), zones),
            Some(utc("2026-06-03T15:00:00Z"))
        );
    }

    #[test]
    fn a_spring_forward_morning_opens_at_the_local_hour_in_daylight_time() {
        let zones = Zones::of([Some(New_York), None, None]);
        let h = hours("08:00", "21:00");
        // 2026-03-08: 07:30 EDT is 11:30 UTC; 08:00 EDT is 12:00 UTC (not 13:00 as in EST).
        assert!(outside_in(h, utc("2026-03-08T11:30:00Z"), zones).is_some());
        assert_eq!(
            next_inside(h, utc("2026-03-08T06:00:00Z"), zones),
            Some(utc("2026-03-08T12:00:00Z"))
        );
    }

    #[test]
    fn a_window_inside_the_skipped_hour_opens_when_the_clocks_jump() {
        let zones = Zones::of([Some(New_York), None, None]);
        let h = hours("02:30", "04:00");
        // No 02:30 exists on 2026-03-08; local 03:00 EDT (07:00 UTC) is the first instant after it.
        assert_eq!(
            next_inside(h, utc("2026-03-08T05:00:00Z"), zones),
            Some(utc("2026-03-08T07:00:00Z"))
        );
    }

    #[test]
    fn zones_are_deduplicated() {
        let z = Zones::of([Some(New_York), Some(New_York), None]);
        assert_eq!(z.iter().count(), 1);
        assert!(Zones::of([None, None, None]).is_empty());
    }

    #[test]
    fn windows_that_never_overlap_have_no_next_inside() {
        let zones = Zones::of([Some(chrono_tz::Asia::Tokyo), Some(New_York), None]);
        assert_eq!(
            next_inside(hours("09:00", "10:00"), utc("2026-06-02T13:00:00Z"), zones),
            None
        );
    }
}
