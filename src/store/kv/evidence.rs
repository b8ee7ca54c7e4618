//! The evidence log: every recorded event, written with the write that records it and kept
//! in time order, so an export is one ordered scan of the store — memory stays flat however
//! many records it streams, and any node of a cluster reads the same log.
//!
//! What each write is evidence of is decided here, from the write and what it did
//! ([`record`]), so no caller can forget it:
//! - a contact recorded (not a duplicate): `CONTACT`, and `LEASE_SETTLED` for the lease it
//!   settled, with the decision that granted that lease;
//! - a lease taken: `LEASE`, with its granting decision;
//! - a consent given or withdrawn: `CONSENT`;
//! - a note of the audit trail: the kind its note kind maps to
//!   ([`EvidenceKind::of_note`]), with the number, attempt, decision or rule-set version the
//!   job's other writes name (the note is the record of that event: one record, not two).
//!
//! Two things are filled in when exported rather than when written, because they are
//! answers about the rules, not facts of the event: whether a contact counted toward a
//! cap, and (for records no decision stamped) the rule-set version in force at its instant.

use prost::Message;

use super::Kv;
use super::keys::*;
use super::leases::lease_at;
use super::staging::Staging;
use crate::domain::audit::NoteDraft;
use crate::domain::evidence::{Evidence, EvidenceKind};
use crate::domain::lease::Lease;
use crate::domain::{Channel, Contact, PhoneNumber, Verdict};
use crate::proto::convert::{evidence_from, evidence_to};
use crate::proto::v1 as pb;
use crate::store::records::PromptRecord;
use crate::store::{Applied, StoreError, WriteOp};

/// The counter that numbers evidence records (ties at one millisecond keep write order).
pub(crate) const EVIDENCE_SEQ: &str = "evidence-seq";

/// Stages what `op` (one of `job`'s writes, which did `applied`) is evidence of.
pub(crate) fn record(op: &WriteOp, applied: &Applied, job: &[WriteOp], st: &mut Staging) -> Result<(), StoreError> {
    match (op, applied) {
        (WriteOp::RecordContact(c), Applied::Done | Applied::Settled(_)) => {
            put(st, &contact(c))?;
            if let Applied::Settled(id) = applied
                && let Some((lease, _)) = lease_at(&|k| st.get(k), *id)?
            {
                let mut settled = of_lease(&lease, EvidenceKind::LeaseSettled);
                settled.at = c.occurred_at;
                settled.operator_id.clone_from(&c.operator_id);
                settled.result_code = c.result_code;
                put(st, &settled)?;
            }
        }
        (WriteOp::TakeLease { lease, .. }, _) => {
            let mut taken = of_lease(lease, EvidenceKind::Lease);
            // A lease counts as one contact of its channel while its call is in flight.
            taken.counted = true;
            put(st, &taken)?;
        }
        (
            WriteOp::SetConsent {
                consumer_id,
                phone,
                telemarketing,
                at,
            },
            _,
        ) => {
            let mut e = Evidence::new(EvidenceKind::Consent, *at, consumer_id);
            about(&mut e, *phone);
            e.text = if *telemarketing {
                "Prior express consent to telemarketing calls given.".into()
            } else {
                "Consent to telemarketing calls withdrawn.".into()
            };
            put(st, &e)?;
        }
        (WriteOp::Note(note), _) => {
            let e = of_note(note, job, st)?;
            put(st, &e)?;
        }
        _ => {}
    }
    Ok(())
}

fn contact(c: &Contact) -> Evidence {
    let mut e = Evidence::new(EvidenceKind::Contact, c.occurred_at, &c.consumer_id);
    e.channel = Some(c.channel);
    e.phone = c
        .phone
        .map(|p| p.to_string())
        .or_else(|| c.email.clone())
        .unwrap_or_default();
    e.result_code = c.result_code;
    e.inbound = c.inbound;
    e.consented = c.consented;
    e.operator_id.clone_from(&c.operator_id);
    e.caller_id = c.caller_id;
    e.attempt_id = c.attempt_id;
    e.text.clone_from(&c.template);
    e
}

fn of_lease(lease: &Lease, kind: EvidenceKind) -> Evidence {
    let mut e = Evidence::new(kind, lease.at, &lease.consumer_id);
    e.channel = Some(lease.channel);
    e.phone = lease.phone.map(|p| p.to_string()).unwrap_or_default();
    e.operator_id.clone_from(&lease.operator_id);
    e.attempt_id = Some(lease.attempt_id);
    e.decided_by(lease.granted_by.as_ref());
    e
}

