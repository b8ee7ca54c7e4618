//! Rule sets: contact controls, holidays and exempt operators.
//!
//! A rule set arrives as a [`RuleSetDraft`] — from `PutRuleSet`, from a `--rules` JSON file
//! or from the shipped preset — and is checked whole by [`RuleSet::compile`], which names
//! every field that is wrong. Only a compiled [`RuleSet`] is ever active, so the decision
//! path never re-parses a time or re-checks a code list.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::consumer::Region;
use super::consumer::Whereabouts;
use super::error::{FieldError, FieldErrors};
use super::history::{ContactRec, RecKind};
use super::kinds::{CallPurpose, Channel, ChannelSet, Period};
use super::lease_settings as settings;
use super::place::Places;
use super::time::{format_time_of_day, parse_date, parse_time_of_day, parse_weekday};

/// A contact control as written by a person: strings for times, days and regions.
///
/// Field names and meanings are those of `predial.v1.ContactControl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlDraft {
    pub id: String,
    #[serde(rename = "type")]
    pub channel: Option<Channel>,
    pub description: String,
    pub state: String,
    pub country: String,
    pub max_total_contacts: u32,
    pub period: Option<Period>,
    pub apply_to_group: bool,
    pub hold_for_days: u32,
    pub attempt_codes: Vec<i32>,
    pub rpc_codes: Vec<i32>,
    pub non_attempt_codes: Vec<i32>,
    pub call_from: String,
    pub call_to: String,
    pub validation_report: String,
    pub validation_business_days: u32,
    pub validation_calendar_days: u32,
    pub sms_reauth_days: u32,
    pub call_purposes: Vec<CallPurpose>,
    pub also_channels: Vec<Channel>,
    pub no_contact_weekdays: Vec<String>,
    pub no_contact_on_holidays: bool,
    pub exclude_consented_calls: bool,
    pub postal_codes: Vec<String>,
    pub counties: Vec<String>,
    pub require_reassigned_check: bool,
    /// 0 means 31.
    pub reassigned_check_max_age_days: u32,
}

/// A rule set as written by a person. `version` is the server's to set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSetDraft {
    pub controls: Vec<ControlDraft>,
    pub holidays: Vec<String>,
    pub exempt_operator_ids: Vec<String>,
    /// How long an attempt lease holds its in-flight slot; 0 means 900 (15 minutes).
    pub lease_seconds: u32,
    /// Open leases one consumer may have at once, per channel; 0 means 1.
    pub max_in_flight: u32,
    /// Result codes meaning "wrong number": such an outcome excludes the number BY_USER
    /// for its consumer.
    pub wrong_number_codes: Vec<i32>,
    /// What a consumer's STOP binds.
    pub revocation_scope: super::revocation::RevocationScope,
    /// Emergency orders suspending contacts in a place for a time.
    pub blackouts: Vec<super::blackout::BlackoutDraft>,
}

impl RuleSetDraft {
    /// Reads a rule file (JSON, the field names of `predial.v1.RuleSet`).
    pub fn from_json(text: &str) -> Result<RuleSetDraft, FieldErrors> {
        serde_json::from_str(text).map_err(|e| FieldError::new("rules", e.to_string()).into())
    }
}

/// Which recorded calls a PHONE control counts, and which of them are right party contacts.
///
/// The lists are answered through two bit sets for codes 0–63 (where dialers' result codes
/// live), computed once; other codes take the lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRule {
    pub attempt: Vec<i32>,
    pub rpc: Vec<i32>,
    pub non_attempt: Vec<i32>,
    counted: u64,
    rpcs: u64,
}

impl Default for CodeRule {
    /// Every call counts; none is a right party contact.
    fn default() -> Self {
        CodeRule::new(Vec::new(), Vec::new(), Vec::new())
    }
}

impl CodeRule {
    pub fn new(attempt: Vec<i32>, rpc: Vec<i32>, non_attempt: Vec<i32>) -> CodeRule {
        let mut rule = CodeRule {
            attempt,
            rpc,
            non_attempt,
            counted: 0,
            rpcs: 0,
        };
        for code in 0..64 {
            rule.counted |= (rule.counts_by_list(code) as u64) << code;
            rule.rpcs |= (rule.rpc.contains(&code) as u64) << code;
        }
        rule
    }

