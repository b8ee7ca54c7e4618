//! Protobuf ↔ domain, both ways, in one place.
//!
//! Inbound conversions validate and name the offending field (`phones[1].number`), so the
//! API answers INVALID_ARGUMENT before anything changes. The store encodes its records with
//! the same messages: protobuf reads old records after fields are added, which makes
//! upgrades of a data directory safe.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;

use crate::domain::consumer::{validate_id, validate_region};
use crate::domain::evidence::{Evidence, EvidenceKind};
use crate::domain::lease::AttemptId;
use crate::domain::place::PostalCode;
use crate::domain::programs::Program;
use crate::domain::rules::{ControlDraft, RuleSet, RuleSetDraft, RuleSetMeta};
use crate::domain::time::parse_zone;
use crate::domain::{self, Channel, Consumer, Contact, FieldError, Phone, PhoneNumber, Verdict};
use crate::proto::v1 as pb;

/// A domain enum with a protobuf twin whose zero value is `UNSPECIFIED`.
pub trait WireEnum: Sized + Copy {
    /// `Ok(None)` for UNSPECIFIED; an error message for a value the enum does not have.
    fn from_wire(value: i32) -> Result<Option<Self>, String>;
    fn to_wire(self) -> i32;
}

macro_rules! wire_enum {
    ($name:ident { $($variant:ident),* $(,)? }) => {
        impl WireEnum for domain::$name {
            fn from_wire(value: i32) -> Result<Option<Self>, String> {
                match pb::$name::try_from(value) {
                    Ok(pb::$name::Unspecified) => Ok(None),
                    $(Ok(pb::$name::$variant) => Ok(Some(domain::$name::$variant)),)*
                    Err(_) => Err(format!("{value} is not a {} value", stringify!($name))),
                }
            }
            fn to_wire(self) -> i32 {
                match self {
                    $(domain::$name::$variant => pb::$name::$variant as i32,)*
                }
            }
        }
    };
}

wire_enum!(Channel {
    Phone,
    Text,
    Email,
    Letter
});
wire_enum!(Mode {
    Auto,
    Manual,
    ClickToDial
});
wire_enum!(Verdict {
    Allow,
    Warn,
    Prompt,
    Deny
});
wire_enum!(Period {
    Day,
    Week,
    Month,
    Rolling24Hours
});
wire_enum!(Role { Debtor, Cosigner });
wire_enum!(RevocationScope {
    AllPurposes,
    SamePurpose
});
wire_enum!(ExcludedBy { Customer, User });

// The contract's values carry the prefix `REASSIGNED_ANSWER_`, not the enum's own name, so
// prost keeps it in the variants' names.
impl WireEnum for domain::ReassignedAnswerKind {
    fn from_wire(value: i32) -> Result<Option<Self>, String> {
        use domain::ReassignedAnswerKind as K;
        match pb::ReassignedAnswerKind::try_from(value) {
            Ok(pb::ReassignedAnswerKind::ReassignedAnswerUnspecified) => Ok(None),
            Ok(pb::ReassignedAnswerKind::ReassignedAnswerYes) => Ok(Some(K::Yes)),
            Ok(pb::ReassignedAnswerKind::ReassignedAnswerNo) => Ok(Some(K::No)),
            Ok(pb::ReassignedAnswerKind::ReassignedAnswerNoData) => Ok(Some(K::NoData)),
            Err(_) => Err(format!("{value} is not a ReassignedAnswerKind value")),
        }
    }
    fn to_wire(self) -> i32 {
        use domain::ReassignedAnswerKind as K;
        (match self {
            K::Yes => pb::ReassignedAnswerKind::ReassignedAnswerYes,
            K::No => pb::ReassignedAnswerKind::ReassignedAnswerNo,
            K::NoData => pb::ReassignedAnswerKind::ReassignedAnswerNoData,
        }) as i32
    }
}
wire_enum!(CallPurpose {
    CustomerService,
    DebtCollection,
    InformationalNotification,
    Charity,
    Political,
    Survey,
    Telemarketing,
    MultiUseLine,
    Prison,
    DoNotOriginate,
});
wire_enum!(ReasonCode {
    MaxContacts,
    NearMaxContacts,
    HoldAfterRpc,
    OutsideCallingHours,
    UnknownTimeZone,
    UnknownConsumer,
    Bankruptcy,
    TextAndAutoCallsDisabled,
    AutoCommunicationsDisabled,
    NumberExcludedByCustomer,
    NumberExcludedByUser,
    DoNotOriginate,
    ProgramNotActive,
    DoNotCallListed,
    SmsReauthRequired,
    CallbackOverride,
    SuppressedForOperator,
    RestrictedDay,
    AttemptInFlight,
    EmergencyBlackout,
    ReassignedNumber,
    ReassignedCheckMissing,
});

