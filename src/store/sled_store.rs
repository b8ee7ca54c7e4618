//! The embedded backend: one sled tree with a key space per record kind.
//!
//! Keys (all big-endian so sled's order is the order we scan in):
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
//! - `m` + name → counters (`note-seq`, `dnc-seq`)
//! - `p` + program id → `predial.v1.Program`
//! - `q` + number → the program and purpose of a caller-ID number
//! - `d` + chunk number → a chunk of the Do Not Call list (numbers as big-endian u64s)
//! - `s` + len16(consumer id) + consumer id + number → telemarketing consent
//! - `g` + number + consumer id → nothing: which consumers have a number (inbound texts
//!   ask it; memory does not keep it, to keep a consumer's footprint small). Stores
//!   written before this index existed get it built once, when opened.
//! - `l` + attempt id (16 bytes) → a lease ever granted (rewritten only when released)
//! - `u` + consumer id → the attempt ids of its unsettled leases, packed (16 bytes each):
//!   one value, not a key per lease, so a job reads through [`Staging`] the leases an
//!   earlier job of its group took (staging answers point reads, not scans). A lease no
//!   longer listed here and not released was settled.
//!
//! One tree means one [`sled::Batch`] per group commit: every write of the group lands
//! together or not at all, and one `flush` makes them durable. Jobs are staged one over
//! another ([`Staging`]) so a job reads what earlier jobs of its group wrote, and a job
//! that is refused leaves nothing behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use prost::Message;

use chrono::{DateTime, Utc};

use super::records::{
    CallbackRecord, ConsentRecord, ContactRecView, ExclusionRecord, LeaseRecord, NoteRecord, OptOutRecord,
    ProgramNumberRecord, PromptRecord,
};
use super::staging::Staging;
use super::{Applied, JobOutcome, Rejected, Store, StoreError, WriteOp};
use crate::domain::audit::AuditNote;
use crate::domain::callback::Callback;
use crate::domain::lease::{self, AttemptId, Lease, LeaseState};
use crate::domain::programs::{Program, ProgramNumber};
use crate::domain::prompt::{Prompt, PromptRejection};
use crate::domain::{Channel, Exclusions, PhoneNumber};
use crate::domain::{Consumer, Contact, RuleSetDraft};
use crate::domain::{ContactRec, History, RecKind};
use crate::proto::convert::{
    WireEnum, consumer_from, consumer_to, contact_from, contact_to, program_from, program_to, required_enum,
    rule_set_draft_from, rule_set_to,
};
use crate::proto::v1 as pb;

const CONSUMER: u8 = b'c';
const HISTORY: u8 = b'h';
const EVENT: u8 = b'e';
const RULES: u8 = b'r';
const EXCLUSIONS: u8 = b'x';
const OPT_OUT: u8 = b'o';
const CALLBACK: u8 = b'k';
const PROMPT: u8 = b't';
const NOTE: u8 = b'n';
const META: u8 = b'm';
const PROGRAM: u8 = b'p';
const PROGRAM_NUMBER: u8 = b'q';
const DO_NOT_CALL: u8 = b'd';
const CONSENT: u8 = b's';
const NUMBER_INDEX: u8 = b'g';
const LEASE: u8 = b'l';
const UNSETTLED: u8 = b'u';

/// The `m` key whose presence says the number index is complete.
const NUMBER_INDEX_BUILT: &str = "number-index";

pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// The last flush failed: what the tree holds may not be on disk yet.
    flush_failed: AtomicBool,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(path).mode(sled::Mode::HighThroughput).open()?;
        let tree = db.open_tree("predial")?;
        let store = SledStore {
            db,
            tree,
            flush_failed: AtomicBool::new(false),
        };
        store.build_number_index()?;
        Ok(store)
    }

    /// Builds the number index of a store written before it existed: one entry per
    /// consumer's number, and the marker, in one atomic, durable batch.
    fn build_number_index(&self) -> Result<(), StoreError> {
        let marker = key(META, NUMBER_INDEX_BUILT);
        if self.tree.contains_key(&marker)? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix([CONSUMER]) {
            let (k, v) = item?;
            let consumer = decode::<pb::Consumer>(&k, &v)?;
            for n in stored_numbers(&k, &consumer)? {
                batch.insert(number_index_key(n, &consumer.id), &[]);
            }
        }
        batch.insert(marker, &[]);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

/// The numbers of a stored consumer.
fn stored_numbers(k: &[u8], consumer: &pb::Consumer) -> Result<Vec<PhoneNumber>, StoreError> {
    consumer
        .phones
        .iter()
        .map(|p| PhoneNumber::parse(&p.number).map_err(|e| corrupt(k, e)))
        .collect()
}

fn number_index_key(phone: PhoneNumber, consumer_id: &str) -> Vec<u8> {
    let mut k = number_key(NUMBER_INDEX, phone);
    k.extend_from_slice(consumer_id.as_bytes());
    k
}

fn key(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id.as_bytes());
    k
}

/// `prefix` + len16(id) + id: a key space per consumer that no other id's can overlap.
fn length_prefixed(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + id.len() + 16);
    k.push(prefix);
    k.extend_from_slice(&(id.len() as u16).to_be_bytes());
    k.extend_from_slice(id.as_bytes());
    k
}

fn history_prefix(consumer_id: &str) -> Vec<u8> {
    length_prefixed(HISTORY, consumer_id)
}

fn number_key(prefix: u8, phone: PhoneNumber) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(&phone.as_u64().to_be_bytes());
    k
}

fn callback_key(consumer_id: &str, phone: PhoneNumber) -> Vec<u8> {
    let mut k = length_prefixed(CALLBACK, consumer_id);
    k.extend_from_slice(&phone.as_u64().to_be_bytes());
    k
}

/// Sign-flipped big-endian milliseconds sort in time order, negative times included.
fn time_bytes(at_ms: i64) -> [u8; 8] {
    ((at_ms as u64) ^ (1 << 63)).to_be_bytes()
}

fn history_key(c: &Contact) -> Vec<u8> {
    let mut k = history_prefix(&c.consumer_id);
    k.extend_from_slice(&time_bytes(c.occurred_at.timestamp_millis()));
    k.extend_from_slice(c.event_id.as_bytes());
    k
}

/// What memory keeps of a stored contact, read through the field-subset view.
fn contact_rec(at_ms: i64, k: &[u8], v: &[u8]) -> Result<ContactRec, StoreError> {
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
        kind: if view.inbound {
            RecKind::Inbound
        } else {
            RecKind::Outbound
        },
    })
}

/// The time stamped in a history key, without decoding the record.
fn history_key_time(k: &[u8]) -> Option<i64> {
    let len = u16::from_be_bytes(k.get(1..3)?.try_into().ok()?) as usize;
    let t = k.get(3 + len..11 + len)?;
    Some((u64::from_be_bytes(t.try_into().ok()?) ^ (1 << 63)) as i64)
}

/// The number stored big-endian at `at` in a key.
fn key_number(k: &[u8], at: usize) -> Result<PhoneNumber, StoreError> {
    let digits = k
        .get(at..at + 8)
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| corrupt(k, "malformed key"))?;
    Ok(PhoneNumber::from_u64(u64::from_be_bytes(digits)))
}

fn corrupt(k: &[u8], message: impl ToString) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(k).into_owned(),
        message: message.to_string(),
    }
}

fn decode<M: Message + Default>(k: &[u8], v: &[u8]) -> Result<M, StoreError> {
    M::decode(v).map_err(|e| corrupt(k, e))
}