    /// Whether a call with `code` counts toward the control's maximum:
    /// listed in `attempt` or `rpc`; with both empty, every call — except, when
    /// `non_attempt` is set, the codes it lists (busy, failed, not in service…).
    pub fn counts(&self, code: i32) -> bool {
        match u32::try_from(code) {
            Ok(bit) if bit < 64 => self.counted >> bit & 1 == 1,
            _ => self.counts_by_list(code),
        }
    }

    fn counts_by_list(&self, code: i32) -> bool {
        if self.rpc.contains(&code) || self.attempt.contains(&code) {
            return true;
        }
        if !self.non_attempt.is_empty() {
            return self.attempt.is_empty() && !self.non_attempt.contains(&code);
        }
        self.attempt.is_empty() && self.rpc.is_empty()
    }

    pub fn is_rpc(&self, code: i32) -> bool {
        match u32::try_from(code) {
            Ok(bit) if bit < 64 => self.rpcs >> bit & 1 == 1,
            _ => self.rpc.contains(&code),
        }
    }
}

/// Local calling hours: `from <= local time < to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingHours {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl CallingHours {
    pub fn contains(&self, local: NaiveTime) -> bool {
        self.from <= local && local < self.to
    }
}

/// Letters, emails and texts: the validation notice period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRule {
    pub report: String,
    pub business_days: u32,
    pub calendar_days: u32,
}

/// A compiled contact control.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactControl {
    pub id: Arc<str>,
    /// The control's `type`.
    pub channel: Channel,
    /// `type` and every one of `also_channels`: the contacts that count together.
    pub channels: ChannelSet,
    pub description: String,
    pub state: Option<Region>,
    pub country: Option<Region>,
    pub max_total_contacts: u32,
    pub period: Period,
    pub apply_to_group: bool,
    pub hold_for_days: u32,
    pub codes: CodeRule,
    pub hours: Option<CallingHours>,
    pub validation: Option<ValidationRule>,
    pub sms_reauth_days: Option<u32>,
    /// Empty: every purpose, and requests with none.
    pub purposes: Vec<CallPurpose>,
    /// Bit `n` set: weekday `n` (Monday = 0) is a no-contact day.
    pub no_contact_weekdays: u8,
    pub no_contact_on_holidays: bool,
    /// Contacts placed with the consumer's recent consent do not count toward the cap.
    pub exclude_consented_calls: bool,
    /// Postal-code prefixes and counties it binds (empty: anywhere in its state/country).
    pub places: super::place::Places,
    /// A number needs an answer of the Reassigned Numbers Database about the time since
    /// consent, checked at most this many days ago (`None`: no check required).
    pub reassigned_check_days: Option<u32>,
}

impl ContactControl {
    /// Whether this control binds a request on `channel` to a consumer `at` a place for
    /// `purpose` (`docs/decisions.md`, "Which controls apply").
    pub fn applies_to(&self, channel: Channel, at: &Whereabouts, purpose: Option<CallPurpose>) -> bool {
        self.channels.contains(channel)
            && self.binds_place(at)
            && (self.purposes.is_empty() || purpose.is_some_and(|p| self.purposes.contains(&p)))
    }

    /// Whether the consumer's state, country, postal code and county are this control's.
    pub fn binds_place(&self, at: &Whereabouts) -> bool {
        // Both sides are upper-cased `Region`s: a three-byte compare, no string to walk.
        fn region_matches(rule: Option<Region>, consumer: Option<Region>) -> bool {
            rule.is_none() || rule == consumer
        }
        region_matches(self.state, at.state)
            && region_matches(self.country, at.country)
            && self.places.binds(at.postal_code, at.county)
    }

    /// Whether a recorded contact counts toward `max_total_contacts`.
    /// An unsettled lease counts as one contact of its channel, whatever the codes say.
    pub fn counts(&self, rec: &ContactRec) -> bool {
        self.channels.contains(rec.channel)
            && match rec.kind {
                RecKind::Outbound => rec.channel != Channel::Phone || self.codes.counts(rec.code),
                RecKind::Consented => {
                    !self.exclude_consented_calls && (rec.channel != Channel::Phone || self.codes.counts(rec.code))
                }
                RecKind::Inbound => false,
                RecKind::Lease => true,
            }
    }

