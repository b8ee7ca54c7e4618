//! Where a consumer stands under each contact control at an instant: what the customer
//! card shows beside the limits — the contacts the control counts in its current window,
//! the right party contacts among them, and the hold a right party contact started.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::consumer::Whereabouts;
use super::history::History;
use super::rules::{ContactControl, RuleSet};
use super::window::{Tally, hold_release, tally, window};

/// One control's counts for one consumer.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlStanding<'a> {
    /// Its index in the rules' controls.
    pub index: usize,
    pub control: &'a ContactControl,
    pub tally: Tally,
    /// The window counted, in milliseconds: `[from, to)`.
    pub window_ms: (i64, i64),
    /// The local date calls are allowed again after a right party contact, while held.
    pub held_until: Option<NaiveDate>,
}

/// Every control of `rules` whose place binds a consumer `at` one (a control for some
/// purposes only is listed too: it binds those calls), counted over
/// `own` — or `group` for a control that counts a group together — at `at`.
pub fn standing<'a>(
    rules: &'a RuleSet,
    at_place: &Whereabouts,
    own: &History,
    group: Option<&History>,
    at: DateTime<Utc>,
    day_zone: Tz,
) -> Vec<ControlStanding<'a>> {
    rules
        .controls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.binds_place(at_place))
        .map(|(index, control)| {
            let history = match group {
                Some(g) if control.apply_to_group => g,
                _ => own,
            };
            ControlStanding {
                index,
                control,
                tally: tally(control, history, at, day_zone),
                window_ms: window(control.period, at, day_zone),
                held_until: hold_release(control, history, at, day_zone).map(|(_, release)| release),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::history::{ContactRec, RecKind};
    use crate::domain::kinds::Channel;

    fn call(at: &str, code: i32) -> ContactRec {
        ContactRec {
            at_ms: at.parse::<DateTime<Utc>>().unwrap().timestamp_millis(),
            code,
            phone: 0,
            channel: Channel::Phone,
            kind: RecKind::Outbound,
        }
    }

    #[test]
    fn each_binding_control_counts_its_window_and_says_how_long_a_hold_lasts() {
        let rules = RuleSet::regulation_f(1);
        let codes = &rules.controls[0].codes;
        let attempt = (0..200).find(|c| codes.counts(*c) && !codes.is_rpc(*c)).unwrap();
        let rpc = (0..200).find(|c| codes.is_rpc(*c)).unwrap();
        let history = History::from_unsorted(
            vec![
                call("2026-05-28T14:00:00Z", attempt),
                call("2026-05-30T14:00:00Z", attempt),
                call("2026-06-01T14:00:00Z", rpc),
            ],
            i64::MIN,
        );
        let at: DateTime<Utc> = "2026-06-02T15:00:00Z".parse().unwrap();
        let zone = chrono_tz::America::New_York;
        let ny = Whereabouts {
            state: crate::domain::Region::new("NY"),
            country: crate::domain::Region::new("US"),
            ..Default::default()
        };
        let all = standing(&rules, &ny, &history, None, at, zone);
        let phone = all.iter().find(|s| s.control.channel == Channel::Phone).unwrap();
        assert_eq!((phone.tally.attempts, phone.tally.rpcs), (3, 1));
        assert!(phone.window_ms.0 < history.between(i64::MIN, i64::MAX)[0].at_ms);
        if phone.control.hold_for_days > 0 {
            assert!(phone.held_until.is_some(), "an RPC yesterday holds calls");
        }
    }
}