/// The next value of counter `name` (from 1), staged with the job.
fn next_seq(st: &mut Staging, name: &str) -> Result<u64, StoreError> {
    let k = key(META, name);
    let last = st
        .get(&k)?
        .and_then(|v| v.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    st.put(k, (last + 1).to_be_bytes().to_vec());
    Ok(last + 1)
}

fn lease_key(id: AttemptId) -> Vec<u8> {
    let mut k = vec![LEASE];
    k.extend_from_slice(id.as_bytes());
    k
}

/// A point read: through the staging during a commit, of the tree otherwise. The lease
/// helpers below take one, so the commit and the store's readers derive a lease's state
/// the same way.
type Get<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError>;

/// A lease, and where it stands: written once when granted (and again only if released);
/// unsettled while its id is among its consumer's unsettled ones, settled once it has
/// left them without being released. Settling so rewrites one small value, not the
/// lease's record.
fn lease_at(get: Get, id: AttemptId) -> Result<Option<(Lease, LeaseState)>, StoreError> {
    let k = lease_key(id);
    let Some(v) = get(&k)? else { return Ok(None) };
    let (lease, recorded) = decode::<LeaseRecord>(&k, &v)?
        .to_domain()
        .ok_or_else(|| corrupt(&k, "a lease record is not whole"))?;
    let state = match recorded {
        LeaseState::Released => LeaseState::Released,
        _ if unsettled_ids(get, &lease.consumer_id)?.contains(&id) => LeaseState::Unsettled,
        _ => LeaseState::Settled,
    };
    Ok(Some((lease, state)))
}

/// The attempt ids of a consumer's unsettled leases.
fn unsettled_ids(get: Get, consumer_id: &str) -> Result<Vec<AttemptId>, StoreError> {
    let k = key(UNSETTLED, consumer_id);
    Ok(match get(&k)? {
        Some(v) => packed_ids(&k, &v)?,
        None => Vec::new(),
    })
}

/// A consumer's unsettled leases.
fn unsettled_of(get: Get, consumer_id: &str) -> Result<Vec<Lease>, StoreError> {
    let mut leases = Vec::new();
    for id in unsettled_ids(get, consumer_id)? {
        let k = lease_key(id);
        let v = get(&k)?.ok_or_else(|| corrupt(&k, "an unsettled lease without its record"))?;
        let (lease, _) = decode::<LeaseRecord>(&k, &v)?
            .to_domain()
            .ok_or_else(|| corrupt(&k, "a lease record is not whole"))?;
        leases.push(lease);
    }
    Ok(leases)
}

fn packed_ids(k: &[u8], v: &[u8]) -> Result<Vec<AttemptId>, StoreError> {
    if v.len() % 16 != 0 {
        return Err(corrupt(k, "unsettled lease ids are not whole"));
    }
    Ok(v.chunks_exact(16)
        .map(|c| AttemptId::from_bytes(c.try_into().expect("16 bytes")))
        .collect())
}

fn put_unsettled_ids(st: &mut Staging, consumer_id: &str, ids: &[AttemptId]) {
    let k = key(UNSETTLED, consumer_id);
    if ids.is_empty() {
        st.remove(k);
    } else {
        st.put(k, ids.iter().flat_map(|id| *id.as_bytes()).collect());
    }
}

/// Takes a lease out of its consumer's unsettled ones: settled, or (`released`) released.
fn close_lease(st: &mut Staging, lease: &Lease, released: bool) -> Result<(), StoreError> {
    if released {
        st.put(
            lease_key(lease.attempt_id),
            LeaseRecord::of(lease, LeaseState::Released).encode_to_vec(),
        );
    }
    let mut ids = unsettled_ids(&|k| st.get(k), &lease.consumer_id)?;
    ids.retain(|id| *id != lease.attempt_id);
    put_unsettled_ids(st, &lease.consumer_id, &ids);
    Ok(())
}

/// The lease a contact settles, if any, under the domain's rules: the one it names, or
/// the oldest of its consumer, channel and number. A lease it may not settle refuses the
/// job.
fn lease_settled_by(st: &Staging, c: &Contact) -> Result<Option<Lease>, StageError> {
    let get = |k: &[u8]| st.get(k);
    match c.attempt_id {
        Some(id) => {
            let found = lease_at(&get, id)?;
            let settles = lease::settles(found.as_ref().map(|(l, s)| (l, *s)), &c.consumer_id, c.channel)
                .map_err(|r| StageError::Rejected(r.into()))?;
            Ok(found.filter(|_| settles).map(|(l, _)| l))
        }
        None => {
            let unsettled = unsettled_of(&get, &c.consumer_id)?;
            Ok(lease::oldest_settled_by(&unsettled, c.channel, c.phone, c.inbound).cloned())
        }
    }
}

enum StageError {
    Rejected(Rejected),
    Store(StoreError),
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        StageError::Store(e)
    }
}

