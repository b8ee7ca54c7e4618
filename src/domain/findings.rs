//! What each contact control finds about one request: the counts against its maximum, the
//! hold after a right party contact, calling hours in every zone, SMS re-authorization and
//! restricted days — one step each, in that order, for every control that binds the
//! request — and the search for the earliest instant they all clear.
//!
//! [`control_findings`] adds each finding to the decision as a reason and answers what the
//! verdict and the `next_allowed_at` steps of the decision function read.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use smallvec::SmallVec;

use super::answer::Decision;
use super::consumer::Profile;
use super::history::History;
use super::hours::{RestrictedDay, Zones, next_inside, next_unrestricted, outside_in, restricted_in};
use super::kinds::{Channel, ReasonCode};
use super::nanp;
use super::reassigned;
use super::request::{Request, Subject};
use super::rules::{ContactControl, RuleSet};
use super::time::{Clock, local_time, start_of_day, weekday_name};
use super::window::{Tally, frequency_clear_after, hold_release, tally};

/// What the controls found, for the verdict and the next allowed time.
#[derive(Default)]
pub(super) struct ControlFindings {
    /// A contact-control violation: DENY when a machine dials, PROMPT when a person does.
    pub violated: bool,
    /// This contact is the last one some control allows: WARN.
    pub near: bool,
    /// Calling hours bind, and no zone is known to check them in.
    pub unknown_zone: bool,
    /// A text needs a new SMS authorization (no time helps).
    pub needs_reauth: bool,
    /// The number needs a fresh check of the Reassigned Numbers Database (no time helps:
    /// an import does).
    pub needs_check: bool,
    /// What each control found at the request's instant, so the search for
    /// `next_allowed_at` starts from it instead of counting again (empty when a callback
    /// lifts frequency and hold).
    pub at_t: SmallVec<[Found; 8]>,
}

/// Runs every control's steps, adding their reasons to `d`, and sets `d`'s counts to the
/// tightest control's (the one closest to its maximum).
pub(super) fn control_findings(d: &mut Decision, ctx: &Context) -> ControlFindings {
    let mut found = ControlFindings::default();
    let mut tightest: Option<(u32, Tally, u32)> = None;
    for control in ctx.controls() {
        let history = ctx.history_for(control);
        let counted = tally(control, history, ctx.req.at, ctx.day_zone);
        let headroom = control.max_total_contacts.saturating_sub(counted.attempts);
        if tightest.is_none_or(|(h, ..)| headroom < h) {
            tightest = Some((headroom, counted, control.max_total_contacts));
        }
        if !ctx.lifted() {
            let at_t = frequency_and_hold(d, ctx, control, history, counted, &mut found);
            found.at_t.push(at_t);
        }
        calling_hours(d, ctx, control, &mut found);
        sms_reauthorization(d, ctx, control, &mut found);
        reassigned_check(d, ctx, control, &mut found);
        restricted_days(d, ctx, control, &mut found);
    }
    if ctx.lifted() {
        d.add(
            ReasonCode::CallbackOverride,
            None,
            "The consumer asked to be called back: frequency and hold limits are lifted for this number.".into(),
        );
    }
    if let Some((_, counted, max)) = tightest {
        (d.attempts, d.rpcs, d.pending, d.max_contacts) = (counted.attempts, counted.rpcs, counted.pending, max);
    }
    found
}

/// The count against the maximum (violation at it, WARN one below), and for calls the hold
/// after a right party contact.
fn frequency_and_hold(
    d: &mut Decision,
    ctx: &Context,
    control: &ContactControl,
    history: &History,
    counted: Tally,
    found: &mut ControlFindings,
) -> Found {
    let max = control.max_total_contacts;
    let mut at_t = Found {
        over: counted.attempts >= max,
        hold_release: None,
    };
    let noun = control.noun(counted.attempts);
    let phrase = control.period.phrase();
    if counted.attempts >= max {
        found.violated = true;
        let message = count_sentence(counted.attempts, noun, phrase, max, "");
        d.add(ReasonCode::MaxContacts, Some(control), message);
    } else if counted.attempts + 1 == max {
        found.near = true;
        let message = count_sentence(counted.attempts, noun, phrase, max, ", so this is the last one allowed");
        d.add(ReasonCode::NearMaxContacts, Some(control), message);
    }
    if ctx.req.channel == Channel::Phone
        && let Some((rpc_day, release)) = hold_release(control, history, ctx.req.at, ctx.day_zone)
    {
        at_t.hold_release = Some(release);
        found.violated = true;
        let message = sentence(format_args!(
            "A right party contact on {} {rpc_day} holds calls through {} {}",
            weekday_name(chrono::Datelike::weekday(&rpc_day)),
            weekday_name(chrono::Datelike::weekday(&release.pred_opt().unwrap_or(release))),
            release.pred_opt().unwrap_or(release),
        ));
        d.add(ReasonCode::HoldAfterRpc, Some(control), message);
    }
    at_t
}

