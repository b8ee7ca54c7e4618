//! The decision function: may this consumer be contacted on this channel, now?
//!
//! [`decide`] is pure — the rule set, what is known of the consumer and the request go in,
//! a [`Decision`] comes out — so it is tested without a server and measured without a
//! network. Its steps, in order (as `docs/decisions.md` describes them): an unknown
//! consumer; the exclusions and calling-program findings and a number reassigned since
//! consent (never overridable); emergency blackouts; a held
//! in-flight slot; what each applicable contact control finds (frequency, hold after a
//! right party contact, calling hours in every zone, SMS re-authorization, restricted days
//! — in `findings.rs`); the verdict, where the mode turns violations into DENY (a machine
//! dials) or PROMPT (a person dials); and the next allowed time.

use chrono::{DateTime, Utc};

pub use super::answer::{Decision, Reason};
use super::exclusions::{Contacting, exclusion_findings, exclusion_message};
use super::findings::{Context, ControlFindings, control_findings, sentence};
use super::kinds::{CallPurpose, Channel, Mode, ReasonCode, Verdict};
use super::lease::in_flight;
use super::reassigned::{reassigned_message, reassigned_since_consent};
pub use super::request::{CallerFacts, Request, Subject};
use super::revocation::RevocationScope;
use super::rules::RuleSet;
use super::window::{Tally, tally};

/// Decides `req` for `subject` (`None`: no such consumer) under `rules`, in the order the
/// module doc gives: each step adds its reasons to the decision, and the last two read
/// what the others found.
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
    let excluded = exclusions_step(&mut d, s, req, rules.revocation_scope()) | reassigned_step(&mut d, s, req);
    // An emergency blackout blocks like a call in flight: until an instant, and then the
    // controls must clear too.
    let blackout_until = blackout_step(&mut d, rules, s, req);
    let in_flight_until = in_flight_step(&mut d, s, req, rules.max_in_flight).max(blackout_until);
    let ctx = Context::new(rules, s, req);
    let found = control_findings(&mut d, &ctx);
    let blocked = Blocked {
        excluded,
        in_flight_until,
        unknown_zone: found.unknown_zone,
    };
    verdict_step(&mut d, rules, req, &found, &blocked);
    d.next_allowed_at = next_allowed_step(&ctx, &found, &blocked);
    d
}

/// What stands in the way whatever the controls say.
struct Blocked {
    /// An exclusion or a calling-program finding: no time helps.
    excluded: bool,
    /// Every in-flight slot of the channel is held, until this instant at the latest.
    in_flight_until: Option<i64>,
    /// Calling hours bind and no zone is known.
    unknown_zone: bool,
}

/// Exclusions and calling-program findings (never overridable): whether there were any.
fn exclusions_step(d: &mut Decision, s: &Subject, req: &Request, scope: RevocationScope) -> bool {
    let contacting = Contacting {
        channel: req.channel,
        mode: req.mode,
        workflow: req.workflow,
        phone: req.phone,
    };
    let mut excluded = false;
    let opted_out = s.opted_out.is_some_and(|o| o.binds(scope, req.effective_purpose()));
    for code in exclusion_findings(s.exclusions, opted_out, contacting) {
        excluded = true;
        d.add(code, None, exclusion_message(code).into());
    }
    let Some(caller) = req
        .caller
        .filter(|_| matches!(req.channel, Channel::Phone | Channel::Text))
    else {
        return excluded;
    };
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
    ] {
        if hit {
            excluded = true;
            d.add(code, None, message.into());
        }
    }
    if let Some(list) = s.do_not_call.filter(|_| req.consults_do_not_call()) {
        excluded = true;
        let message =
            format!("The number is on the Do Not Call list {list:?} and the consumer gave no telemarketing consent.");
        d.add(ReasonCode::DoNotCallListed, None, message);
    }
    excluded
}