impl SledStore {
    /// A point read of the tree, as the lease helpers take it.
    fn read(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(k)?.map(|v| v.to_vec()))
    }

    fn stage(&self, op: &WriteOp, st: &mut Staging) -> Result<Applied, StageError> {
        match op {
            WriteOp::PutConsumer(c) => {
                let k = key(CONSUMER, &c.id);
                let old = match st.get(&k)? {
                    Some(v) => stored_numbers(&k, &decode::<pb::Consumer>(&k, &v)?)?,
                    None => Vec::new(),
                };
                let new: Vec<PhoneNumber> = c.phones.iter().map(|p| p.number).collect();
                for n in old.iter().filter(|n| !new.contains(n)) {
                    st.remove(number_index_key(*n, &c.id));
                }
                for n in new.iter().filter(|n| !old.contains(n)) {
                    st.put(number_index_key(*n, &c.id), Vec::new());
                }
                st.put(k, consumer_to(c).encode_to_vec());
            }
            WriteOp::RecordContact(c) => {
                let event_key = key(EVENT, &c.event_id);
                if st.get(&event_key)?.is_some() {
                    return Ok(Applied::Duplicate);
                }
                let settled = lease_settled_by(st, c)?;
                if let Some(lease) = &settled {
                    close_lease(st, lease, false)?;
                }
                let hk = history_key(c);
                st.put(event_key, hk.clone());
                st.put(hk, contact_to(c).encode_to_vec());
                if let (Channel::Phone, Some(phone)) = (c.channel, c.phone) {
                    let ck = callback_key(&c.consumer_id, phone);
                    if let Some(v) = st.get(&ck)? {
                        let cb: CallbackRecord = decode(&ck, &v)?;
                        if cb.callback_at_ms <= c.occurred_at.timestamp_millis() {
                            st.remove(ck);
                        }
                    }
                }
                if let Some(lease) = settled {
                    return Ok(Applied::Settled(lease.attempt_id));
                }
            }
            WriteOp::TakeLease(lease) => {
                st.put(
                    lease_key(lease.attempt_id),
                    LeaseRecord::of(lease, LeaseState::Unsettled).encode_to_vec(),
                );
                let mut ids = unsettled_ids(&|k| st.get(k), &lease.consumer_id)?;
                ids.push(lease.attempt_id);
                put_unsettled_ids(st, &lease.consumer_id, &ids);
            }
            WriteOp::ReleaseLease { attempt_id, .. } => {
                let found = lease_at(&|k| st.get(k), *attempt_id)?;
                lease::release(found.as_ref().map(|(_, s)| *s)).map_err(|r| StageError::Rejected(r.into()))?;
                let (lease, _) = found.expect("release checked it exists");
                close_lease(st, &lease, true)?;
            }
            WriteOp::PutRuleSet(rules) => {
                let mut k = vec![RULES];
                k.extend_from_slice(&rules.version.to_be_bytes());
                st.put(k, rule_set_to(&rules.draft, rules.version).encode_to_vec());
            }
            WriteOp::SetExclusionFlags { consumer_id, flags } => {
                let k = key(EXCLUSIONS, consumer_id);
                let mut record = self.exclusions_at(st, &k)?;
                record.bankruptcy = flags.bankruptcy;
                record.disable_text_and_auto_calls = flags.disable_text_and_auto_calls;
                record.disable_auto_communications = flags.disable_auto_communications;
                st.put(k, record.encode_to_vec());
            }
            WriteOp::SetUserExclusion {
                consumer_id,
                phone,
                excluded,
            } => {
                let k = key(EXCLUSIONS, consumer_id);
                let mut record = self.exclusions_at(st, &k)?;
                record.user_excluded.retain(|n| *n != phone.as_u64());
                if *excluded {
                    record.user_excluded.push(phone.as_u64());
                }
                st.put(k, record.encode_to_vec());
            }
            WriteOp::SetOptOut { phone, at } => {
                let k = number_key(OPT_OUT, *phone);
                match at {
                    Some(at) => st.put(
                        k,
                        OptOutRecord {
                            at_ms: at.timestamp_millis(),
                        }
                        .encode_to_vec(),
                    ),
                    None => st.remove(k),
                }
            }
            WriteOp::PutCallback(cb) => {
                st.put(
                    callback_key(&cb.consumer_id, cb.phone),
                    CallbackRecord::of(cb).encode_to_vec(),
                );
            }
            WriteOp::IssuePrompt { token, prompt } => {
                st.put(key(PROMPT, token), PromptRecord::of(prompt).encode_to_vec())
            }
            WriteOp::AnswerPrompt {
                token,
                operator_id,
                now,
            } => {
                let k = key(PROMPT, token);
                let Some(v) = st.get(&k)? else {
                    return Err(StageError::Rejected(PromptRejection::Unknown.into()));
                };
                let mut record: PromptRecord = decode(&k, &v)?;
                record
                    .to_domain()
                    .ok_or_else(|| corrupt(&k, "a prompt record is not whole"))?
                    .check_answer(operator_id, *now)
                    .map_err(|r| StageError::Rejected(r.into()))?;
                record.used = true;
                st.put(k, record.encode_to_vec());
            }
            WriteOp::Note(note) => {
                let seq_key = key(META, "note-seq");
                let last = st
                    .get(&seq_key)?
                    .and_then(|v| v.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                let id = last + 1;
                st.put(seq_key, id.to_be_bytes().to_vec());
                let mut k = length_prefixed(NOTE, &note.consumer_id);
                k.extend_from_slice(&id.to_be_bytes());
                st.put(k, NoteRecord::of(id, note).encode_to_vec());
                return Ok(Applied::Noted(id));
            }
            WriteOp::PutProgram(p) => st.put(key(PROGRAM, &p.id), program_to(p).encode_to_vec()),
            WriteOp::AddProgramNumbers { program_id, numbers } => {
                for n in numbers {
                    let record = ProgramNumberRecord {
                        program_id: program_id.clone(),
                        call_purpose: n.purpose.to_wire(),
                    };
                    st.put(number_key(PROGRAM_NUMBER, n.number), record.encode_to_vec());
                }
            }
            WriteOp::AddDoNotCall(numbers) => {
                // One record per chunk of numbers, not per number: an import of millions is
                // a few hundred writes. Chunks may overlap; the set in memory dedups.
                let seq = next_seq(st, "dnc-seq")?;
                let mut packed = Vec::with_capacity(numbers.len() * 8);
                for n in numbers {
                    packed.extend_from_slice(&n.as_u64().to_be_bytes());
                }
                let mut k = vec![DO_NOT_CALL];
                k.extend_from_slice(&seq.to_be_bytes());
                st.put(k, packed);
            }
            WriteOp::SetConsent {
                consumer_id,
                phone,
                telemarketing,
                at,
            } => {
                let mut k = length_prefixed(CONSENT, consumer_id);
                k.extend_from_slice(&phone.as_u64().to_be_bytes());
                let record = ConsentRecord {
                    telemarketing: *telemarketing,
                    at_ms: at.timestamp_millis(),
                };
                st.put(k, record.encode_to_vec());
            }
        }
        Ok(Applied::Done)
    }

    fn exclusions_at(&self, st: &Staging, k: &[u8]) -> Result<ExclusionRecord, StoreError> {
        match st.get(k)? {
            Some(v) => decode(k, &v),
            None => Ok(ExclusionRecord::default()),
        }
    }
}