/// Calling hours in every relevant zone; no zone known is said once, whatever the number
/// of controls with hours.
fn calling_hours(d: &mut Decision, ctx: &Context, control: &ContactControl, found: &mut ControlFindings) {
    let Some(hours) = ctx.hours_of(control) else { return };
    if ctx.zones.is_empty() {
        if !found.unknown_zone {
            found.unknown_zone = true;
            d.add(
                ReasonCode::UnknownTimeZone,
                Some(control),
                "No time zone is known for this consumer or number, so calling hours cannot be checked.".into(),
            );
        }
    } else if let Some(tz) = outside_in(hours, ctx.req.at, ctx.zones) {
        found.violated = true;
        let now = local_time(ctx.req.at, tz);
        let message = sentence(format_args!(
            "It is {} in {tz}; {} are allowed {}–{} local time",
            Clock(now),
            control.noun(2),
            Clock(hours.from),
            Clock(hours.to),
        ));
        d.add(ReasonCode::OutsideCallingHours, Some(control), message);
    }
}

/// A text to a number whose SMS authorization is missing or too old.
fn sms_reauthorization(d: &mut Decision, ctx: &Context, control: &ContactControl, found: &mut ControlFindings) {
    if let (Channel::Text, Some(days)) = (ctx.req.channel, control.sms_reauth_days)
        && let Some(message) = sms_reauth_finding(ctx.subject.profile, ctx.req, days)
    {
        found.violated = true;
        found.needs_reauth = true;
        d.add(ReasonCode::SmsReauthRequired, Some(control), message);
    }
}

/// A call or text to a number without the fresh Reassigned Numbers Database answer the
/// control requires. A YES is not this: it is the exclusion `REASSIGNED_NUMBER` already.
fn reassigned_check(d: &mut Decision, ctx: &Context, control: &ContactControl, found: &mut ControlFindings) {
    let (Some(days), Some(phone)) = (control.reassigned_check_days, ctx.req.phone) else {
        return;
    };
    // The decision's reassigned step has already read a YES since consent.
    if !ctx.req.consults_reassigned() || d.has(ReasonCode::ReassignedNumber) {
        return;
    }
    let consent_day = ctx.subject.consent_day(phone);
    if let Some(why) = reassigned::missing_check(ctx.subject.reassigned, consent_day, ctx.req.at, days) {
        found.violated = true;
        found.needs_check = true;
        d.add(ReasonCode::ReassignedCheckMissing, Some(control), why);
    }
}

/// A no-contact weekday or holiday in any relevant zone.
fn restricted_days(d: &mut Decision, ctx: &Context, control: &ContactControl, found: &mut ControlFindings) {
    if !control.has_restricted_days() {
        return;
    }
    if let Some((tz, day)) = restricted_in(control, ctx.rules, ctx.req.at, ctx.day_zones()) {
        found.violated = true;
        let message = match day {
            RestrictedDay::Weekday(date) => format!(
                "{} {date} is a no-contact day in {tz}",
                weekday_name(chrono::Datelike::weekday(&date))
            ),
            RestrictedDay::Holiday(date) => format!("{date} is a holiday in {tz}; no contact on holidays"),
        };
        d.add(ReasonCode::RestrictedDay, Some(control), message);
    }
}

/// Why a text to the request's number needs a new SMS authorization, if it does: none is on
/// record, or the last is `days` days old or older at the request's instant.
fn sms_reauth_finding(profile: &Profile, req: &Request, days: u32) -> Option<String> {
    let phone = req.phone?;
    let authorized = profile.phone(phone).and_then(|p| p.sms_authorized_at_ms());
    match authorized {
        None => Some(format!("{phone} has no SMS authorization on record")),
        Some(ms) if req.at.timestamp_millis() >= ms + days as i64 * 86_400_000 => {
            let when = DateTime::from_timestamp_millis(ms)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            Some(format!(
                "{phone} was authorized for texts on {when}; authorization lapses after {days} days"
            ))
        }
        Some(_) => None,
    }
}

/// Writes a finding's sentence into a buffer sized for it at once: `format!` guesses
/// small and grows, and a DENY writes several sentences.
pub(super) fn sentence(args: std::fmt::Arguments) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(112);
    text.write_fmt(args).expect("writing to a String cannot fail");
    text
}

/// "7 calls in the last 7 days; the limit is 7" and a `tail`: the frequency finding, the
/// one every DENY and WARN at a limit writes, put together without the `fmt` machinery.
fn count_sentence(count: u32, noun: &str, phrase: &str, max: u32, tail: &str) -> String {
    let mut numbers = (itoa::Buffer::new(), itoa::Buffer::new());
    let mut text = String::with_capacity(112);
    for part in [
        numbers.0.format(count),
        " ",
        noun,
        " in ",
        phrase,
        "; the limit is ",
        numbers.1.format(max),
        tail,
    ] {
        text.push_str(part);
    }
    text
}

/// What one control found at one instant: at its maximum, and held after a right party
/// contact until the start of which local date.
#[derive(Debug, Clone, Copy)]
pub(super) struct Found {
    over: bool,
    hold_release: Option<chrono::NaiveDate>,
}

