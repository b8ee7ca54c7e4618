//! The change feed of a store several nodes share: every write that changes what memory
//! holds, in commit order, so that each node's memory follows what the others committed.
//!
//! A change is the write itself and what it did ([`Change`]), encoded as one protobuf
//! record ([`encode`], [`decode`]); a node applies it to memory through the same path its
//! own writes take. Writes memory does not hold (prompts, notes) and writes that changed
//! nothing (a duplicate contact) make no change.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;

use super::records::{CallbackRecord, ConsentRecord, DncImportRecord, ExclusionRecord, LeaseRecord, OptOutRecord};
use super::{Applied, StoreError, WriteOp};
use crate::domain::do_not_call::ImportMode;
use crate::domain::lease::{AttemptId, LeaseState};
use crate::domain::programs::ProgramNumber;
use crate::domain::{Exclusions, PhoneNumber};
use crate::proto::convert::{
    WireEnum, consumer_from, consumer_to, contact_from, contact_to, program_from, program_to, required_enum,
    rule_set_from_record, rule_set_version_to,
};
use crate::proto::v1 as pb;

/// One committed write, at its place in the feed.
#[derive(Debug, Clone)]
pub struct Change {
    /// Its position: changes are numbered 1, 2, 3… in commit order, with no gaps.
    pub seq: u64,
    /// Written by this node (whose memory applies it when its commit returns).
    pub mine: bool,
    pub op: WriteOp,
    pub applied: Applied,
}

/// What a group commit to a shared store tells memory about the feed.
#[derive(Debug, Default)]
pub struct FeedCommit {
    /// What other nodes committed before this group and this node's memory may not have
    /// applied yet, in order: applied before the group's own writes.
    pub before: Vec<Change>,
    /// The feed's position once the group's own changes are in.
    pub through: u64,
}

/// What a node reads of the feed.
pub trait ChangeFeed: Send + Sync {
    /// The changes after position `seq`, oldest first, at most `limit` of them.
    fn changes_after(&self, seq: u64, limit: usize) -> Result<Vec<Change>, StoreError>;

    /// Waits until a change may have been committed (the database's notification), or
    /// `timeout` passes: a wake-up, not a promise — the reader reads by position.
    fn wait(&self, timeout: Duration);

    /// The feed's newest position (how far memory could be).
    fn head(&self) -> Result<u64, StoreError>;

    /// Whether the store is reachable and its notifications arrive.
    fn reachable(&self) -> bool;
}

/// The record of a change.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChangeRecord {
    #[prost(oneof = "Op", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15")]
    pub op: Option<Op>,
    /// For a recorded contact: the lease it settled.
    #[prost(bytes = "vec", tag = "20")]
    pub settled: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Op {
    #[prost(message, tag = "1")]
    PutConsumer(pb::Consumer),
    #[prost(message, tag = "2")]
    RecordContact(pb::ContactEvent),
    #[prost(message, tag = "3")]
    TakeLease(LeaseRecord),
    #[prost(message, tag = "4")]
    ReleaseLease(ReleaseRecord),
    #[prost(message, tag = "5")]
    PutRuleSet(pb::RuleSet),
    #[prost(message, tag = "6")]
    SetExclusionFlags(FlagsRecord),
    #[prost(message, tag = "7")]
    SetUserExclusion(UserExclusionRecord),
    #[prost(message, tag = "8")]
    SetOptOut(OptOutChange),
    #[prost(message, tag = "9")]
    PutCallback(CallbackRecord),
    #[prost(message, tag = "10")]
    PutProgram(pb::Program),
    #[prost(message, tag = "11")]
    AddProgramNumbers(ProgramNumbersRecord),
    #[prost(message, tag = "13")]
    SetConsent(ConsentChange),
    // Tag 12 was a chunk added to the one unnamed Do Not Call list.
    #[prost(message, tag = "14")]
    CommitDoNotCall(DncCommitRecord),
    #[prost(message, tag = "15")]
    PutReassigned(ReassignedRecord),
}