impl Store for SledStore {
    fn commit(&self, jobs: &[Vec<WriteOp>]) -> Result<Vec<JobOutcome>, StoreError> {
        let mut st = Staging::new(&self.tree);
        let mut outcomes = Vec::with_capacity(jobs.len());
        'jobs: for job in jobs {
            let mut applied = Vec::with_capacity(job.len());
            for op in job {
                match self.stage(op, &mut st) {
                    Ok(a) => applied.push(a),
                    Err(StageError::Rejected(r)) => {
                        st.drop_job();
                        outcomes.push(Err(r));
                        continue 'jobs;
                    }
                    Err(StageError::Store(e)) => return Err(e),
                }
            }
            st.keep_job();
            outcomes.push(Ok(applied));
        }
        // A group that writes nothing (only duplicates, only refusals) needs no flush:
        // what it read was made durable by an earlier group, unless a flush failed.
        let batch = st.into_batch();
        if batch.is_some() || self.flush_failed.load(Ordering::Relaxed) {
            if let Some(batch) = batch {
                self.tree.apply_batch(batch)?;
            }
            let flushed = self.db.flush();
            self.flush_failed.store(flushed.is_err(), Ordering::Relaxed);
            flushed?;
        }
        Ok(outcomes)
    }

    fn consumer(&self, id: &str) -> Result<Option<Consumer>, StoreError> {
        let k = key(CONSUMER, id);
        let Some(v) = self.tree.get(&k)? else { return Ok(None) };
        consumer_from(&decode::<pb::Consumer>(&k, &v)?)
            .map(Some)
            .map_err(|e| corrupt(&k, e))
    }

    fn for_each_consumer(&self, f: &mut dyn FnMut(Consumer)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([CONSUMER]) {
            let (k, v) = item?;
            f(consumer_from(&decode::<pb::Consumer>(&k, &v)?).map_err(|e| corrupt(&k, e))?);
        }
        Ok(())
    }

    fn for_each_recent_history(&self, reach_ms: i64, f: &mut dyn FnMut(&str, History)) -> Result<(), StoreError> {
        // Keys sort by consumer, then time: one consumer's contacts are contiguous and
        // oldest first. A forward scan (sled's reverse iteration searches for each
        // predecessor) keeps the run's raw values until its newest contact sets the reach,
        // then decodes only those within it.
        let mut prefix: Vec<u8> = Vec::new();
        let mut run: Vec<(i64, sled::IVec, sled::IVec)> = Vec::new();
        let hand_over =
            |prefix: &[u8], run: &mut Vec<(i64, sled::IVec, sled::IVec)>, f: &mut dyn FnMut(&str, History)| {
                let Some(newest) = run.last().map(|(at, ..)| *at) else {
                    return Ok(());
                };
                let horizon = newest.saturating_sub(reach_ms);
                let first = run.partition_point(|(at, ..)| *at < horizon);
                let mut recs = Vec::with_capacity(run.len() - first);
                for (at, k, v) in &run[first..] {
                    recs.push(contact_rec(*at, k, v)?);
                }
                let complete_from = if first > 0 { horizon } else { i64::MIN };
                f(
                    &String::from_utf8_lossy(&prefix[3..]),
                    History::from_unsorted(recs, complete_from),
                );
                run.clear();
                Ok::<(), StoreError>(())
            };
        for item in self.tree.scan_prefix([HISTORY]) {
            let (k, v) = item?;
            let at = history_key_time(&k).ok_or_else(|| corrupt(&k, "malformed history key"))?;
            let prefix_len = 3 + u16::from_be_bytes([k[1], k[2]]) as usize;
            if prefix.as_slice() != &k[..prefix_len] {
                hand_over(&prefix, &mut run, f)?;
                prefix.clear();
                prefix.extend_from_slice(&k[..prefix_len]);
            }
            run.push((at, k, v));
        }
        hand_over(&prefix, &mut run, f)
    }

    fn contacts_of(&self, consumer_id: &str, f: &mut dyn FnMut(Contact)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix(history_prefix(consumer_id)) {
            let (k, v) = item?;
            let event = decode::<pb::ContactEvent>(&k, &v)?;
            f(contact_from(&event, chrono::Utc::now()).map_err(|e| corrupt(&k, e))?);
        }
        Ok(())
    }

    fn latest_rule_set(&self) -> Result<Option<(u64, RuleSetDraft)>, StoreError> {
        let Some((k, v)) = self.tree.scan_prefix([RULES]).next_back().transpose()? else {
            return Ok(None);
        };
        let rules = decode::<pb::RuleSet>(&k, &v)?;
        let draft = rule_set_draft_from(&rules).map_err(|e| corrupt(&k, e))?;
        Ok(Some((rules.version, draft)))
    }

    fn for_each_exclusions(&self, f: &mut dyn FnMut(String, Exclusions)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([EXCLUSIONS]) {
            let (k, v) = item?;
            let record: ExclusionRecord = decode(&k, &v)?;
            f(String::from_utf8_lossy(&k[1..]).into_owned(), record.to_domain());
        }
        Ok(())
    }

    fn for_each_opt_out(&self, f: &mut dyn FnMut(PhoneNumber, DateTime<Utc>)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([OPT_OUT]) {
            let (k, v) = item?;
            let digits = k
                .get(1..9)
                .and_then(|d| d.try_into().ok())
                .ok_or_else(|| corrupt(&k, "malformed key"))?;
            let record: OptOutRecord = decode(&k, &v)?;
            let at = DateTime::from_timestamp_millis(record.at_ms).ok_or_else(|| corrupt(&k, "bad time"))?;
            f(PhoneNumber::from_u64(u64::from_be_bytes(digits)), at);
        }
        Ok(())
    }

    fn for_each_callback(&self, f: &mut dyn FnMut(Callback)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([CALLBACK]) {
            let (k, v) = item?;
            f(decode::<CallbackRecord>(&k, &v)?.to_domain());
        }
        Ok(())
    }

    fn for_each_program(&self, f: &mut dyn FnMut(Program)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([PROGRAM]) {
            let (k, v) = item?;
            f(program_from(&decode::<pb::Program>(&k, &v)?).map_err(|e| corrupt(&k, e))?);
        }
        Ok(())
    }

    fn for_each_program_number(&self, f: &mut dyn FnMut(String, ProgramNumber)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([PROGRAM_NUMBER]) {
            let (k, v) = item?;
            let number = key_number(&k, 1)?;
            let record: ProgramNumberRecord = decode(&k, &v)?;
            let purpose = required_enum(record.call_purpose, "call_purpose").map_err(|e| corrupt(&k, e))?;
            f(record.program_id, ProgramNumber { number, purpose });
        }
        Ok(())
    }

    fn for_each_do_not_call(&self, f: &mut dyn FnMut(PhoneNumber)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([DO_NOT_CALL]) {
            let (k, v) = item?;
            if v.len() % 8 != 0 {
                return Err(corrupt(&k, "a Do Not Call chunk is not whole numbers"));
            }
            for digits in v.chunks_exact(8) {
                f(PhoneNumber::from_u64(u64::from_be_bytes(
                    digits.try_into().expect("8 bytes"),
                )));
            }
        }
        Ok(())
    }

    fn for_each_consent(&self, f: &mut dyn FnMut(String, PhoneNumber)) -> Result<(), StoreError> {
        for item in self.tree.scan_prefix([CONSENT]) {
            let (k, v) = item?;
            let record: ConsentRecord = decode(&k, &v)?;
            let len = u16::from_be_bytes([k[1], k[2]]) as usize;
            let number = key_number(&k, 3 + len)?;
            if record.telemarketing {
                f(String::from_utf8_lossy(&k[3..3 + len]).into_owned(), number);
            }
        }
        Ok(())
    }

    fn for_each_unsettled_lease(&self, f: &mut dyn FnMut(Lease)) -> Result<(), StoreError> {
        let get = |k: &[u8]| self.read(k);
        for item in self.tree.scan_prefix([UNSETTLED]) {
            let (k, _) = item?;
            for lease in unsettled_of(&get, &String::from_utf8_lossy(&k[1..]))? {
                f(lease);
            }
        }
        Ok(())
    }

    fn unsettled_leases_of(&self, consumer_id: &str) -> Result<Vec<Lease>, StoreError> {
        unsettled_of(&|k| self.read(k), consumer_id)
    }

    fn lease(&self, id: AttemptId) -> Result<Option<(Lease, LeaseState)>, StoreError> {
        lease_at(&|k| self.read(k), id)
    }

    fn consumers_with(&self, phone: PhoneNumber) -> Result<Vec<String>, StoreError> {
        let prefix = number_key(NUMBER_INDEX, phone);
        let mut ids = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (k, _) = item?;
            ids.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        }
        Ok(ids)
    }

    fn prompt(&self, token: &str) -> Result<Option<Prompt>, StoreError> {
        let k = key(PROMPT, token);
        Ok(match self.tree.get(&k)? {
            Some(v) => Some(
                decode::<PromptRecord>(&k, &v)?
                    .to_domain()
                    .ok_or_else(|| corrupt(&k, "a prompt record is not whole"))?,
            ),
            None => None,
        })
    }

    fn notes_of(&self, consumer_id: &str) -> Result<Vec<AuditNote>, StoreError> {
        let mut notes = Vec::new();
        for item in self.tree.scan_prefix(length_prefixed(NOTE, consumer_id)) {
            let (k, v) = item?;
            let record: NoteRecord = decode(&k, &v)?;
            notes.push(record.to_domain().ok_or_else(|| corrupt(&k, "unknown note kind"))?);
        }
        Ok(notes)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Phone, Role};

    fn number(n: u64) -> PhoneNumber {
        PhoneNumber::from_u64(15_550_000_000 + n)
    }

    fn consumer(id: &str, numbers: &[u64]) -> Consumer {
        Consumer {
            id: id.into(),
            role: Role::Debtor,
            group_id: None,
            state: None,
            country: None,
            time_zone: None,
            address_time_zone: None,
            phones: numbers
                .iter()
                .map(|n| Phone {
                    number: number(*n),
                    time_zone: None,
                    sms_authorized_at: None,
                })
                .collect(),
            emails: vec![],
            ssn_hash: None,
        }
    }

    fn put(store: &SledStore, c: Consumer) {
        store.commit(&[vec![WriteOp::PutConsumer(c)]]).unwrap();
    }

    #[test]
    fn the_number_index_follows_each_consumers_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        put(&store, consumer("b", &[1, 2]));
        put(&store, consumer("a", &[2]));
        assert_eq!(store.consumers_with(number(2)).unwrap(), ["a", "b"]);
        put(&store, consumer("b", &[3]));
        assert_eq!(store.consumers_with(number(1)).unwrap(), Vec::<String>::new());
        assert_eq!(store.consumers_with(number(2)).unwrap(), ["a"]);
        assert_eq!(store.consumers_with(number(3)).unwrap(), ["b"]);
    }

    #[test]
    fn a_store_written_before_the_number_index_gets_it_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            put(&store, consumer("a", &[1]));
            put(&store, consumer("b", &[1, 2]));
            // What an older build left: consumers, no index, no marker.
            let mut old = sled::Batch::default();
            for item in store.tree.scan_prefix([NUMBER_INDEX]) {
                old.remove(item.unwrap().0);
            }
            old.remove(key(META, NUMBER_INDEX_BUILT));
            store.tree.apply_batch(old).unwrap();
            store.flush().unwrap();
            assert_eq!(store.consumers_with(number(1)).unwrap(), Vec::<String>::new());
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.consumers_with(number(1)).unwrap(), ["a", "b"]);
        assert_eq!(store.consumers_with(number(2)).unwrap(), ["b"]);
    }

    #[test]
    fn history_keys_sort_by_consumer_then_time() {
        let c = |id: &str, ms: i64| {
            let mut k = history_prefix(id);
            k.extend_from_slice(&time_bytes(ms));
            k
        };
        assert!(c("a", -5) < c("a", 3));
        assert!(c("a", 3) < c("a", 1_000_000_000_000));
        assert!(c("a", i64::MAX) < c("ab", i64::MIN));
        assert_eq!(history_key_time(&c("abc", -42)), Some(-42));
    }
}