/// What every step of one decision shares.
pub(super) struct Context<'a> {
    rules: &'a RuleSet,
    subject: &'a Subject<'a>,
    pub req: &'a Request<'a>,
    /// The zone whose calendar days the periods count.
    pub day_zone: Tz,
    /// The zones calling hours are checked in.
    zones: Zones,
    /// The controls that bind this request, chosen once: a DENY walks them again for
    /// every step of its `next_allowed_at` search. Inline up to eight (no allocation).
    controls: SmallVec<[&'a ContactControl; 8]>,
}

impl<'a> Context<'a> {
    pub(super) fn new(rules: &'a RuleSet, subject: &'a Subject<'a>, req: &'a Request<'a>) -> Self {
        let p = subject.profile;
        let phone_zone = req.phone.and_then(|n| p.phone(n)).and_then(|ph| ph.time_zone);
        let mut zones = Zones::of([phone_zone, p.time_zone, p.address_time_zone]);
        if zones.is_empty() {
            // No zone on record: every zone the number's area code spans.
            zones = Zones::of(req.phone.map_or(&[][..], nanp::zones_of).iter().copied().map(Some));
        }
        let at = p.whereabouts();
        let controls = rules
            .controls
            .iter()
            .filter(|c| c.applies_to(req.channel, &at, req.purpose))
            .collect();
        Context {
            rules,
            subject,
            req,
            day_zone: p.day_zone(),
            zones,
            controls,
        }
    }

    /// The controls that bind this request.
    pub(super) fn controls(&self) -> impl Iterator<Item = &'a ContactControl> + '_ {
        self.controls.iter().copied()
    }

    pub(super) fn history_for(&self, control: &ContactControl) -> &'a History {
        match (control.apply_to_group, self.subject.group) {
            (true, Some(group)) => group,
            _ => self.subject.own,
        }
    }

    /// Whether a callback lifts frequency and hold controls for this request.
    fn lifted(&self) -> bool {
        self.subject.callback_active && self.req.channel == Channel::Phone
    }

    fn hours_of(&self, control: &ContactControl) -> Option<super::rules::CallingHours> {
        control
            .hours
            .filter(|_| matches!(self.req.channel, Channel::Phone | Channel::Text))
    }

    /// Restricted days are judged in the calling-hours zones, or the day zone when none.
    fn day_zones(&self) -> Zones {
        if self.zones.is_empty() {
            Zones::of([Some(self.day_zone), None, None])
        } else {
            self.zones
        }
    }

    /// The earliest instant ≥ `t` with no frequency, hold, calling-hours or restricted-day
    /// violation, assuming no further contacts. Each constraint names the earliest instant
    /// it allows; moving to the latest of them may run into another (a morning that is a
    /// Sunday), so repeat until all agree.
    ///
    /// `found` is what each control found at `t` (frequency and hold; empty when lifted).
    ///
    /// When no contact is later than `t` (the usual case: a dialer asks about now), counts
    /// and holds only ever fall as time moves on: a window slides past contacts and no new
    /// ones enter it, and the latest right party contact stays the latest. So once the first
    /// step has named when each frequency and hold control clears, any later instant is
    /// clear of them too, and the steps after it recheck only calling hours and restricted
    /// days. A contact after `t` (a question about the past) can raise a count again, and
    /// then every step rechecks everything.
    pub(super) fn clear_from(&self, t: DateTime<Utc>, found: &[Found]) -> Option<DateTime<Utc>> {
        let t_ms = t.timestamp_millis();
        let settled_after_first_step = [Some(self.subject.own), self.subject.group]
            .into_iter()
            .flatten()
            .all(|h| h.newest_ms().is_none_or(|newest| newest <= t_ms));
        let mut at = t;
        for _ in 0..32 {
            let mut next = at;
            let counts_checked = at != t && settled_after_first_step;
            for (i, control) in self.controls().enumerate() {
                let history = self.history_for(control);
                if !self.lifted() && !counts_checked {
                    let here = match found.get(i) {
                        Some(known) if at == t => *known,
                        _ => Found {
                            over: tally(control, history, at, self.day_zone).attempts >= control.max_total_contacts,
                            hold_release: (self.req.channel == Channel::Phone)
                                .then(|| hold_release(control, history, at, self.day_zone))
                                .flatten()
                                .map(|(_, release)| release),
                        },
                    };
                    if here.over {
                        next = next.max(frequency_clear_after(control, history, at, self.day_zone)?);
                    }
                    if self.req.channel == Channel::Phone
                        && let Some(release) = here.hold_release
                    {
                        next = next.max(start_of_day(release, self.day_zone));
                    }
                }
                if let Some(hours) = self.hours_of(control) {
                    next = next.max(next_inside(hours, at, self.zones)?);
                }
                if control.has_restricted_days() {
                    next = next.max(next_unrestricted(control, self.rules, at, self.day_zones())?);
                }
            }
            if next == at {
                return Some(at);
            }
            at = next;
        }
        None
    }
}