    /// Whether a recorded contact is a right party contact (inbound ones too; a lease
    /// never is: its outcome is not known yet).
    pub fn is_rpc(&self, rec: &ContactRec) -> bool {
        rec.channel == Channel::Phone && rec.kind != RecKind::Lease && self.codes.is_rpc(rec.code)
    }

    pub fn restricts_weekday(&self, day: Weekday) -> bool {
        self.no_contact_weekdays & (1 << day.num_days_from_monday()) != 0
    }

    /// Whether any weekday or holiday restriction is set.
    pub fn has_restricted_days(&self) -> bool {
        self.no_contact_weekdays != 0 || self.no_contact_on_holidays
    }

    /// The noun for `n` of the contacts this control counts.
    pub fn noun(&self, n: u32) -> &'static str {
        if self.channels.len() > 1 {
            if n == 1 { "contact" } else { "contacts" }
        } else {
            self.channel.noun(n)
        }
    }
}

/// An active, versioned rule set.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub version: u64,
    pub controls: Vec<ContactControl>,
    /// Sorted.
    pub holidays: Vec<NaiveDate>,
    pub exempt_operator_ids: Vec<String>,
    /// Days of history a decision under these rules can look back on.
    pub retention_days: u32,
    /// How long an attempt lease holds its in-flight slot, in milliseconds.
    pub lease_ms: i64,
    /// Open leases one consumer may have at once, per channel (at least 1).
    pub max_in_flight: u32,
    /// Emergency orders in force at some time.
    pub blackouts: Vec<super::blackout::Blackout>,
    /// The draft it was compiled from, normalised: what `GetRuleSet` answers.
    pub draft: RuleSetDraft,
    /// Who put this version, why, and when it binds.
    pub meta: RuleSetMeta,
}

/// Who put a version, why, and when it binds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSetMeta {
    /// Who put it: the request's operator, else the token's name.
    pub operator_id: String,
    pub change_reason: String,
    /// When it was asked to take effect (none: at once).
    pub effective_at: Option<DateTime<Utc>>,
    /// When it took, or takes, effect: the later of `effective_at` and the put. The epoch
    /// for versions stored before versions had dates (they bind in number order).
    pub activated_at: DateTime<Utc>,
    /// The version may leave a channel without a control that the version in force had.
    pub allow_uncontrolled_channels: bool,
}

/// The Regulation F preset shipped with predial (`rules/regulation-f.json`).
pub const REGULATION_F_JSON: &str = include_str!("../../rules/regulation-f.json");