/// Reads an enum field, naming it on error.
pub fn enum_field<E: WireEnum>(value: i32, field: &str) -> Result<Option<E>, FieldError> {
    E::from_wire(value).map_err(|m| FieldError::new(field, m))
}

/// Reads a required enum field.
pub fn required_enum<E: WireEnum>(value: i32, field: &str) -> Result<E, FieldError> {
    enum_field(value, field)?.ok_or_else(|| FieldError::new(field, "is required"))
}

pub fn timestamp_from(ts: &Timestamp, field: &str) -> Result<DateTime<Utc>, FieldError> {
    let nanos = u32::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000);
    nanos
        .and_then(|n| DateTime::from_timestamp(ts.seconds, n))
        .filter(|t| t.timestamp_millis().abs() < 253_402_300_800_000) // before year 10000
        .ok_or_else(|| FieldError::new(field, "is not a valid timestamp"))
}

pub fn opt_timestamp_from(ts: &Option<Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, FieldError> {
    ts.as_ref().map(|ts| timestamp_from(ts, field)).transpose()
}

pub fn timestamp_to(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn opt_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn opt_zone(text: &str, field: &str) -> Result<Option<chrono_tz::Tz>, FieldError> {
    match text.trim() {
        "" => Ok(None),
        name => parse_zone(name).map(Some).map_err(|m| FieldError::new(field, m)),
    }
}

/// An optional phone field: empty is `None`.
pub fn opt_phone(text: &str, field: &str) -> Result<Option<PhoneNumber>, FieldError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        PhoneNumber::parse_field(text, field).map(Some)
    }
}

pub fn consumer_from(c: &pb::Consumer) -> Result<Consumer, FieldError> {
    let id = validate_id(&c.id, "id")?.to_string();
    let group_id = match c.group_id.trim() {
        "" => None,
        g => Some(validate_id(g, "group_id")?.to_string()),
    };
    let mut phones: Vec<Phone> = Vec::with_capacity(c.phones.len());
    for (i, p) in c.phones.iter().enumerate() {
        let field = format!("phones[{i}]");
        let number = PhoneNumber::parse_field(&p.number, "number").map_err(|e| e.within(&field))?;
        if phones.iter().any(|q| q.number == number) {
            return Err(FieldError::new(
                format!("{field}.number"),
                format!("{number} is listed twice"),
            ));
        }
        phones.push(Phone {
            number,
            time_zone: opt_zone(&p.time_zone, "time_zone").map_err(|e| e.within(&field))?,
            sms_authorized_at: opt_timestamp_from(&p.sms_authorized_at, "sms_authorized_at")
                .map_err(|e| e.within(&field))?,
            consent_at: opt_timestamp_from(&p.consent_at, "consent_at").map_err(|e| e.within(&field))?,
        });
    }
    let mut emails = Vec::with_capacity(c.emails.len());
    for (i, e) in c.emails.iter().enumerate() {
        let e = e.trim();
        if e.is_empty() || !e.contains('@') || e.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
            return Err(FieldError::new(
                format!("emails[{i}]"),
                format!("{e:?} is not an email address"),
            ));
        }
        emails.push(e.to_string());
    }
    Ok(Consumer {
        id,
        role: enum_field(c.role, "role")?.unwrap_or_default(),
        group_id,
        state: validate_region(&c.state, "state", 3)?,
        country: validate_region(&c.country, "country", 2)?,
        time_zone: opt_zone(&c.time_zone, "time_zone")?,
        address_time_zone: opt_zone(&c.address_time_zone, "address_time_zone")?,
        phones,
        emails,
        ssn_hash: opt_text(&c.ssn_hash),
        postal_code: match c.postal_code.trim() {
            "" => None,
            code => Some(PostalCode::parse(code).map_err(|m| FieldError::new("postal_code", m))?),
        },
        county: opt_text(&c.county),
    })
}