/// A chunk of Reassigned Numbers Database answers, packed as the store keeps them
/// ([`kv::reassigned`](crate::store::kv::reassigned)).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReassignedRecord {
    #[prost(bytes = "vec", tag = "1")]
    pub packed: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseRecord {
    #[prost(string, tag = "1")]
    pub consumer_id: String,
    #[prost(bytes = "vec", tag = "2")]
    pub attempt_id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FlagsRecord {
    #[prost(string, tag = "1")]
    pub consumer_id: String,
    #[prost(message, optional, tag = "2")]
    pub flags: Option<ExclusionRecord>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserExclusionRecord {
    #[prost(string, tag = "1")]
    pub consumer_id: String,
    #[prost(uint64, tag = "2")]
    pub phone: u64,
    #[prost(bool, tag = "3")]
    pub excluded: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OptOutChange {
    #[prost(uint64, tag = "1")]
    pub phone: u64,
    /// Since when; unset when the exclusion was cleared.
    #[prost(message, optional, tag = "2")]
    pub at: Option<OptOutRecord>,
    /// The purpose of the text the revocation answered (`predial.v1.CallPurpose`; 0: not
    /// known).
    #[prost(int32, tag = "3")]
    pub purpose: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ProgramNumbersRecord {
    #[prost(string, tag = "1")]
    pub program_id: String,
    #[prost(uint64, repeated, tag = "2")]
    pub numbers: Vec<u64>,
    /// `predial.v1.CallPurpose`, one per number.
    #[prost(int32, repeated, tag = "3")]
    pub purposes: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DncCommitRecord {
    #[prost(string, tag = "1")]
    pub list: String,
    /// 0 ADD, 1 REPLACE, 2 REMOVE.
    #[prost(int32, tag = "2")]
    pub mode: i32,
    #[prost(message, optional, tag = "3")]
    pub import: Option<DncImportRecord>,
    #[prost(uint64, tag = "4")]
    pub numbers: u64,
    #[prost(int64, tag = "5")]
    pub at_ms: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConsentChange {
    #[prost(string, tag = "1")]
    pub consumer_id: String,
    #[prost(uint64, tag = "2")]
    pub phone: u64,
    #[prost(message, optional, tag = "3")]
    pub consent: Option<ConsentRecord>,
}

/// The change a write made, encoded; `None` when memory does not hold what it wrote, or it
/// changed nothing.
pub fn encode(op: &WriteOp, applied: &Applied) -> Option<Vec<u8>> {
    if matches!(applied, Applied::Duplicate | Applied::Skipped) {
        return None;
    }
    let encoded = match op {
        WriteOp::PutConsumer(c) => Op::PutConsumer(consumer_to(c)),
        WriteOp::RecordContact(c) => Op::RecordContact(contact_to(c)),
        WriteOp::TakeLease { lease, .. } => Op::TakeLease(LeaseRecord::of(lease, LeaseState::Unsettled)),
        WriteOp::ReleaseLease {
            consumer_id,
            attempt_id,
        } => Op::ReleaseLease(ReleaseRecord {
            consumer_id: consumer_id.clone(),
            attempt_id: attempt_id.as_bytes().to_vec(),
        }),
        WriteOp::PutRuleSet(rules) => Op::PutRuleSet(rule_set_version_to(rules)),
        WriteOp::SetExclusionFlags { consumer_id, flags } => Op::SetExclusionFlags(FlagsRecord {
            consumer_id: consumer_id.clone(),
            flags: Some(ExclusionRecord {
                bankruptcy: flags.bankruptcy,
                disable_text_and_auto_calls: flags.disable_text_and_auto_calls,
                disable_auto_communications: flags.disable_auto_communications,
                user_excluded: Vec::new(),
            }),
        }),
        WriteOp::SetUserExclusion {
            consumer_id,
            phone,
            excluded,
        } => Op::SetUserExclusion(UserExclusionRecord {
            consumer_id: consumer_id.clone(),
            phone: phone.as_u64(),
            excluded: *excluded,
        }),
        WriteOp::SetOptOut { phone, at, purpose } => Op::SetOptOut(OptOutChange {
            phone: phone.as_u64(),
            at: at.map(|at| OptOutRecord {
                at_ms: at.timestamp_millis(),
                ..Default::default()
            }),
            purpose: purpose.map_or(0, WireEnum::to_wire),
        }),
        WriteOp::PutCallback(cb) => Op::PutCallback(CallbackRecord::of(cb)),
        WriteOp::PutProgram(p) => Op::PutProgram(program_to(p)),
        WriteOp::AddProgramNumbers { program_id, numbers } => Op::AddProgramNumbers(ProgramNumbersRecord {
            program_id: program_id.clone(),
            numbers: numbers.iter().map(|n| n.number.as_u64()).collect(),
            purposes: numbers.iter().map(|n| n.purpose.to_wire()).collect(),
        }),
        WriteOp::CommitDoNotCall {
            list,
            mode,
            import,
            numbers,
            at,
        } => Op::CommitDoNotCall(DncCommitRecord {
            list: list.clone(),
            mode: match mode {
                ImportMode::Add => 0,
                ImportMode::Replace => 1,
                ImportMode::Remove => 2,
            },
            import: Some(DncImportRecord::of(import)),
            numbers: *numbers,
            at_ms: at.timestamp_millis(),
        }),
        WriteOp::SetConsent {
            consumer_id,
            phone,
            telemarketing,
            at,
        } => Op::SetConsent(ConsentChange {
            consumer_id: consumer_id.clone(),
            phone: phone.as_u64(),
            consent: Some(ConsentRecord {
                telemarketing: *telemarketing,
                at_ms: at.timestamp_millis(),
            }),
        }),
        WriteOp::PutReassigned(answers) => Op::PutReassigned(ReassignedRecord {
            packed: crate::store::kv::reassigned::pack(answers),
        }),
        // A staged chunk is no list's until its import commits.
        WriteOp::IssuePrompt { .. }
        | WriteOp::AnswerPrompt { .. }
        | WriteOp::Note(_)
        | WriteOp::StageDoNotCall { .. } => return None,
    };
    let settled = match applied {
        Applied::Settled(id) => id.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    Some(
        ChangeRecord {
            op: Some(encoded),
            settled,
        }
        .encode_to_vec(),
    )
}

fn bad(message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: "change".into(),
        message: message.to_string(),
    }
}

fn attempt_id(bytes: &[u8]) -> Result<AttemptId, StoreError> {
    Ok(AttemptId::from_bytes(
        bytes.try_into().map_err(|_| bad("an attempt id is not 16 bytes"))?,
    ))
}

/// A change's write and what it did, read back.
pub fn decode(bytes: &[u8]) -> Result<(WriteOp, Applied), StoreError> {
    let record = ChangeRecord::decode(bytes).map_err(bad)?;
    let applied = match record.settled.as_slice() {
        [] => Applied::Done,
        id => Applied::Settled(attempt_id(id)?),
    };
    let op = match record.op.ok_or_else(|| bad("a change without a write"))? {
        Op::PutConsumer(c) => WriteOp::PutConsumer(consumer_from(&c).map_err(bad)?),
        Op::RecordContact(e) => WriteOp::RecordContact(contact_from(&e, chrono::Utc::now()).map_err(bad)?),
        Op::TakeLease(l) => WriteOp::TakeLease {
            lease: l.to_domain().ok_or_else(|| bad("a lease record is not whole"))?.0,
            seen: 0,
        },
        Op::ReleaseLease(r) => WriteOp::ReleaseLease {
            consumer_id: r.consumer_id,
            attempt_id: attempt_id(&r.attempt_id)?,
        },
        Op::PutRuleSet(r) => WriteOp::PutRuleSet(Arc::new(rule_set_from_record(&r).map_err(bad)?)),
        Op::SetExclusionFlags(f) => {
            let flags = f.flags.unwrap_or_default();
            WriteOp::SetExclusionFlags {
                consumer_id: f.consumer_id,
                flags: Exclusions {
                    bankruptcy: flags.bankruptcy,
                    disable_text_and_auto_calls: flags.disable_text_and_auto_calls,
                    disable_auto_communications: flags.disable_auto_communications,
                    user_excluded: Default::default(),
                },
            }
        }
        Op::SetUserExclusion(u) => WriteOp::SetUserExclusion {
            consumer_id: u.consumer_id,
            phone: PhoneNumber::from_u64(u.phone),
            excluded: u.excluded,
        },
        Op::SetOptOut(o) => WriteOp::SetOptOut {
            phone: PhoneNumber::from_u64(o.phone),
            purpose: crate::domain::CallPurpose::from_wire(o.purpose).map_err(bad)?,
            at: match o.at {
                Some(at) => Some(chrono::DateTime::from_timestamp_millis(at.at_ms).ok_or_else(|| bad("a bad time"))?),
                None => None,
            },
        },
        Op::PutCallback(cb) => WriteOp::PutCallback(cb.to_domain()),
        Op::PutProgram(p) => WriteOp::PutProgram(program_from(&p).map_err(bad)?),
        Op::AddProgramNumbers(n) => WriteOp::AddProgramNumbers {
            program_id: n.program_id,
            numbers: n
                .numbers
                .iter()
                .zip(&n.purposes)
                .map(|(number, purpose)| {
                    Ok(ProgramNumber {
                        number: PhoneNumber::from_u64(*number),
                        purpose: required_enum(*purpose, "call_purpose").map_err(bad)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        },
        Op::CommitDoNotCall(d) => WriteOp::CommitDoNotCall {
            list: d.list,
            mode: match d.mode {
                0 => ImportMode::Add,
                1 => ImportMode::Replace,
                2 => ImportMode::Remove,
                _ => return Err(bad("an unknown Do Not Call import mode")),
            },
            import: d
                .import
                .ok_or_else(|| bad("a Do Not Call commit without its import"))?
                .to_domain(),
            numbers: d.numbers,
            at: chrono::DateTime::from_timestamp_millis(d.at_ms).ok_or_else(|| bad("a bad time"))?,
        },
        Op::PutReassigned(r) => WriteOp::PutReassigned(crate::store::kv::reassigned::unpack(b"change", &r.packed)?),
        Op::SetConsent(c) => {
            let consent = c.consent.unwrap_or_default();
            WriteOp::SetConsent {
                consumer_id: c.consumer_id,
                phone: PhoneNumber::from_u64(c.phone),
                telemarketing: consent.telemarketing,
                at: chrono::DateTime::from_timestamp_millis(consent.at_ms).ok_or_else(|| bad("a bad time"))?,
            }
        }
    };
    Ok((op, applied))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::callback::Callback;
    use crate::domain::lease::Lease;
    use crate::domain::{CallPurpose, Channel, Consumer, Contact, Role};

    fn at() -> DateTime<Utc> {
        "2026-06-02T15:00:00Z".parse().unwrap()
    }

    fn number(n: u64) -> PhoneNumber {
        PhoneNumber::from_u64(15_550_000_000 + n)
    }

    /// One write of every kind memory holds. Long on purpose: a literal of each kind.
    fn every_write() -> Vec<(WriteOp, Applied)> {
        let lease = Lease {
            attempt_id: AttemptId::from_bytes([7; 16]),
            consumer_id: "c".into(),
            request_id: "r".into(),
            channel: Channel::Phone,
            phone: Some(number(1)),
            at: at(),
            expires_at: at() + chrono::Duration::minutes(15),
            operator_id: "op".into(),
            granted_by: None,
        };
        vec![
            (
                WriteOp::PutConsumer(Consumer {
                    id: "c".into(),
                    role: Role::Cosigner,
                    group_id: Some("g".into()),
                    state: Some("NY".into()),
                    country: Some("US".into()),
                    time_zone: Some(chrono_tz::America::New_York),
                    address_time_zone: None,
                    phones: vec![],
                    emails: vec!["c@example.com".into()],
                    ssn_hash: None,
                    postal_code: None,
                    county: None,
                }),
                Applied::Done,
            ),
            (
                WriteOp::RecordContact(Contact {
                    event_id: "e".into(),
                    consumer_id: "c".into(),
                    channel: Channel::Phone,
                    phone: Some(number(1)),
                    email: None,
                    result_code: 4,
                    occurred_at: at(),
                    operator_id: "op".into(),
                    caller_id: None,
                    template: String::new(),
                    inbound: false,
                    attempt_id: Some(lease.attempt_id),
                    consented: false,
                }),
                Applied::Settled(lease.attempt_id),
            ),
            (
                WriteOp::TakeLease {
                    lease: lease.clone(),
                    seen: 0,
                },
                Applied::Done,
            ),
            (
                WriteOp::ReleaseLease {
                    consumer_id: "c".into(),
                    attempt_id: lease.attempt_id,
                },
                Applied::Done,
            ),
            (
                WriteOp::PutRuleSet(Arc::new(crate::domain::RuleSet::regulation_f(3))),
                Applied::Done,
            ),
            (
                WriteOp::SetExclusionFlags {
                    consumer_id: "c".into(),
                    flags: Exclusions {
                        bankruptcy: true,
                        ..Exclusions::default()
                    },
                },
                Applied::Done,
            ),
            (
                WriteOp::SetUserExclusion {
                    consumer_id: "c".into(),
                    phone: number(2),
                    excluded: true,
                },
                Applied::Done,
            ),
            (
                WriteOp::SetOptOut {
                    phone: number(3),
                    at: Some(at()),
                    purpose: Some(CallPurpose::Telemarketing),
                },
                Applied::Done,
            ),
            (
                WriteOp::SetOptOut {
                    phone: number(3),
                    at: None,
                    purpose: None,
                },
                Applied::Done,
            ),
            (
                WriteOp::PutCallback(Callback {
                    id: "cb".into(),
                    consumer_id: "c".into(),
                    phone: number(1),
                    callback_at: at(),
                    operator_id: "op".into(),
                }),
                Applied::Done,
            ),
            (
                WriteOp::AddProgramNumbers {
                    program_id: "p".into(),
                    numbers: vec![ProgramNumber {
                        number: number(9),
                        purpose: CallPurpose::Telemarketing,
                    }],
                },
                Applied::Done,
            ),
            (
                WriteOp::CommitDoNotCall {
                    list: "national".into(),
                    mode: ImportMode::Replace,
                    import: crate::domain::do_not_call::ImportRef {
                        import_id: 7,
                        chunks: 3,
                        remove: false,
                    },
                    numbers: 2,
                    at: at(),
                },
                Applied::Done,
            ),
            (
                WriteOp::SetConsent {
                    consumer_id: "c".into(),
                    phone: number(4),
                    telemarketing: true,
                    at: at(),
                },
                Applied::Done,
            ),
        ]
    }

    #[test]
    fn every_write_memory_holds_comes_back_from_its_change_as_it_was() {
        for (op, applied) in every_write() {
            let bytes = encode(&op, &applied).unwrap_or_else(|| panic!("{op:?} makes no change"));
            let (back, back_applied) = decode(&bytes).unwrap();
            assert_eq!(back_applied, applied);
            // The encodings agree (WriteOp holds compiled rules and has no equality).
            assert_eq!(encode(&back, &back_applied), Some(bytes), "{op:?}");
        }
    }

    #[test]
    fn duplicates_prompts_and_notes_make_no_change() {
        let (contact, _) = every_write().swap_remove(1);
        assert_eq!(encode(&contact, &Applied::Duplicate), None);
        let note = WriteOp::Note(crate::domain::audit::NoteDraft {
            consumer_id: "c".into(),
            at: at(),
            operator_id: String::new(),
            kind: crate::domain::audit::NoteKind::OptedOut,
            text: "x".into(),
        });
        assert_eq!(encode(&note, &Applied::Noted(1)), None);
        assert!(decode(b"\xff\xff").is_err());
    }
}
