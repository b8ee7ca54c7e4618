//! The key-value layout both backends share: what each key space holds, how its keys are
//! built and read back, and how a stored record is decoded (or named as corrupt).
//!
//! Keys (all big-endian so a backend's key order is the order we scan in):
//! - `c` + consumer id → `predial.v1.Consumer`
//! - `h` + len16(consumer id) + consumer id + at_ms (sign-flipped) + event id →
//!   `predial.v1.ContactEvent` — a consumer's history, in time order
//! - `e` + event id → the `h` key (the idempotency index)
//! - `r` + version → `predial.v1.RuleSet`
//! - `x` + consumer id → exclusion flags and numbers excluded by a user
//! - `o` + number → since when the consumer opted the number out (STOP)
//! - `k` + len16(consumer id) + consumer id + number → a callback not yet consumed
//! - `t` + token → a prompt
//! - `n` + len16(consumer id) + consumer id + note id → an audit note
//! - `j` + note id → the same note: every note in id order, whatever its consumer (the
//!   trail across consumers, paged)
//! - `m` + name → counters (`note-seq`, `dnc-seq`) and markers
//! - `p` + program id → `predial.v1.Program`
//! - `q` + number → the program and purpose of a caller-ID number
//! - `d` + import id + chunk number → a chunk of a Do Not Call import (numbers as
//!   big-endian u64s); `d` + chunk number alone: a chunk stored before lists had names
//!   (the default list's)
//! - `b` + list name → a Do Not Call list: the imports that make it
//! - `s` + len16(consumer id) + consumer id + number → telemarketing consent
//! - `g` + number + consumer id → nothing: which consumers have a number (inbound texts
//!   ask it; memory does not keep it, to keep a consumer's footprint small)
//! - `l` + attempt id (16 bytes) → a lease ever granted (rewritten only when released)
//! - `u` + consumer id → the attempt ids of its unsettled leases, packed (16 bytes each):
//!   one value, not a key per lease, so a job reads through the staging the leases an
//!   earlier job of its group took (staging answers point reads, not scans). A lease no
//!   longer listed here and not released was settled.
//! - `f` + sequence number → a chunk of Reassigned Numbers Database answers, packed
//!   (`kv::reassigned`), in the order written
//! - `v` + at_ms (sign-flipped) + evidence id → `predial.v1.EvidenceRecord`: every
//!   recorded event in time order, what an export streams (`kv::evidence`)
//! - `w` + len16(consumer id) + consumer id + at_ms (sign-flipped) + evidence id → nothing:
//!   one consumer's evidence, in time order (its `v` key is the `w` key's tail)

use prost::Message;

use super::super::StoreError;
use crate::domain::lease::AttemptId;
use crate::domain::{Channel, Contact, ContactRec, PhoneNumber, RecKind};
use crate::proto::convert::WireEnum;
use crate::proto::v1 as pb;
use crate::store::records::ContactRecView;

pub(crate) const CONSUMER: u8 = b'c';
pub(crate) const HISTORY: u8 = b'h';
pub(crate) const EVENT: u8 = b'e';
pub(crate) const RULES: u8 = b'r';
pub(crate) const EXCLUSIONS: u8 = b'x';
pub(crate) const OPT_OUT: u8 = b'o';
pub(crate) const CALLBACK: u8 = b'k';
pub(crate) const PROMPT: u8 = b't';
pub(crate) const NOTE: u8 = b'n';
pub(crate) const NOTE_LOG: u8 = b'j';
pub(crate) const META: u8 = b'm';
pub(crate) const PROGRAM: u8 = b'p';
pub(crate) const PROGRAM_NUMBER: u8 = b'q';
pub(crate) const DO_NOT_CALL: u8 = b'd';
pub(crate) const DNC_LIST: u8 = b'b';
pub(crate) const CONSENT: u8 = b's';
pub(crate) const NUMBER_INDEX: u8 = b'g';
pub(crate) const LEASE: u8 = b'l';
pub(crate) const UNSETTLED: u8 = b'u';
pub(crate) const EVIDENCE: u8 = b'v';
pub(crate) const REASSIGNED: u8 = b'f';
pub(crate) const EVIDENCE_BY_CONSUMER: u8 = b'w';

/// The `m` key whose presence says the number index is complete.
pub(crate) const NUMBER_INDEX_BUILT: &str = "number-index";
pub(crate) const NOTE_LOG_BUILT: &str = "note-log";
/// The counter that numbered the chunks stored before lists had names.
pub(crate) const LEGACY_DNC_SEQ: &str = "dnc-seq";

/// The key of a note in the log of every note: `j` + its id (8 bytes, big-endian).
pub(crate) fn note_log_key(id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(NOTE_LOG);
    k.extend_from_slice(id);
    k
}

