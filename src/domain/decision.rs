//! The decision function: may this consumer be contacted on this channel, now?
//!
//! [`decide`] is pure — the rule set, what is known of the consumer and the request go in,
//! a [`Decision`] comes out — so it is tested without a server and measured without a
//! network. The order is SPEC section 2's: an unknown consumer, then exclusions (never
//! overridable), then every applicable contact control (frequency, hold after a right party
//! contact, calling hours in every zone, restricted days), then the mode turns violations
//! into DENY (a machine dials) or PROMPT (a person dials).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use smallvec::SmallVec;

use super::consumer::Profile;
use super::exclusions::{Contacting, Exclusions, exclusion_findings, exclusion_message};
use super::history::History;
use super::hours::{RestrictedDay, Zones, next_inside, next_unrestricted, outside_in, restricted_in};
use super::kinds::{CallPurpose, Channel, Mode, ReasonCode, Verdict};
use super::lease::{OpenLease, in_flight};
use super::nanp;
use super::phone::PhoneNumber;
use super::rules::{ContactControl, RuleSet};
use super::time::{Clock, local_time, start_of_day, weekday_name};
use super::window::{Tally, frequency_clear_after, hold_release, tally};

/// What is known of the consumer a request is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub profile: &'a Profile,
    pub exclusions: &'a Exclusions,
    /// The request's number is excluded BY_CUSTOMER (a STOP reply).
    pub opted_out: bool,
    /// The consumer's own contacts.
    pub own: &'a History,
    /// The contacts of the consumer's whole group (own included), when it has one.
    pub group: Option<&'a History>,
    /// A scheduled callback lifts frequency and hold controls for the request's number.
    pub callback_active: bool,
    /// The request's number is on a Do Not Call list and the consumer gave no
    /// telemarketing consent for it. Looked up only for a request that consults the
    /// lists ([`Request::consults_do_not_call`]); false for any other.
    pub do_not_call: bool,
    /// The consumer's unsettled attempt leases (their records are in `own` and `group`
    /// too; this is what the in-flight rule reads).
    pub leases: &'a [OpenLease],
}

/// What the calling programs know of the request's caller ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerFacts {
    /// The purpose the caller ID is registered with.
    pub purpose: CallPurpose,
    /// Whether its program places calls at the request's instant.
    pub program_active: bool,
}

/// The request, validated.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub channel: Channel,
    pub mode: Mode,
    pub workflow: bool,
    pub phone: Option<PhoneNumber>,
    pub purpose: Option<CallPurpose>,
    pub operator_id: &'a str,
    pub at: DateTime<Utc>,
    /// The caller ID's registration, when it is one of a calling program's numbers.
    pub caller: Option<CallerFacts>,
}

impl Request<'_> {
    /// Whether the Do Not Call lists bear on this request: a call or text from a caller ID
    /// registered for telemarketing. Nothing else consults them, so nothing else needs
    /// the number looked up (a search of a list of millions, mostly out of cache).
    pub fn consults_do_not_call(&self) -> bool {
        matches!(self.channel, Channel::Phone | Channel::Text)
            && self.caller.is_some_and(|c| c.purpose == CallPurpose::Telemarketing)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: ReasonCode,
    pub control_id: Option<Arc<str>>,
    pub message: String,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// Contacts counted in the tightest window (the control closest to its maximum).
    pub attempts: u32,
    pub rpcs: u32,
    /// How many of `attempts` are unsettled leases.
    pub pending: u32,
    pub max_contacts: u32,
    /// The earliest instant at which the same request has no time-based violation; `None`
    /// when no time will help (an exclusion, an unknown consumer or time zone).
    pub next_allowed_at: Option<DateTime<Utc>>,
    pub rule_set_version: u64,
    /// For a PROMPT: what the agent is asked.
    pub prompt_text: Option<String>,
}