pub fn consumer_to(c: &Consumer) -> pb::Consumer {
    pb::Consumer {
        id: c.id.clone(),
        role: c.role.to_wire(),
        group_id: c.group_id.clone().unwrap_or_default(),
        state: c.state.clone().unwrap_or_default(),
        country: c.country.clone().unwrap_or_default(),
        time_zone: c.time_zone.map(|z| z.name().to_string()).unwrap_or_default(),
        address_time_zone: c.address_time_zone.map(|z| z.name().to_string()).unwrap_or_default(),
        phones: c
            .phones
            .iter()
            .map(|p| pb::Phone {
                number: p.number.to_string(),
                time_zone: p.time_zone.map(|z| z.name().to_string()).unwrap_or_default(),
                sms_authorized_at: p.sms_authorized_at.map(timestamp_to),
                consent_at: p.consent_at.map(timestamp_to),
            })
            .collect(),
        emails: c.emails.clone(),
        ssn_hash: c.ssn_hash.clone().unwrap_or_default(),
        postal_code: c.postal_code.map(|p| p.to_string()).unwrap_or_default(),
        county: c.county.clone().unwrap_or_default(),
    }
}

/// A contact event; `now` stands in for a missing `occurred_at`.
pub fn contact_from(e: &pb::ContactEvent, now: DateTime<Utc>) -> Result<Contact, FieldError> {
    let channel = required_enum(e.channel, "channel")?;
    let phone = opt_phone(&e.phone, "phone")?;
    if matches!(channel, domain::Channel::Phone | domain::Channel::Text) && phone.is_none() {
        return Err(FieldError::new("phone", "is required for PHONE and TEXT contacts"));
    }
    Ok(Contact {
        event_id: validate_id(&e.event_id, "event_id")?.to_string(),
        consumer_id: validate_id(&e.consumer_id, "consumer_id")?.to_string(),
        channel,
        phone,
        email: opt_text(&e.email),
        result_code: e.result_code,
        occurred_at: opt_timestamp_from(&e.occurred_at, "occurred_at")?.unwrap_or(now),
        operator_id: e.operator_id.trim().to_string(),
        caller_id: opt_phone(&e.caller_id, "caller_id")?,
        template: e.template.trim().to_string(),
        inbound: e.inbound,
        consented: e.consented,
        attempt_id: match e.attempt_id.trim() {
            "" => None,
            id => Some(AttemptId::parse_field(id, "attempt_id")?),
        },
    })
}

pub fn contact_to(c: &Contact) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: c.event_id.clone(),
        consumer_id: c.consumer_id.clone(),
        channel: c.channel.to_wire(),
        phone: c.phone.map(|p| p.to_string()).unwrap_or_default(),
        email: c.email.clone().unwrap_or_default(),
        result_code: c.result_code,
        occurred_at: Some(timestamp_to(c.occurred_at)),
        operator_id: c.operator_id.clone(),
        caller_id: c.caller_id.map(|p| p.to_string()).unwrap_or_default(),
        template: c.template.clone(),
        inbound: c.inbound,
        attempt_id: c.attempt_id.map(|id| id.to_string()).unwrap_or_default(),
        consented: c.consented,
    }
}