/// The numbers of a stored consumer.
pub(crate) fn stored_numbers(k: &[u8], consumer: &pb::Consumer) -> Result<Vec<PhoneNumber>, StoreError> {
    consumer
        .phones
        .iter()
        .map(|p| PhoneNumber::parse(&p.number).map_err(|e| corrupt(k, e)))
        .collect()
}

pub(crate) fn number_index_key(phone: PhoneNumber, consumer_id: &str) -> Vec<u8> {
    let mut k = number_key(NUMBER_INDEX, phone);
    k.extend_from_slice(consumer_id.as_bytes());
    k
}

pub(crate) fn key(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id.as_bytes());
    k
}

/// `prefix` + len16(id) + id: a key space per consumer that no other id's can overlap.
pub(crate) fn length_prefixed(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + id.len() + 16);
    k.push(prefix);
    k.extend_from_slice(&(id.len() as u16).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

pub(crate) fn history_prefix(consumer_id: &str) -> Vec<u8> {
    length_prefixed(HISTORY, consumer_id)
}

pub(crate) fn number_key(prefix: u8, phone: PhoneNumber) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(&phone.as_u64().to_be_bytes());
    k
}

pub(crate) fn callback_key(consumer_id: &str, phone: PhoneNumber) -> Vec<u8> {
    let mut k = length_prefixed(CALLBACK, consumer_id);
    k.extend_from_slice(&phone.as_u64().to_be_bytes());
    k
}

/// Sign-flipped big-endian milliseconds sort in time order, negative times included.
pub(crate) fn time_bytes(at_ms: i64) -> [u8; 8] {
    ((at_ms as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn history_key(c: &Contact) -> Vec<u8> {
    let mut k = history_prefix(&c.consumer_id);
    k.extend_from_slice(&time_bytes(c.occurred_at.timestamp_millis()));
    k.extend_from_slice(c.event_id.as_bytes());
    k
}

/// What memory keeps of a stored contact, read through the field-subset view.
pub(crate) fn contact_rec(at_ms: i64, k: &[u8], v: &[u8]) -> Result<ContactRec, StoreError> {
    let view = decode::<ContactRecView>(k, v)?;
    let channel = Channel::from_wire(view.channel)
        .ok()
        .flatten()
        .ok_or_else(|| corrupt(k, "a contact without a channel"))?;
    let phone = match view.phone.as_str() {
        "" => 0,
        text => PhoneNumber::parse(text).map_err(|e| corrupt(k, e))?.tag(),
    };
    Ok(ContactRec {
        at_ms,
        code: view.result_code,
        phone,
        channel,
        kind: RecKind::of(view.inbound, view.consented),
    })
}

/// The time stamped in a history key, without decoding the record.
pub(crate) fn history_key_time(k: &[u8]) -> Option<i64> {
    let len = u16::from_be_bytes(k.get(1..3)?.try_into().ok()?) as usize;
    let t = k.get(3 + len..11 + len)?;
    Some((u64::from_be_bytes(t.try_into().ok()?) ^ (1 << 63)) as i64)
}

/// The number stored big-endian at `at` in a key.
pub(crate) fn key_number(k: &[u8], at: usize) -> Result<PhoneNumber, StoreError> {
    let digits = k
        .get(at..at + 8)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| corrupt(k, "malformed key"))?;
    Ok(PhoneNumber::from_u64(u64::from_be_bytes(digits)))
}

pub(crate) fn corrupt(k: &[u8], message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(k).into_owned(),
        message: message.to_string(),
    }
}

pub(crate) fn decode<M: Message + Default>(k: &[u8], v: &[u8]) -> Result<M, StoreError> {
    M::decode(v).map_err(|e| corrupt(k, e))
}

pub(crate) fn lease_key(id: AttemptId) -> Vec<u8> {
    let mut k = vec![LEASE];
    k.extend_from_slice(id.as_bytes());
    k
}

/// The key of chunk `chunk` of import `import_id`.
pub(crate) fn dnc_chunk_key(import_id: u64, chunk: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(DO_NOT_CALL);
    k.extend_from_slice(&import_id.to_be_bytes());
    k.extend_from_slice(&chunk.to_be_bytes());
    k
}

/// The key of a chunk stored before lists had names.
pub(crate) fn legacy_dnc_chunk_key(seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(DO_NOT_CALL);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A chunk's numbers.
pub(crate) fn dnc_numbers(k: &[u8], v: &[u8]) -> Result<Vec<PhoneNumber>, StoreError> {
    if v.len() % 8 != 0 {
        return Err(corrupt(k, "a Do Not Call chunk is not whole numbers"));
    }
    Ok(v.chunks_exact(8)
        .map(|d| PhoneNumber::from_u64(u64::from_be_bytes(d.try_into().expect("8 bytes"))))
        .collect())
}
