//! The store's own records: protobuf messages declared in Rust (prost derive), for what has
//! no message in the public contract. Tags are never reused, so old stores stay readable.

use chrono::{DateTime, Utc};

use crate::domain::Exclusions;
use crate::domain::audit::{AuditNote, NoteDraft, NoteKind};
use crate::domain::callback::Callback;
use crate::domain::do_not_call::{ImportRef, StoredList};
use crate::domain::lease::{AttemptId, Grant, Lease, LeaseState};
use crate::domain::prompt::{Prompt, PromptedRequest};
use crate::domain::{CallPurpose, Channel, Mode, OptOut, PhoneNumber, Verdict};
use crate::proto::convert::{WireEnum, reason_from, reason_to};
use crate::proto::v1 as pb;

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The fields of a stored `predial.v1.ContactEvent` that memory keeps, read without the
/// rest: prost skips the other tags (ids, operator, template) without allocating them.
/// The time comes from the key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContactRecView {
    #[prost(int32, tag = "3")]
    pub channel: i32,
    #[prost(string, tag = "4")]
    pub phone: String,
    #[prost(int32, tag = "6")]
    pub result_code: i32,
    #[prost(bool, tag = "11")]
    pub inbound: bool,
    #[prost(bool, tag = "13")]
    pub consented: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExclusionRecord {
    #[prost(bool, tag = "1")]
    pub bankruptcy: bool,
    #[prost(bool, tag = "2")]
    pub disable_text_and_auto_calls: bool,
    #[prost(bool, tag = "3")]
    pub disable_auto_communications: bool,
    /// Numbers excluded BY_USER, as E.164 digits.
    #[prost(uint64, repeated, tag = "4")]
    pub user_excluded: Vec<u64>,
}