pub fn rule_set_draft_from(r: &pb::RuleSet) -> Result<RuleSetDraft, FieldError> {
    let mut controls = Vec::with_capacity(r.controls.len());
    for (i, c) in r.controls.iter().enumerate() {
        let within = |e: FieldError| e.within(&format!("controls[{i}]"));
        let purposes = c
            .call_purposes
            .iter()
            .enumerate()
            .map(|(j, p)| required_enum(*p, &format!("call_purposes[{j}]")))
            .collect::<Result<_, _>>()
            .map_err(within)?;
        let also = c
            .also_channels
            .iter()
            .enumerate()
            .map(|(j, ch)| required_enum(*ch, &format!("also_channels[{j}]")))
            .collect::<Result<_, _>>()
            .map_err(within)?;
        controls.push(ControlDraft {
            id: c.id.clone(),
            channel: enum_field(c.r#type, "type").map_err(within)?,
            description: c.description.clone(),
            state: c.state.clone(),
            country: c.country.clone(),
            max_total_contacts: c.max_total_contacts,
            period: enum_field(c.period, "period").map_err(within)?,
            apply_to_group: c.apply_to_group,
            hold_for_days: c.hold_for_days,
            attempt_codes: c.attempt_codes.clone(),
            rpc_codes: c.rpc_codes.clone(),
            non_attempt_codes: c.non_attempt_codes.clone(),
            call_from: c.call_from.clone(),
            call_to: c.call_to.clone(),
            validation_report: c.validation_report.clone(),
            validation_business_days: c.validation_business_days,
            validation_calendar_days: c.validation_calendar_days,
            sms_reauth_days: c.sms_reauth_days,
            call_purposes: purposes,
            also_channels: also,
            no_contact_weekdays: c.no_contact_weekdays.clone(),
            no_contact_on_holidays: c.no_contact_on_holidays,
            exclude_consented_calls: c.exclude_consented_calls,
            postal_codes: c.postal_codes.clone(),
            counties: c.counties.clone(),
            require_reassigned_check: c.require_reassigned_check,
            reassigned_check_max_age_days: c.reassigned_check_max_age_days,
        });
    }
    let mut blackouts = Vec::with_capacity(r.blackouts.len());
    for (i, b) in r.blackouts.iter().enumerate() {
        let within = |e: FieldError| e.within(&format!("blackouts[{i}]"));
        blackouts.push(crate::domain::blackout::BlackoutDraft {
            id: b.id.clone(),
            from: opt_timestamp_from(&b.from, "from").map_err(within)?,
            to: opt_timestamp_from(&b.to, "to").map_err(within)?,
            states: b.states.clone(),
            counties: b.counties.clone(),
            postal_codes: b.postal_codes.clone(),
            channels: b
                .channels
                .iter()
                .enumerate()
                .map(|(j, ch)| required_enum(*ch, &format!("channels[{j}]")))
                .collect::<Result<_, _>>()
                .map_err(within)?,
            call_purposes: b
                .call_purposes
                .iter()
                .enumerate()
                .map(|(j, p)| required_enum(*p, &format!("call_purposes[{j}]")))
                .collect::<Result<_, _>>()
                .map_err(within)?,
            citation: b.citation.clone(),
        });
    }
    Ok(RuleSetDraft {
        controls,
        holidays: r.holidays.clone(),
        exempt_operator_ids: r.exempt_operator_ids.clone(),
        lease_seconds: r.lease_seconds,
        max_in_flight: r.max_in_flight,
        wrong_number_codes: r.wrong_number_codes.clone(),
        revocation_scope: enum_field(r.revocation_scope, "revocation_scope")?.unwrap_or_default(),
        blackouts,
    })
}

/// A version as stored and answered: its rules and who put it, why and when it binds.
pub fn rule_set_version_to(rules: &RuleSet) -> pb::RuleSet {
    let meta = &rules.meta;
    pb::RuleSet {
        operator_id: meta.operator_id.clone(),
        change_reason: meta.change_reason.clone(),
        effective_at: meta.effective_at.map(timestamp_to),
        activated_at: Some(timestamp_to(meta.activated_at)),
        allow_uncontrolled_channels: meta.allow_uncontrolled_channels,
        ..rule_set_to(&rules.draft, rules.version)
    }
}

/// Who put a version, why and when, as given (`activated_at` as stored: the epoch when
/// absent, for versions stored before versions had dates).
pub fn rule_set_meta_from(r: &pb::RuleSet) -> Result<RuleSetMeta, FieldError> {
    Ok(RuleSetMeta {
        operator_id: r.operator_id.trim().to_string(),
        change_reason: r.change_reason.trim().to_string(),
        effective_at: opt_timestamp_from(&r.effective_at, "effective_at")?,
        activated_at: opt_timestamp_from(&r.activated_at, "activated_at")?.unwrap_or_default(),
        allow_uncontrolled_channels: r.allow_uncontrolled_channels,
    })
}

/// A stored version (or one from the change feed), compiled, with its metadata.
pub fn rule_set_from_record(r: &pb::RuleSet) -> Result<RuleSet, String> {
    let draft = rule_set_draft_from(r).map_err(|e| e.to_string())?;
    let mut rules = RuleSet::compile(draft, r.version).map_err(|e| e.to_string())?;
    rules.meta = rule_set_meta_from(r).map_err(|e| e.to_string())?;
    Ok(rules)
}

/// A rule set's rules alone (no version metadata), as a rule file holds them.
pub fn rule_set_to(draft: &RuleSetDraft, version: u64) -> pb::RuleSet {
    pb::RuleSet {
        version,
        controls: draft
            .controls
            .iter()
            .map(|c| pb::ContactControl {
                id: c.id.clone(),
                r#type: c.channel.map_or(0, WireEnum::to_wire),
                description: c.description.clone(),
                state: c.state.clone(),
                country: c.country.clone(),
                max_total_contacts: c.max_total_contacts,
                period: c.period.map_or(0, WireEnum::to_wire),
                apply_to_group: c.apply_to_group,
                hold_for_days: c.hold_for_days,
                attempt_codes: c.attempt_codes.clone(),
                rpc_codes: c.rpc_codes.clone(),
                non_attempt_codes: c.non_attempt_codes.clone(),
                call_from: c.call_from.clone(),
                call_to: c.call_to.clone(),
                validation_report: c.validation_report.clone(),
                validation_business_days: c.validation_business_days,
                validation_calendar_days: c.validation_calendar_days,
                sms_reauth_days: c.sms_reauth_days,
                call_purposes: c.call_purposes.iter().map(|p| p.to_wire()).collect(),
                also_channels: c.also_channels.iter().map(|ch| ch.to_wire()).collect(),
                no_contact_weekdays: c.no_contact_weekdays.clone(),
                no_contact_on_holidays: c.no_contact_on_holidays,
                exclude_consented_calls: c.exclude_consented_calls,
                postal_codes: c.postal_codes.clone(),
                counties: c.counties.clone(),
                require_reassigned_check: c.require_reassigned_check,
                reassigned_check_max_age_days: c.reassigned_check_max_age_days,
            })
            .collect(),
        blackouts: draft
            .blackouts
            .iter()
            .map(|b| pb::Blackout {
                id: b.id.clone(),
                from: b.from.map(timestamp_to),
                to: b.to.map(timestamp_to),
                states: b.states.clone(),
                counties: b.counties.clone(),
                postal_codes: b.postal_codes.clone(),
                channels: b.channels.iter().map(|c| c.to_wire()).collect(),
                call_purposes: b.call_purposes.iter().map(|p| p.to_wire()).collect(),
                citation: b.citation.clone(),
            })
            .collect(),
        holidays: draft.holidays.clone(),
        exempt_operator_ids: draft.exempt_operator_ids.clone(),
        lease_seconds: draft.lease_seconds,
        max_in_flight: draft.max_in_flight,
        wrong_number_codes: draft.wrong_number_codes.clone(),
        revocation_scope: draft.revocation_scope.to_wire(),
        ..pb::RuleSet::default()
    }
}

/// A program, validated (display name ≤ 32, shorthand ≤ 15, printable; start < end).
pub fn program_from(p: &pb::Program) -> Result<Program, FieldError> {
    Program {
        id: p.id.clone(),
        business_unit: p.business_unit.clone(),
        program_type: p.program_type.clone(),
        name: p.name.clone(),
        call_purpose: enum_field(p.call_purpose, "call_purpose")?,
        description: p.description.clone(),
        display_name: p.display_name.clone(),
        shorthand_display: p.shorthand_display.clone(),
        start: opt_timestamp_from(&p.start, "start")?,
        end: opt_timestamp_from(&p.end, "end")?,
    }
    .validated()
}

pub fn program_to(p: &Program) -> pb::Program {
    pb::Program {
        id: p.id.clone(),
        business_unit: p.business_unit.clone(),
        program_type: p.program_type.clone(),
        name: p.name.clone(),
        call_purpose: p.call_purpose.map_or(0, WireEnum::to_wire),
        description: p.description.clone(),
        display_name: p.display_name.clone(),
        shorthand_display: p.shorthand_display.clone(),
        start: p.start.map(timestamp_to),
        end: p.end.map(timestamp_to),
    }
}

pub fn reason_to(r: &domain::Reason) -> pb::Reason {
    pb::Reason {
        code: r.code.to_wire(),
        control_id: r.control_id.as_deref().unwrap_or_default().to_string(),
        message: r.message.clone(),
    }
}

/// `None` when the code is not one this build knows.
pub fn reason_from(r: &pb::Reason) -> Option<domain::Reason> {
    Some(domain::Reason {
        code: domain::ReasonCode::from_wire(r.code).ok()??,
        control_id: (!r.control_id.is_empty()).then(|| std::sync::Arc::from(r.control_id.as_str())),
        message: r.message.clone(),
    })
}

/// An evidence record on the wire.
pub fn evidence_to(e: &Evidence) -> pb::EvidenceRecord {
    pb::EvidenceRecord {
        at: Some(timestamp_to(e.at)),
        kind: e.kind.name().to_string(),
        consumer_id: e.consumer_id.clone(),
        channel: e.channel.map_or(0, WireEnum::to_wire),
        phone: e.phone.clone(),
        result_code: e.result_code,
        counted: e.counted,
        operator_id: e.operator_id.clone(),
        caller_id: e.caller_id.map(|p| p.to_string()).unwrap_or_default(),
        attempt_id: e.attempt_id.map(|a| a.to_string()).unwrap_or_default(),
        rule_set_version: e.rule_set_version,
        verdict: e.decision.as_ref().map_or(0, |(v, _)| v.to_wire()),
        reasons: e.decision.iter().flat_map(|(_, r)| r).map(reason_to).collect(),
        text: e.text.clone(),
    }
}

/// An evidence record from the wire (as the store keeps it); `None` when a field is not
/// one this build knows.
pub fn evidence_from(r: &pb::EvidenceRecord) -> Option<Evidence> {
    let mut e = Evidence::new(
        EvidenceKind::from_name(&r.kind)?,
        timestamp_from(r.at.as_ref()?, "at").ok()?,
        &r.consumer_id,
    );
    e.channel = Channel::from_wire(r.channel).ok()?;
    e.phone.clone_from(&r.phone);
    e.result_code = r.result_code;
    e.counted = r.counted;
    e.operator_id.clone_from(&r.operator_id);
    e.caller_id = opt_phone(&r.caller_id, "caller_id").ok()?;
    e.attempt_id = match r.attempt_id.as_str() {
        "" => None,
        id => Some(AttemptId::parse(id).ok()?),
    };
    e.rule_set_version = r.rule_set_version;
    e.decision = match Verdict::from_wire(r.verdict).ok()? {
        None => None,
        Some(v) => Some((v, r.reasons.iter().map(reason_from).collect::<Option<_>>()?)),
    };
    e.text.clone_from(&r.text);
    Some(e)
}

/// A decision on the wire, with its prompt token and the lease it took, if any.
pub fn decision_to(
    d: &domain::Decision,
    request_id: &str,
    prompt_token: String,
    lease: Option<(AttemptId, DateTime<Utc>)>,
) -> pb::DialDecision {
    pb::DialDecision {
        request_id: request_id.to_string(),
        verdict: d.verdict.to_wire(),
        reasons: d.reasons.iter().map(reason_to).collect(),
        attempts: d.attempts,
        rpcs: d.rpcs,
        max_contacts: d.max_contacts,
        next_allowed_at: d.next_allowed_at.map(timestamp_to),
        rule_set_version: d.rule_set_version,
        prompt_token,
        prompt_text: d.prompt_text.clone().unwrap_or_default(),
        attempt_id: lease.map(|(id, _)| id.to_string()).unwrap_or_default(),
        lease_expires_at: lease.map(|(_, at)| timestamp_to(at)),
        pending: d.pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_round_trips_through_protobuf() {
        let wire = pb::Consumer {
            id: " c1 ".into(),
            role: pb::Role::Cosigner as i32,
            group_id: "g".into(),
            state: "ma".into(),
            country: "us".into(),
            time_zone: "America/New_York".into(),
            phones: vec![pb::Phone {
                number: "(555) 123-4567".into(),
                time_zone: "America/Los_Angeles".into(),
                sms_authorized_at: None,
                consent_at: None,
            }],
            emails: vec!["a@example.com".into()],
            ..Default::default()
        };
        let c = consumer_from(&wire).unwrap();
        assert_eq!(
            (c.id.as_str(), c.state.as_deref(), c.country.as_deref()),
            ("c1", Some("MA"), Some("US"))
        );
        let back = consumer_to(&c);
        assert_eq!(back.phones[0].number, "+15551234567");
        assert_eq!(consumer_from(&back).unwrap(), c);
    }

    #[test]
    fn bad_consumer_fields_are_named() {
        let field = |c: pb::Consumer| consumer_from(&c).unwrap_err().field;
        let base = || pb::Consumer {
            id: "c".into(),
            ..Default::default()
        };
        assert_eq!(
            field(pb::Consumer {
                id: "".into(),
                ..base()
            }),
            "id"
        );
        assert_eq!(
            field(pb::Consumer {
                time_zone: "Eastern".into(),
                ..base()
            }),
            "time_zone"
        );
        assert_eq!(field(pb::Consumer { role: 9, ..base() }), "role");
        let phones = vec![
            pb::Phone::default(),
            pb::Phone {
                number: "123-4567".into(),
                ..Default::default()
            },
        ];
        assert_eq!(field(pb::Consumer { phones, ..base() }), "phones[0].number");
    }
}