/// A note's record, with what the job's other writes say about its event.
fn of_note(note: &NoteDraft, job: &[WriteOp], st: &Staging) -> Result<Evidence, StoreError> {
    let mut e = Evidence::new(EvidenceKind::of_note(note.kind), note.at, &note.consumer_id);
    e.operator_id.clone_from(&note.operator_id);
    e.text.clone_from(&note.text);
    for op in job {
        match op {
            WriteOp::SetOptOut { phone, .. } | WriteOp::SetUserExclusion { phone, .. } => about(&mut e, *phone),
            WriteOp::PutCallback(cb) => about(&mut e, cb.phone),
            WriteOp::ReleaseLease { attempt_id, .. } => {
                if let Some((lease, _)) = lease_at(&|k| st.get(k), *attempt_id)? {
                    e.attempt_id = Some(*attempt_id);
                    e.channel = Some(lease.channel);
                    e.phone = lease.phone.map(|p| p.to_string()).unwrap_or_default();
                    e.decided_by(lease.granted_by.as_ref());
                }
            }
            WriteOp::IssuePrompt { prompt, .. } => {
                if let Some(r) = &prompt.reservation {
                    e.channel = Some(r.channel);
                    e.phone = r.phone.map(|p| p.to_string()).unwrap_or_default();
                }
                e.decided_by(prompt.decision.as_ref());
                if let Some((verdict, _)) = &mut e.decision {
                    *verdict = Verdict::Prompt;
                }
            }
            WriteOp::AnswerPrompt { token, .. } => {
                let k = key(PROMPT, token);
                if let Some(v) = st.get(&k)?
                    && let Some(prompt) = decode::<PromptRecord>(&k, &v)?.to_domain()
                {
                    if let Some(r) = &prompt.reservation {
                        e.channel = Some(r.channel);
                        e.phone = r.phone.map(|p| p.to_string()).unwrap_or_default();
                    }
                    e.decided_by(prompt.decision.as_ref());
                }
            }
            WriteOp::PutRuleSet(rules) => e.rule_set_version = rules.version,
            _ => {}
        }
    }
    Ok(e)
}

fn about(e: &mut Evidence, phone: PhoneNumber) {
    e.channel = Some(Channel::Phone);
    e.phone = phone.to_string();
}

/// What the wire record has no field for, stored beside it under a tag the wire message
/// does not use (protobuf merges concatenated messages; each reader takes its fields).
#[derive(Clone, PartialEq, prost::Message)]
struct Stored {
    #[prost(bool, tag = "100")]
    inbound: bool,
    #[prost(bool, tag = "101")]
    consented: bool,
}

fn encode(e: &Evidence) -> Vec<u8> {
    let mut bytes = evidence_to(e).encode_to_vec();
    Stored {
        inbound: e.inbound,
        consented: e.consented,
    }
    .encode(&mut bytes)
    .expect("a Vec grows");
    bytes
}

fn decode_evidence(k: &[u8], v: &[u8]) -> Result<Evidence, StoreError> {
    let mut e = evidence_from(&decode::<pb::EvidenceRecord>(k, v)?)
        .ok_or_else(|| corrupt(k, "an evidence record this build cannot read"))?;
    let stored = decode::<Stored>(k, v)?;
    e.inbound = stored.inbound;
    e.consented = stored.consented;
    Ok(e)
}

/// Writes a record into the log, and its consumer's index.
fn put(st: &mut Staging, e: &Evidence) -> Result<(), StoreError> {
    let seq = st.next_counter(key(META, EVIDENCE_SEQ))?;
    let tail = log_tail(e.at.timestamp_millis(), seq);
    if !e.consumer_id.is_empty() {
        st.put(consumer_key(&e.consumer_id, &tail), Vec::new());
    }
    let mut k = Vec::with_capacity(1 + tail.len());
    k.push(EVIDENCE);
    k.extend_from_slice(&tail);
    st.put(k, encode(e));
    Ok(())
}

/// Time and number: what orders the log, and ends both of a record's keys.
fn log_tail(at_ms: i64, seq: u64) -> [u8; 16] {
    let mut tail = [0u8; 16];
    tail[..8].copy_from_slice(&time_bytes(at_ms));
    tail[8..].copy_from_slice(&seq.to_be_bytes());
    tail
}

fn consumer_key(consumer_id: &str, tail: &[u8]) -> Vec<u8> {
    let mut k = length_prefixed(EVIDENCE_BY_CONSUMER, consumer_id);
    k.extend_from_slice(tail);
    k
}

/// The index entry of a log record (for retention, which deletes both).
pub(crate) fn index_key_of(log_key: &[u8], consumer_id: &str) -> Option<Vec<u8>> {
    (!consumer_id.is_empty()).then(|| consumer_key(consumer_id, &log_key[1..]))
}

/// The time stamped in a log key.
pub(crate) fn log_key_time(k: &[u8]) -> Option<i64> {
    let t: [u8; 8] = k.get(1..9)?.try_into().ok()?;
    Some((u64::from_be_bytes(t) ^ (1 << 63)) as i64)
}

/// The evidence of one consumer (`Some`) or of everyone, from `from_ms` on (none: from the
/// first), in time order, until `f` answers false.
pub fn scan<K: Kv>(
    kv: &K,
    consumer_id: Option<&str>,
    from_ms: Option<i64>,
    f: &mut dyn FnMut(Evidence) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let start = from_ms.map(|t| time_bytes(t).to_vec()).unwrap_or_default();
    match consumer_id {
        None => {
            let prefix = [EVIDENCE];
            let mut from = prefix.to_vec();
            from.extend_from_slice(&start);
            kv.scan_from(&prefix, &from, &mut |k, v| f(decode_evidence(k.as_ref(), v.as_ref())?))
        }
        Some(id) => {
            let prefix = length_prefixed(EVIDENCE_BY_CONSUMER, id);
            let mut from = prefix.clone();
            from.extend_from_slice(&start);
            kv.scan_from(&prefix, &from, &mut |k, _| {
                let mut log_key = vec![EVIDENCE];
                log_key.extend_from_slice(&k.as_ref()[prefix.len()..]);
                // Retention deletes a record and its index entry together; an entry without
                // its record is skipped rather than failing the export.
                match kv.get(&log_key)? {
                    Some(v) => f(decode_evidence(&log_key, v.as_ref())?),
                    None => Ok(true),
                }
            })
        }
    }
}