impl RuleSet {
    /// Checks `draft` whole and compiles it, or names every field that is wrong. Long on
    /// purpose: the whole rule set's checks in the order of its fields.
    pub fn compile(draft: RuleSetDraft, version: u64) -> Result<RuleSet, FieldErrors> {
        let mut errors = Vec::new();
        let mut controls = Vec::with_capacity(draft.controls.len());
        for (i, c) in draft.controls.iter().enumerate() {
            let field = format!("controls[{i}]");
            if draft.controls[..i].iter().any(|o| o.id.trim() == c.id.trim()) && !c.id.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("{field}.id"),
                    format!("{:?} is used twice", c.id),
                ));
            }
            match compile_control(c) {
                Ok(ctl) => controls.push(ctl),
                Err(es) => errors.extend(es.into_iter().map(|e| e.within(&field))),
            }
        }
        let mut holidays = Vec::with_capacity(draft.holidays.len());
        for (i, h) in draft.holidays.iter().enumerate() {
            match parse_date(h) {
                Ok(d) => holidays.push(d),
                Err(m) => errors.push(FieldError::new(format!("holidays[{i}]"), m)),
            }
        }
        holidays.sort();
        holidays.dedup();
        let mut exempt = Vec::new();
        for (i, op) in draft.exempt_operator_ids.iter().enumerate() {
            match super::consumer::validate_id(op, &format!("exempt_operator_ids[{i}]")) {
                Ok(op) => exempt.push(op.to_string()),
                Err(e) => errors.push(e),
            }
        }
        let lease_seconds = match draft.lease_seconds {
            0 => settings::DEFAULT_LEASE_SECONDS,
            s => s,
        };
        if !(settings::MIN_LEASE_SECONDS..=settings::MAX_LEASE_SECONDS).contains(&lease_seconds) {
            errors.push(FieldError::new(
                "lease_seconds",
                format!(
                    "must be 0 (the default, {}) or {} to {}",
                    settings::DEFAULT_LEASE_SECONDS,
                    settings::MIN_LEASE_SECONDS,
                    settings::MAX_LEASE_SECONDS
                ),
            ));
        }
        let max_in_flight = match draft.max_in_flight {
            0 => settings::DEFAULT_MAX_IN_FLIGHT,
            n => n,
        };
        if max_in_flight > settings::MAX_MAX_IN_FLIGHT {
            errors.push(FieldError::new(
                "max_in_flight",
                format!(
                    "must be 0 (the default, {}) or 1 to {}",
                    settings::DEFAULT_MAX_IN_FLIGHT,
                    settings::MAX_MAX_IN_FLIGHT
                ),
            ));
        }
        let mut blackouts = Vec::with_capacity(draft.blackouts.len());
        for (i, b) in draft.blackouts.iter().enumerate() {
            match super::blackout::Blackout::compile(b) {
                Ok(b) => blackouts.push(b),
                Err(es) => errors.extend(es.into_iter().map(|e| e.within(&format!("blackouts[{i}]")))),
            }
        }
        for (i, code) in draft.wrong_number_codes.iter().enumerate() {
            if let Some(c) = controls.iter().find(|c| c.codes.is_rpc(*code)) {
                errors.push(FieldError::new(
                    format!("wrong_number_codes[{i}]"),
                    format!(
                        "{code} is a right party contact in control {:?}'s rpc_codes; a wrong number reached no one",
                        &*c.id
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(FieldErrors(errors));
        }
        let retention_days = controls
            .iter()
            .map(|c| c.period.max_days().max(c.hold_for_days))
            .max()
            .unwrap_or(0)
            + 2;
        let draft = normalise(draft, &controls, &holidays, &exempt);
        Ok(RuleSet {
            version,
            controls,
            holidays,
            exempt_operator_ids: exempt,
            retention_days,
            lease_ms: i64::from(lease_seconds) * 1000,
            max_in_flight,
            blackouts,
            draft,
            meta: RuleSetMeta::default(),
        })
    }

    /// The shipped Regulation F preset, as version `version`.
    pub fn regulation_f(version: u64) -> RuleSet {
        let draft = RuleSetDraft::from_json(REGULATION_F_JSON).expect("the shipped preset parses");
        RuleSet::compile(draft, version).expect("the shipped preset is valid")
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    pub fn revocation_scope(&self) -> super::revocation::RevocationScope {
        self.draft.revocation_scope
    }

    /// Whether a recorded outcome's code says the number reached the wrong person.
    pub fn is_wrong_number(&self, code: i32) -> bool {
        self.draft.wrong_number_codes.contains(&code)
    }

    pub fn is_exempt(&self, operator_id: &str) -> bool {
        !operator_id.is_empty() && self.exempt_operator_ids.iter().any(|o| o == operator_id)
    }
}

/// Checks and compiles one control, field by field; every error is collected, not just
/// the first. Long on purpose: one short check per field of the rule format, in the
/// order `docs/rules.md` lists them.
fn compile_control(c: &ControlDraft) -> Result<ContactControl, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |field: &str, msg: String| errors.push(FieldError::new(field, msg));

    let id = c.id.trim();
    if let Err(e) = super::consumer::validate_id(id, "id") {
        err("id", e.message);
    }
    let channel = c.channel;
    if channel.is_none() {
        err("type", "is required (PHONE, TEXT, EMAIL or LETTER)".into());
    }
    let channel = channel.unwrap_or(Channel::Phone);
    if c.max_total_contacts < 1 {
        err("max_total_contacts", "must be at least 1".into());
    }
    let period = c.period;
    if period.is_none() {
        err("period", "is required (DAY, WEEK, MONTH or ROLLING_24_HOURS)".into());
    }
    let state = super::consumer::validate_region(&c.state, "state", 3).unwrap_or_else(|e| {
        err("state", e.message);
        None
    });
    let country = super::consumer::validate_region(&c.country, "country", 2).unwrap_or_else(|e| {
        err("country", e.message);
        None
    });
    for (i, also) in c.also_channels.iter().enumerate() {
        if *also == channel || c.also_channels[..i].contains(also) {
            err(&format!("also_channels[{i}]"), format!("{also:?} is listed twice"));
        }
    }
    let channels = ChannelSet::of(std::iter::once(channel).chain(c.also_channels.iter().copied()));
    let phone = channels.contains(Channel::Phone);

    if !phone
        && (c.hold_for_days > 0
            || !c.attempt_codes.is_empty()
            || !c.rpc_codes.is_empty()
            || !c.non_attempt_codes.is_empty())
    {
        err(
            "type",
            "hold_for_days and result codes apply to PHONE controls only".into(),
        );
    }
    if !c.attempt_codes.is_empty() && !c.non_attempt_codes.is_empty() {
        err("non_attempt_codes", "cannot be set together with attempt_codes".into());
    }
    if let Some(code) = c.rpc_codes.iter().find(|code| c.non_attempt_codes.contains(code)) {
        err(
            "non_attempt_codes",
            format!("lists {code}, which rpc_codes lists as a right party contact"),
        );
    }
    if c.hold_for_days > 0 && c.rpc_codes.is_empty() {
        err("rpc_codes", "are required when hold_for_days is set".into());
    }
    if c.hold_for_days > 366 {
        err("hold_for_days", "must be at most 366".into());
    }

    let hours = match (c.call_from.trim(), c.call_to.trim()) {
        ("", "") => None,
        (from, to) => {
            let from = parse_time_of_day(from).map_err(|m| err("call_from", m)).ok();
            let to = parse_time_of_day(to).map_err(|m| err("call_to", m)).ok();
            match (from, to) {
                (Some(from), Some(to)) if from < to => Some(CallingHours { from, to }),
                (Some(_), Some(_)) => {
                    err("call_to", "must be later than call_from".into());
                    None
                }
                _ => None,
            }
        }
    };
    if hours.is_some() && !phone && !channels.contains(Channel::Text) {
        err(
            "call_from",
            "calling hours apply to PHONE and TEXT controls only".into(),
        );
    }
    let validation = match c.validation_report.trim() {
        "" => None,
        report => Some(ValidationRule {
            report: report.to_string(),
            business_days: c.validation_business_days,
            calendar_days: c.validation_calendar_days,
        }),
    };
    if validation.is_none() && (c.validation_business_days > 0 || c.validation_calendar_days > 0) {
        err("validation_report", "is required when validation days are set".into());
    }
    let sms_reauth_days = (c.sms_reauth_days > 0).then_some(c.sms_reauth_days);
    if sms_reauth_days.is_some() && !channels.contains(Channel::Text) {
        err("sms_reauth_days", "applies to TEXT controls only".into());
    }
    let reassigned_check_days = reassigned_check(c, channels, &mut err);
    let mut weekdays = 0u8;
    for (i, day) in c.no_contact_weekdays.iter().enumerate() {
        match parse_weekday(day) {
            Ok(d) => weekdays |= 1 << d.num_days_from_monday(),
            Err(m) => err(&format!("no_contact_weekdays[{i}]"), m),
        }
    }
    let places = Places::parse(&c.postal_codes, &c.counties).unwrap_or_else(|es| {
        for e in es {
            err(&e.field, e.message);
        }
        Places::default()
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ContactControl {
        id: Arc::from(id),
        channel,
        channels,
        description: c.description.clone(),
        state: state.as_deref().and_then(Region::new),
        country: country.as_deref().and_then(Region::new),
        max_total_contacts: c.max_total_contacts,
        period: period.expect("checked above"),
        apply_to_group: c.apply_to_group,
        hold_for_days: c.hold_for_days,
        codes: CodeRule::new(
            c.attempt_codes.clone(),
            c.rpc_codes.clone(),
            c.non_attempt_codes.clone(),
        ),
        hours,
        validation,
        sms_reauth_days,
        purposes: c.call_purposes.clone(),
        no_contact_weekdays: weekdays,
        no_contact_on_holidays: c.no_contact_on_holidays,
        exclude_consented_calls: c.exclude_consented_calls,
        places,
        reassigned_check_days,
    })
}

/// The Reassigned Numbers Database check a control requires: for calls and texts only, at
/// most ten years old; a maximum age without the requirement is a mistake said, not ignored.
fn reassigned_check(c: &ControlDraft, channels: ChannelSet, err: &mut impl FnMut(&str, String)) -> Option<u32> {
    if !c.require_reassigned_check {
        if c.reassigned_check_max_age_days > 0 {
            err(
                "reassigned_check_max_age_days",
                "is set but require_reassigned_check is not".into(),
            );
        }
        return None;
    }
    if !channels.contains(Channel::Phone) && !channels.contains(Channel::Text) {
        err(
            "require_reassigned_check",
            "applies to PHONE and TEXT controls only".into(),
        );
    }
    if c.reassigned_check_max_age_days > 3650 {
        err("reassigned_check_max_age_days", "must be at most 3650".into());
    }
    Some(match c.reassigned_check_max_age_days {
        0 => super::reassigned::DEFAULT_MAX_AGE_DAYS,
        days => days,
    })
}

/// The draft as `GetRuleSet` shows it: ids trimmed, regions upper case, times and days
/// in their canonical spelling.
fn normalise(
    mut draft: RuleSetDraft,
    controls: &[ContactControl],
    holidays: &[NaiveDate],
    exempt: &[String],
) -> RuleSetDraft {
    for (d, c) in draft.controls.iter_mut().zip(controls) {
        d.id = c.id.to_string();
        d.state = c.state.as_ref().map_or("", Region::as_str).to_string();
        d.country = c.country.as_ref().map_or("", Region::as_str).to_string();
        d.call_from = c.hours.map(|h| format_time_of_day(h.from)).unwrap_or_default();
        d.call_to = c.hours.map(|h| format_time_of_day(h.to)).unwrap_or_default();
        d.validation_report = d.validation_report.trim().to_string();
        d.no_contact_weekdays = d
            .no_contact_weekdays
            .iter()
            .map(|w| w.trim().to_ascii_uppercase())
            .collect();
    }
    draft.holidays = holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
    draft.exempt_operator_ids = exempt.to_vec();
    draft
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control() -> ControlDraft {
        ControlDraft {
            id: "c".into(),
            channel: Some(Channel::Phone),
            max_total_contacts: 7,
            period: Some(Period::Week),
            ..Default::default()
        }
    }

    fn errors_of(c: ControlDraft) -> Vec<String> {
        let draft = RuleSetDraft {
            controls: vec![c],
            ..Default::default()
        };
        RuleSet::compile(draft, 1)
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.field.clone())
            .collect()
    }

    #[test]
    fn the_shipped_regulation_f_preset_compiles() {
        let rules = RuleSet::regulation_f(1);
        let calls = &rules.controls[0];
        assert_eq!(
            (calls.max_total_contacts, calls.period, calls.hold_for_days),
            (7, Period::Week, 7)
        );
        assert!(calls.codes.is_rpc(4) && calls.codes.is_rpc(101));
        for uncounted in [6, 109, 110, 112, 120, 124, 125, 126, 127, 128] {
            assert!(!calls.codes.counts(uncounted), "{uncounted}");
        }
        for counted in [1, 2, 3, 4, 101, 111, 123, 129] {
            assert!(calls.codes.counts(counted), "{counted}");
        }
        assert!(rules.controls.iter().any(|c| c.state == Region::new("MA")));
    }

    #[test]
    fn codes_count_as_the_spec_says() {
        let every = CodeRule::default();
        assert!(every.counts(42));
        let listed = CodeRule::new(vec![1, 700], vec![4], vec![]);
        assert!(listed.counts(1) && listed.counts(4) && !listed.counts(2));
        assert!(listed.counts(700) && !listed.counts(701) && !listed.counts(-1));
        assert!(listed.is_rpc(4) && !listed.is_rpc(1));
        let only_rpc = CodeRule::new(vec![], vec![4, 99], vec![]);
        assert!(only_rpc.counts(4) && only_rpc.counts(99) && !only_rpc.counts(1));
        assert!(only_rpc.is_rpc(99));
        let all_but = CodeRule::new(vec![], vec![], vec![6, 80]);
        assert!(all_but.counts(1) && !all_but.counts(6) && !all_but.counts(80) && all_but.counts(-3));
    }

    #[test]
    fn bad_fields_are_each_named() {
        assert_eq!(
            errors_of(ControlDraft {
                max_total_contacts: 0,
                ..control()
            }),
            ["controls[0].max_total_contacts"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                call_from: "25:00".into(),
                call_to: "21:00".into(),
                ..control()
            }),
            ["controls[0].call_from"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                call_from: "21:00".into(),
                call_to: "08:00".into(),
                ..control()
            }),
            ["controls[0].call_to"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                channel: None,
                ..control()
            }),
            ["controls[0].type"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                period: None,
                ..control()
            }),
            ["controls[0].period"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                no_contact_weekdays: vec!["Sunday".into()],
                ..control()
            }),
            ["controls[0].no_contact_weekdays[0]"]
        );
        assert_eq!(
            errors_of(ControlDraft {
                state: "Massachusetts".into(),
                ..control()
            }),
            ["controls[0].state"]
        );
    }

    #[test]
    fn every_error_of_a_rule_set_is_reported_at_once() {
        let draft = RuleSetDraft {
            controls: vec![
                control(),
                ControlDraft {
                    max_total_contacts: 0,
                    ..control()
                },
            ],
            holidays: vec!["2026-13-01".into()],
            ..Default::default()
        };
        let fields: Vec<String> = RuleSet::compile(draft, 1)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["controls[1].id", "controls[1].max_total_contacts", "holidays[0]"]
        );
    }

    #[test]
    fn lease_settings_default_when_zero_and_are_bounded() {
        let with = |lease_seconds, max_in_flight| {
            RuleSet::compile(
                RuleSetDraft {
                    controls: vec![control()],
                    lease_seconds,
                    max_in_flight,
                    ..Default::default()
                },
                1,
            )
        };
        let defaults = with(0, 0).unwrap();
        assert_eq!((defaults.lease_ms, defaults.max_in_flight), (900_000, 1));
        let set = with(30, 16).unwrap();
        assert_eq!((set.lease_ms, set.max_in_flight), (30_000, 16));
        assert!(with(86_400, 1).is_ok());
        let fields =
            |r: Result<RuleSet, FieldErrors>| r.unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(with(29, 0)), ["lease_seconds"]);
        assert_eq!(fields(with(86_401, 17)), ["lease_seconds", "max_in_flight"]);
    }

    #[test]
    fn retention_covers_the_longest_window_and_hold() {
        let draft = RuleSetDraft {
            controls: vec![
                ControlDraft {
                    period: Some(Period::Month),
                    ..control()
                },
                ControlDraft {
                    id: "h".into(),
                    hold_for_days: 45,
                    rpc_codes: vec![4],
                    ..control()
                },
            ],
            ..Default::default()
        };
        assert_eq!(RuleSet::compile(draft, 1).unwrap().retention_days, 47);
    }

    #[test]
    fn a_consented_call_is_not_counted_where_the_control_excludes_it_but_still_holds() {
        use crate::domain::history::{ContactRec, RecKind};
        let compile = |exclude: bool| {
            let draft = RuleSetDraft {
                controls: vec![ControlDraft {
                    attempt_codes: vec![1, 4],
                    rpc_codes: vec![4],
                    hold_for_days: 7,
                    exclude_consented_calls: exclude,
                    ..control()
                }],
                ..Default::default()
            };
            RuleSet::compile(draft, 1).unwrap()
        };
        let rec = |code, kind| ContactRec {
            at_ms: 0,
            code,
            phone: 0,
            channel: Channel::Phone,
            kind,
        };
        let excluding = compile(true);
        let c = &excluding.controls[0];
        assert!(!c.counts(&rec(1, RecKind::Consented)));
        assert!(c.counts(&rec(1, RecKind::Outbound)));
        assert!(c.is_rpc(&rec(4, RecKind::Consented)), "a conversation holds either way");
        assert!(compile(false).controls[0].counts(&rec(1, RecKind::Consented)));
    }

    #[test]
    fn a_wrong_number_code_may_not_be_a_right_party_contact() {
        let draft = |codes: Vec<i32>| RuleSetDraft {
            controls: vec![ControlDraft {
                rpc_codes: vec![4],
                ..control()
            }],
            wrong_number_codes: codes,
            ..Default::default()
        };
        let rules = RuleSet::compile(draft(vec![5, 115]), 1).unwrap();
        assert!(rules.is_wrong_number(115) && !rules.is_wrong_number(4));
        let refused = RuleSet::compile(draft(vec![5, 4]), 1).unwrap_err();
        assert_eq!(refused.0[0].field, "wrong_number_codes[1]");
    }
}