impl ExclusionRecord {
    pub fn to_domain(&self) -> Exclusions {
        Exclusions {
            bankruptcy: self.bankruptcy,
            disable_text_and_auto_calls: self.disable_text_and_auto_calls,
            disable_auto_communications: self.disable_auto_communications,
            user_excluded: self.user_excluded.iter().map(|d| PhoneNumber::from_u64(*d)).collect(),
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OptOutRecord {
    #[prost(int64, tag = "1")]
    pub at_ms: i64,
    /// One bit per purpose (`domain::revocation::OptOut`).
    #[prost(uint32, tag = "2")]
    pub purposes: u32,
    /// Binds only the purposes listed; false (as every record written before purposes
    /// were kept): every purpose.
    #[prost(bool, tag = "3")]
    pub only_these: bool,
}

impl OptOutRecord {
    pub fn of(o: &OptOut) -> Self {
        OptOutRecord {
            at_ms: o.at_ms,
            purposes: u32::from(o.purposes),
            only_these: !o.every_purpose,
        }
    }

    pub fn to_domain(&self) -> OptOut {
        OptOut {
            at_ms: self.at_ms,
            purposes: self.purposes as u16,
            every_purpose: !self.only_these,
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PromptRecord {
    #[prost(string, tag = "1")]
    pub consumer_id: String,
    #[prost(string, tag = "2")]
    pub operator_id: String,
    #[prost(int64, tag = "3")]
    pub issued_at_ms: i64,
    #[prost(int64, tag = "4")]
    pub expires_at_ms: i64,
    #[prost(string, tag = "5")]
    pub findings: String,
    #[prost(bool, tag = "6")]
    pub used: bool,
    /// Set when the prompted request reserved: confirming it takes a lease.
    #[prost(message, optional, tag = "7")]
    pub reservation: Option<PromptedRequestRecord>,
    /// The prompting decision (`Prompt::decision`), as a lease keeps its grant; verdict 0
    /// for a prompt issued before prompts kept it.
    #[prost(int32, tag = "8")]
    pub verdict: i32,
    #[prost(message, repeated, tag = "9")]
    pub reasons: Vec<pb::Reason>,
    #[prost(uint64, tag = "10")]
    pub rule_set_version: u64,
}

/// A prompted request that reserved (`Prompt::reservation`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PromptedRequestRecord {
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// `predial.v1.Channel`.
    #[prost(int32, tag = "2")]
    pub channel: i32,
    #[prost(uint64, tag = "3")]
    pub phone: u64,
    /// `predial.v1.Mode`.
    #[prost(int32, tag = "4")]
    pub mode: i32,
    #[prost(bool, tag = "5")]
    pub workflow: bool,
    /// `predial.v1.CallPurpose`; 0 for none.
    #[prost(int32, tag = "6")]
    pub call_purpose: i32,
    #[prost(uint64, tag = "7")]
    pub caller_id: u64,
    #[prost(int64, tag = "8")]
    pub at_ms: i64,
}

fn opt_number(n: Option<PhoneNumber>) -> u64 {
    n.map_or(0, PhoneNumber::as_u64)
}

fn number_or_none(digits: u64) -> Option<PhoneNumber> {
    (digits != 0).then(|| PhoneNumber::from_u64(digits))
}

impl PromptRecord {
    pub fn of(p: &Prompt) -> Self {
        PromptRecord {
            consumer_id: p.consumer_id.clone(),
            operator_id: p.operator_id.clone(),
            issued_at_ms: p.issued_at.timestamp_millis(),
            expires_at_ms: p.expires_at.timestamp_millis(),
            findings: p.findings.clone(),
            used: p.used,
            reservation: p.reservation.as_ref().map(|r| PromptedRequestRecord {
                request_id: r.request_id.clone(),
                channel: r.channel.to_wire(),
                phone: opt_number(r.phone),
                mode: r.mode.to_wire(),
                workflow: r.workflow,
                call_purpose: r.purpose.map_or(0, WireEnum::to_wire),
                caller_id: opt_number(r.caller_id),
                at_ms: r.at.timestamp_millis(),
            }),
            verdict: p.decision.as_ref().map_or(0, |g| g.verdict.to_wire()),
            reasons: p.decision.iter().flat_map(|g| &g.reasons).map(reason_to).collect(),
            rule_set_version: p.decision.as_ref().map_or(0, |g| g.rule_set_version),
        }
    }

    /// `None` when a stored enum is not one this build knows.
    pub fn to_domain(&self) -> Option<Prompt> {
        let reservation = match &self.reservation {
            None => None,
            Some(r) => Some(PromptedRequest {
                request_id: r.request_id.clone(),
                channel: Channel::from_wire(r.channel).ok()??,
                phone: number_or_none(r.phone),
                mode: Mode::from_wire(r.mode).ok()?.unwrap_or_default(),
                workflow: r.workflow,
                purpose: CallPurpose::from_wire(r.call_purpose).ok()?,
                caller_id: number_or_none(r.caller_id),
                at: from_ms(r.at_ms),
            }),
        };
        Some(Prompt {
            consumer_id: self.consumer_id.clone(),
            operator_id: self.operator_id.clone(),
            issued_at: from_ms(self.issued_at_ms),
            expires_at: from_ms(self.expires_at_ms),
            findings: self.findings.clone(),
            used: self.used,
            reservation,
            decision: grant_from(self.verdict, &self.reasons, self.rule_set_version)?,
        })
    }
}

/// A granted lease and where it stands.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseRecord {
    #[prost(bytes = "vec", tag = "1")]
    pub attempt_id: Vec<u8>,
    #[prost(string, tag = "2")]
    pub consumer_id: String,
    #[prost(string, tag = "3")]
    pub request_id: String,
    /// `predial.v1.Channel`.
    #[prost(int32, tag = "4")]
    pub channel: i32,
    #[prost(uint64, tag = "5")]
    pub phone: u64,
    #[prost(int64, tag = "6")]
    pub at_ms: i64,
    #[prost(int64, tag = "7")]
    pub expires_at_ms: i64,
    #[prost(string, tag = "8")]
    pub operator_id: String,
    /// 2 once released; 0 otherwise (whether it is settled is the consumer's list of
    /// unsettled leases' to say, so settling does not rewrite this record).
    #[prost(int32, tag = "9")]
    pub state: i32,
    /// The granting decision's verdict (`predial.v1.Verdict`); 0 for a lease granted
    /// before leases kept it.
    #[prost(int32, tag = "10")]
    pub grant_verdict: i32,
    #[prost(message, repeated, tag = "11")]
    pub grant_reasons: Vec<pb::Reason>,
    #[prost(uint64, tag = "12")]
    pub grant_rule_set_version: u64,
}

impl LeaseRecord {
    pub fn of(l: &Lease, state: LeaseState) -> Self {
        LeaseRecord {
            attempt_id: l.attempt_id.as_bytes().to_vec(),
            consumer_id: l.consumer_id.clone(),
            request_id: l.request_id.clone(),
            channel: l.channel.to_wire(),
            phone: opt_number(l.phone),
            at_ms: l.at.timestamp_millis(),
            expires_at_ms: l.expires_at.timestamp_millis(),
            operator_id: l.operator_id.clone(),
            state: state_code(state),
            grant_verdict: l.granted_by.as_ref().map_or(0, |g| g.verdict.to_wire()),
            grant_reasons: l.granted_by.iter().flat_map(|g| &g.reasons).map(reason_to).collect(),
            grant_rule_set_version: l.granted_by.as_ref().map_or(0, |g| g.rule_set_version),
        }
    }

    /// `None` when the record is not whole (a wrong-sized id, an unknown channel or state).
    pub fn to_domain(&self) -> Option<(Lease, LeaseState)> {
        let lease = Lease {
            attempt_id: AttemptId::from_bytes(self.attempt_id.as_slice().try_into().ok()?),
            consumer_id: self.consumer_id.clone(),
            request_id: self.request_id.clone(),
            channel: Channel::from_wire(self.channel).ok()??,
            phone: number_or_none(self.phone),
            at: from_ms(self.at_ms),
            expires_at: from_ms(self.expires_at_ms),
            operator_id: self.operator_id.clone(),
            granted_by: grant_from(self.grant_verdict, &self.grant_reasons, self.grant_rule_set_version)?,
        };
        let state = match self.state {
            0 => LeaseState::Unsettled,
            1 => LeaseState::Settled,
            2 => LeaseState::Released,
            _ => return None,
        };
        Some((lease, state))
    }
}

/// A kept decision (verdict 0: none was kept); the outer `None` when it is not whole.
fn grant_from(verdict: i32, reasons: &[pb::Reason], rule_set_version: u64) -> Option<Option<Grant>> {
    if verdict == 0 {
        return Some(None);
    }
    Some(Some(Grant {
        verdict: Verdict::from_wire(verdict).ok()??,
        reasons: reasons.iter().map(reason_from).collect::<Option<_>>()?,
        rule_set_version,
    }))
}

pub fn state_code(state: LeaseState) -> i32 {
    match state {
        LeaseState::Unsettled => 0,
        LeaseState::Settled => 1,
        LeaseState::Released => 2,
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CallbackRecord {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub consumer_id: String,
    #[prost(uint64, tag = "3")]
    pub phone: u64,
    #[prost(int64, tag = "4")]
    pub callback_at_ms: i64,
    #[prost(string, tag = "5")]
    pub operator_id: String,
}

impl CallbackRecord {
    pub fn of(c: &Callback) -> Self {
        CallbackRecord {
            id: c.id.clone(),
            consumer_id: c.consumer_id.clone(),
            phone: c.phone.as_u64(),
            callback_at_ms: c.callback_at.timestamp_millis(),
            operator_id: c.operator_id.clone(),
        }
    }
    pub fn to_domain(&self) -> Callback {
        Callback {
            id: self.id.clone(),
            consumer_id: self.consumer_id.clone(),
            phone: PhoneNumber::from_u64(self.phone),
            callback_at: from_ms(self.callback_at_ms),
            operator_id: self.operator_id.clone(),
        }
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NoteRecord {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub consumer_id: String,
    #[prost(int64, tag = "3")]
    pub at_ms: i64,
    #[prost(string, tag = "4")]
    pub operator_id: String,
    #[prost(string, tag = "5")]
    pub kind: String,
    #[prost(string, tag = "6")]
    pub text: String,
}

impl NoteRecord {
    pub fn of(id: u64, n: &NoteDraft) -> Self {
        NoteRecord {
            id,
            consumer_id: n.consumer_id.clone(),
            at_ms: n.at.timestamp_millis(),
            operator_id: n.operator_id.clone(),
            kind: n.kind.name().to_string(),
            text: n.text.clone(),
        }
    }
    pub fn to_domain(&self) -> Option<AuditNote> {
        Some(AuditNote {
            id: self.id,
            note: NoteDraft {
                consumer_id: self.consumer_id.clone(),
                at: from_ms(self.at_ms),
                operator_id: self.operator_id.clone(),
                kind: NoteKind::from_name(&self.kind)?,
                text: self.text.clone(),
            },
        })
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProgramNumberRecord {
    #[prost(string, tag = "1")]
    pub program_id: String,
    /// `predial.v1.CallPurpose`.
    #[prost(int32, tag = "2")]
    pub call_purpose: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConsentRecord {
    #[prost(bool, tag = "1")]
    pub telemarketing: bool,
    #[prost(int64, tag = "2")]
    pub at_ms: i64,
}

/// A Do Not Call list (`domain::do_not_call::StoredList`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct DncListRecord {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub base: Option<DncImportRecord>,
    #[prost(message, repeated, tag = "3")]
    pub deltas: Vec<DncImportRecord>,
    #[prost(bool, tag = "4")]
    pub legacy: bool,
    #[prost(uint64, tag = "5")]
    pub numbers: u64,
    #[prost(int64, tag = "6")]
    pub updated_at_ms: i64,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct DncImportRecord {
    #[prost(uint64, tag = "1")]
    pub import_id: u64,
    #[prost(uint64, tag = "2")]
    pub chunks: u64,
    #[prost(bool, tag = "3")]
    pub remove: bool,
}

impl DncImportRecord {
    pub fn of(i: &ImportRef) -> Self {
        DncImportRecord {
            import_id: i.import_id,
            chunks: i.chunks,
            remove: i.remove,
        }
    }

    pub fn to_domain(self) -> ImportRef {
        ImportRef {
            import_id: self.import_id,
            chunks: self.chunks,
            remove: self.remove,
        }
    }
}

impl DncListRecord {
    pub fn of(l: &StoredList) -> Self {
        DncListRecord {
            name: l.name.clone(),
            base: l.base.as_ref().map(DncImportRecord::of),
            deltas: l.deltas.iter().map(DncImportRecord::of).collect(),
            legacy: l.legacy,
            numbers: l.numbers,
            updated_at_ms: l.updated_at.timestamp_millis(),
        }
    }

    pub fn to_domain(&self) -> StoredList {
        StoredList {
            name: self.name.clone(),
            base: self.base.map(DncImportRecord::to_domain),
            deltas: self.deltas.iter().map(|d| d.to_domain()).collect(),
            legacy: self.legacy,
            numbers: self.numbers,
            updated_at: from_ms(self.updated_at_ms),
        }
    }
}