impl Decision {
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The contact-control findings, as one sentence ("7 calls in the last 7 days; the
    /// limit is 7"): what a prompt asks an agent to override.
    pub fn findings(&self) -> String {
        let mut text = String::new();
        for r in self.reasons.iter().filter(|r| r.code.is_contact_control()) {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(&r.message);
        }
        text
    }

    fn add(&mut self, code: ReasonCode, control: Option<&ContactControl>, message: String) {
        self.reasons.push(Reason {
            code,
            control_id: control.map(|c| c.id.clone()),
            message,
        });
    }
}

/// Decides `req` for `subject` (`None`: no such consumer) under `rules`.
pub fn decide(rules: &RuleSet, subject: Option<&Subject>, req: &Request) -> Decision {
    let mut d = Decision {
        rule_set_version: rules.version,
        ..Decision::default()
    };
    let Some(s) = subject else {
        d.verdict = Verdict::Deny;
        d.add(
            ReasonCode::UnknownConsumer,
            None,
            "No consumer with this id is on record.".into(),
        );
        return d;
    };
    let contacting = Contacting {
        channel: req.channel,
        mode: req.mode,
        workflow: req.workflow,
        phone: req.phone,
    };
    let mut excluded = false;
    for code in exclusion_findings(s.exclusions, s.opted_out, contacting) {
        excluded = true;
        d.add(code, None, exclusion_message(code).into());
    }
    if let Some(caller) = req
        .caller
        .filter(|_| matches!(req.channel, Channel::Phone | Channel::Text))
    {
        for (hit, code, message) in [
            (
                caller.purpose == CallPurpose::DoNotOriginate,
                ReasonCode::DoNotOriginate,
                "The caller ID is registered Do Not Originate: it never places calls.",
            ),
            (
                !caller.program_active,
                ReasonCode::ProgramNotActive,
                "The caller ID's calling program is not active now.",
            ),
            (
                req.consults_do_not_call() && s.do_not_call,
                ReasonCode::DoNotCallListed,
                "The number is on a Do Not Call list and the consumer gave no telemarketing consent.",
            ),
        ] {
            if hit {
                excluded = true;
                d.add(code, None, message.into());
            }
        }
    }

    // Two calls to one person at the same moment are never placed: while every in-flight
    // slot of the channel is held, the answer is DENY in every mode, until the earliest
    // lease expires at the latest (a settled lease frees its slot sooner).
    let in_flight_until = in_flight(s.leases, req.channel, req.at.timestamp_millis(), rules.max_in_flight);
    if let Some(until_ms) = in_flight_until {
        let until = DateTime::from_timestamp_millis(until_ms).unwrap_or(req.at);
        let open = s
            .leases
            .iter()
            .filter(|l| l.channel == req.channel && l.open_at(req.at.timestamp_millis()))
            .count();
        let message = sentence(format_args!(
            "{open} {} to this consumer {} in flight; the next is allowed once an outcome is recorded, at the latest at {}",
            req.channel.noun(open as u32),
            if open == 1 { "is" } else { "are" },
            until.format("%Y-%m-%d %H:%M:%S UTC"),
        ));
        d.add(ReasonCode::AttemptInFlight, None, message);
    }

    let ctx = Context::new(rules, s, req);
    let (mut violated, mut near, mut unknown_zone, mut needs_reauth) = (false, false, false, false);
    let mut tightest: Option<(u32, Tally, u32)> = None;
    // What each control found at `req.at`, so the search for `next_allowed_at` starts
    // from it instead of counting again.
    let mut found: SmallVec<[Found; 8]> = SmallVec::new();
    for control in ctx.controls() {
        let history = ctx.history_for(control);
        let counted = tally(control, history, req.at, ctx.day_zone);
        let max = control.max_total_contacts;
        let headroom = max.saturating_sub(counted.attempts);
        if tightest.is_none_or(|(h, ..)| headroom < h) {
            tightest = Some((headroom, counted, max));
        }
        if !ctx.lifted() {
            let mut at_t = Found {
                over: counted.attempts >= max,
                hold_release: None,
            };
            let noun = control.noun(counted.attempts);
            let phrase = control.period.phrase();
            if counted.attempts >= max {
                violated = true;
                let message = count_sentence(counted.attempts, noun, phrase, max, "");
                d.add(ReasonCode::MaxContacts, Some(control), message);
            } else if counted.attempts + 1 == max {
                near = true;
                let message = count_sentence(counted.attempts, noun, phrase, max, ", so this is the last one allowed");
                d.add(ReasonCode::NearMaxContacts, Some(control), message);
            }
            if req.channel == Channel::Phone {
                if let Some((rpc_day, release)) = hold_release(control, history, req.at, ctx.day_zone) {
                    at_t.hold_release = Some(release);
                    violated = true;
                    let message = sentence(format_args!(
                        "A right party contact on {} {rpc_day} holds calls through {} {}",
                        weekday_name(chrono::Datelike::weekday(&rpc_day)),
                        weekday_name(chrono::Datelike::weekday(&release.pred_opt().unwrap_or(release))),
                        release.pred_opt().unwrap_or(release),
                    ));
                    d.add(ReasonCode::HoldAfterRpc, Some(control), message);
                }
            }
            found.push(at_t);
        }
        if let Some(hours) = ctx.hours_of(control) {
            if ctx.zones.is_empty() {
                if !unknown_zone {
                    unknown_zone = true;
                    d.add(
                        ReasonCode::UnknownTimeZone,
                        Some(control),
                        "No time zone is known for this consumer or number, so calling hours cannot be checked.".into(),
                    );
                }
            } else if let Some(tz) = outside_in(hours, req.at, ctx.zones) {
                violated = true;
                let now = local_time(req.at, tz);
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
        if let (Channel::Text, Some(days)) = (req.channel, control.sms_reauth_days) {
            if let Some(message) = sms_reauth_finding(s.profile, req, days) {
                violated = true;
                needs_reauth = true;
                d.add(ReasonCode::SmsReauthRequired, Some(control), message);
            }
        }
        if control.has_restricted_days() {
            if let Some((tz, day)) = restricted_in(control, rules, req.at, ctx.day_zones()) {
                violated = true;
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

    if violated {
        let verdict = if req.mode == Mode::Auto {
            Verdict::Deny
        } else if rules.is_exempt(req.operator_id) {
            d.add(
                ReasonCode::SuppressedForOperator,
                None,
                format!(
                    "Operator {} is exempt from contact-control prompts; the findings are listed, not enforced.",
                    req.operator_id
                ),
            );
            Verdict::Allow
        } else {
            d.prompt_text = Some(prompt_text(&d, req.channel));
            Verdict::Prompt
        };
        d.verdict = d.verdict.max(verdict);
    } else if near {
        d.verdict = d.verdict.max(Verdict::Warn);
    }
    if unknown_zone || excluded || in_flight_until.is_some() {
        d.verdict = Verdict::Deny;
    }
    // No time helps a missing SMS authorization: only a new one does.
    d.next_allowed_at = if unknown_zone || needs_reauth {
        None
    } else if let Some(until_ms) = in_flight_until {
        // From the earliest expiry on, everything else must clear too; no time helps an
        // exclusion.
        DateTime::from_timestamp_millis(until_ms)
            .filter(|_| !excluded)
            .and_then(|until| ctx.clear_from(until.max(req.at), &[]))
    } else if violated {
        ctx.clear_from(req.at, &found)
    } else if excluded {
        None
    } else {
        Some(req.at)
    };
    d
}

/// The tightest count for `channel` at `at` (the ack of a recorded contact): contacts,
/// right party contacts and the maximum of the applicable control closest to its limit.
pub fn tightest_tally(rules: &RuleSet, subject: &Subject, channel: Channel, at: DateTime<Utc>) -> (Tally, u32) {
    let req = Request {
        channel,
        mode: Mode::Auto,
        workflow: false,
        phone: None,
        purpose: None,
        operator_id: "",
        at,
        caller: None,
    };
    let ctx = Context::new(rules, subject, &req);
    ctx.controls()
        .map(|c| (tally(c, ctx.history_for(c), at, ctx.day_zone), c.max_total_contacts))
        .min_by_key(|(t, max)| max.saturating_sub(t.attempts))
        .unwrap_or_default()
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
fn sentence(args: std::fmt::Arguments) -> String {
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

/// "7 calls in the last 7 days; the limit is 7 — call anyway?"
fn prompt_text(d: &Decision, channel: Channel) -> String {
    let question = if channel == Channel::Phone {
        " — call anyway?"
    } else {
        " — contact anyway?"
    };
    d.findings() + question
}

/// What one control found at one instant: at its maximum, and held after a right party
/// contact until the start of which local date.
#[derive(Debug, Clone, Copy)]
struct Found {
    over: bool,
    hold_release: Option<chrono::NaiveDate>,
}

/// What every step of one decision shares.
struct Context<'a> {
    rules: &'a RuleSet,
    subject: &'a Subject<'a>,
    req: &'a Request<'a>,
    /// The zone whose calendar days the periods count.
    day_zone: Tz,
    /// The zones calling hours are checked in.
    zones: Zones,
    /// The controls that bind this request, chosen once: a DENY walks them again for
    /// every step of its `next_allowed_at` search. Inline up to eight (no allocation).
    controls: SmallVec<[&'a ContactControl; 8]>,
}

impl<'a> Context<'a> {
    fn new(rules: &'a RuleSet, subject: &'a Subject<'a>, req: &'a Request<'a>) -> Self {
        let p = subject.profile;
        let phone_zone = req.phone.and_then(|n| p.phone(n)).and_then(|ph| ph.time_zone);
        let mut zones = Zones::of([phone_zone, p.time_zone, p.address_time_zone]);
        if zones.is_empty() {
            // No zone on record: every zone the number's area code spans.
            zones = Zones::of(req.phone.map_or(&[][..], nanp::zones_of).iter().copied().map(Some));
        }
        let controls = rules
            .controls
            .iter()
            .filter(|c| c.applies_to(req.channel, p.state, p.country, req.purpose))
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
    fn controls(&self) -> impl Iterator<Item = &'a ContactControl> + '_ {
        self.controls.iter().copied()
    }

    fn history_for(&self, control: &ContactControl) -> &'a History {
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
    fn clear_from(&self, t: DateTime<Utc>, found: &[Found]) -> Option<DateTime<Utc>> {
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