/// A call or text to a number the Reassigned Numbers Database says was disconnected on or
/// after the consent to call it: whoever answers now never consented. Never overridable.
fn reassigned_step(d: &mut Decision, s: &Subject, req: &Request) -> bool {
    // Most numbers have no answer: no consent day to look up for them.
    let Some(phone) = req
        .phone
        .filter(|_| req.consults_reassigned() && !s.reassigned.is_empty())
    else {
        return false;
    };
    let consent_day = s.consent_day(phone);
    let Some(answer) = reassigned_since_consent(s.reassigned, consent_day) else {
        return false;
    };
    d.add(
        ReasonCode::ReassignedNumber,
        None,
        reassigned_message(answer, consent_day),
    );
    true
}

/// Emergency orders over the consumer's place at the request's instant: each a DENY
/// reason, never overridable. Answers when the last of them ends.
fn blackout_step(d: &mut Decision, rules: &RuleSet, s: &Subject, req: &Request) -> Option<i64> {
    // Most rule sets have none: nothing to build for them.
    if rules.blackouts.is_empty() {
        return None;
    }
    let at = s.profile.whereabouts();
    let purpose = req.effective_purpose();
    let at_ms = req.at.timestamp_millis();
    let mut until = None;
    for b in rules
        .blackouts
        .iter()
        .filter(|b| b.binds(at_ms, req.channel, purpose, &at))
    {
        // The reason names the order where a control's id would stand.
        d.reasons.push(Reason {
            code: ReasonCode::EmergencyBlackout,
            control_id: Some(b.id.clone()),
            message: b.message(),
        });
        until = until.max(Some(b.to.timestamp_millis()));
    }
    until
}

/// Two calls to one person at the same moment are never placed: while every in-flight
/// slot of the channel is held, the answer is DENY in every mode, until the earliest lease
/// expires at the latest (a settled lease frees its slot sooner). Answers that instant.
fn in_flight_step(d: &mut Decision, s: &Subject, req: &Request, max_in_flight: u32) -> Option<i64> {
    let until_ms = in_flight(s.leases, req.channel, req.at.timestamp_millis(), max_in_flight)?;
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
    Some(until_ms)
}

/// The verdict: a contact-control violation is DENY when a machine dials, PROMPT when a
/// person does (ALLOW, the findings kept, for an exempt operator); the last contact allowed
/// is WARN; an exclusion, a held in-flight slot or an unknown zone is DENY whatever else.
fn verdict_step(d: &mut Decision, rules: &RuleSet, req: &Request, found: &ControlFindings, blocked: &Blocked) {
    if found.violated {
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
            d.prompt_text = Some(prompt_text(d, req.channel));
            Verdict::Prompt
        };
        d.verdict = d.verdict.max(verdict);
    } else if found.near {
        d.verdict = d.verdict.max(Verdict::Warn);
    }
    if blocked.unknown_zone || blocked.excluded || blocked.in_flight_until.is_some() {
        d.verdict = Verdict::Deny;
    }
}

/// The earliest instant the same request would be allowed, assuming no further contacts;
/// `None` when no time helps (an exclusion, an unknown zone, a missing SMS authorization).
fn next_allowed_step(ctx: &Context, found: &ControlFindings, blocked: &Blocked) -> Option<DateTime<Utc>> {
    let at = ctx.req.at;
    if blocked.unknown_zone || found.needs_reauth || found.needs_check {
        None
    } else if let Some(until_ms) = blocked.in_flight_until {
        // From the earliest expiry on, everything else must clear too; no time helps an
        // exclusion.
        DateTime::from_timestamp_millis(until_ms)
            .filter(|_| !blocked.excluded)
            .and_then(|until| ctx.clear_from(until.max(at), &[]))
    } else if found.violated {
        ctx.clear_from(at, &found.at_t)
    } else if blocked.excluded {
        None
    } else {
        Some(at)
    }
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
        rules_as_of: None,
    };
    let ctx = Context::new(rules, subject, &req);
    ctx.controls()
        .map(|c| (tally(c, ctx.history_for(c), at, ctx.day_zone), c.max_total_contacts))
        .min_by_key(|(t, max)| max.saturating_sub(t.attempts))
        .unwrap_or_default()
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
