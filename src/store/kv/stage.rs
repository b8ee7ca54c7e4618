//! What each write does to the key-value layout (`keys.rs`), staged job by job: the one
//! account of the store's semantics — idempotent contacts, lease settling and releasing,
//! single-use prompts, the number index — that every key-value backend commits.

use prost::Message;

use super::keys::*;
use super::leases::{lease_at, unsettled_ids, unsettled_of};
use super::staging::Staging;
use crate::domain::do_not_call::{DEFAULT_LIST, ImportMode, ImportRef, StoredList};
use crate::domain::lease::{self, AttemptId, Lease, LeaseState};
use crate::domain::prompt::PromptRejection;
use crate::domain::{Channel, Contact, OptOut, PhoneNumber};
use crate::proto::convert::{WireEnum, consumer_to, contact_to, program_to, rule_set_version_to};
use crate::proto::v1 as pb;
use crate::store::records::{
    CallbackRecord, ConsentRecord, DncListRecord, ExclusionRecord, LeaseRecord, NoteRecord, OptOutRecord,
    ProgramNumberRecord, PromptRecord,
};
use crate::store::{Applied, JobOutcome, Rejected, StoreError, WriteOp};

/// Stages `jobs` in order over `st` — each job's writes all or none — and answers each
/// job's outcome; a backend then lands `st`'s writes together, durably.
pub fn stage_jobs(jobs: &[Vec<WriteOp>], st: &mut Staging) -> Result<Vec<JobOutcome>, StoreError> {
    stage_jobs_checked(jobs, st, &mut |_, _| Ok(()))
}

/// [`stage_jobs`], with `check` asked before each write is staged (what a shared store
/// adds: a lease decided on memory that has gone stale is refused).
pub fn stage_jobs_checked(
    jobs: &[Vec<WriteOp>],
    st: &mut Staging,
    check: &mut dyn FnMut(&WriteOp, &Staging) -> Result<(), StageError>,
) -> Result<Vec<JobOutcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    'jobs: for job in jobs {
        let mut applied = Vec::with_capacity(job.len());
        let mut duplicate = false;
        for op in job {
            if duplicate {
                applied.push(Applied::Skipped);
                continue;
            }
            match check(op, st).and_then(|()| stage(op, st)) {
                Ok(a) => {
                    super::evidence::record(op, &a, job, st)?;
                    duplicate = a == Applied::Duplicate;
                    applied.push(a);
                }
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
    Ok(outcomes)
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

pub enum StageError {
    Rejected(Rejected),
    Store(StoreError),
}

impl From<StoreError> for StageError {
    fn from(e: StoreError) -> Self {
        StageError::Store(e)
    }
}

///
/// Long on purpose: one arm per kind of write, each a few lines; the match is the one
/// place that says what every write does to the layout.
pub fn stage(op: &WriteOp, st: &mut Staging) -> Result<Applied, StageError> {
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
        WriteOp::TakeLease { lease, .. } => {
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
            // Two nodes of a cluster may pick the same next version: the second is told to
            // take the one after.
            if st.get(&k)?.is_some() {
                return Err(StageError::Rejected(Rejected::Stale));
            }
            st.put(k, rule_set_version_to(rules).encode_to_vec());
        }
        WriteOp::SetExclusionFlags { consumer_id, flags } => {
            let k = key(EXCLUSIONS, consumer_id);
            let mut record = exclusions_at(st, &k)?;
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
            let mut record = exclusions_at(st, &k)?;
            record.user_excluded.retain(|n| *n != phone.as_u64());
            if *excluded {
                record.user_excluded.push(phone.as_u64());
            }
            st.put(k, record.encode_to_vec());
        }
        WriteOp::SetOptOut { phone, at, purpose } => {
            let k = number_key(OPT_OUT, *phone);
            match at {
                Some(at) => {
                    let opt_out = match st.get(&k)? {
                        Some(v) => decode::<OptOutRecord>(&k, &v)?.to_domain().and(*purpose),
                        None => OptOut::new(at.timestamp_millis(), *purpose),
                    };
                    st.put(k, OptOutRecord::of(&opt_out).encode_to_vec());
                }
                None => st.remove(k),
            }
        }
        WriteOp::PutCallback(cb) => {
            st.put(
                callback_key(&cb.consumer_id, cb.phone),
                CallbackRecord::of(cb).encode_to_vec(),
            );
        }
        WriteOp::IssuePrompt { token, prompt } => st.put(key(PROMPT, token), PromptRecord::of(prompt).encode_to_vec()),
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
            let id = st.next_counter(key(META, "note-seq"))?;
            let mut k = length_prefixed(NOTE, &note.consumer_id);
            k.extend_from_slice(&id.to_be_bytes());
            let record = NoteRecord::of(id, note).encode_to_vec();
            st.put(note_log_key(&id.to_be_bytes()), record.clone());
            st.put(k, record);
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
        WriteOp::StageDoNotCall {
            import_id,
            chunk,
            numbers,
        } => {
            // One record per chunk of numbers, not per number: an import of millions is
            // a few hundred writes. Chunks may overlap; a set built from them dedups.
            let mut packed = Vec::with_capacity(numbers.len() * 8);
            for n in numbers {
                packed.extend_from_slice(&n.as_u64().to_be_bytes());
            }
            st.put(dnc_chunk_key(*import_id, *chunk), packed);
        }
        WriteOp::CommitDoNotCall {
            list,
            mode,
            import,
            numbers,
            at,
        } => commit_do_not_call(st, list, *mode, *import, *numbers, *at)?,
        WriteOp::PutReassigned(answers) => super::reassigned::stage(answers, st)?,
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

/// A list's record after an import ends; a REPLACE deletes the chunks of what it held.
fn commit_do_not_call(
    st: &mut Staging,
    list: &str,
    mode: ImportMode,
    import: ImportRef,
    numbers: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let k = key(DNC_LIST, list);
    let legacy_chunks = st
        .get(&key(META, LEGACY_DNC_SEQ))?
        .and_then(|v| v.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    let mut stored = match st.get(&k)? {
        Some(v) => decode::<DncListRecord>(&k, &v)?.to_domain(),
        None => StoredList {
            name: list.to_string(),
            base: None,
            deltas: Vec::new(),
            legacy: list == DEFAULT_LIST && legacy_chunks > 0,
            numbers: 0,
            updated_at: at,
        },
    };
    match mode {
        ImportMode::Replace => {
            let old: Vec<ImportRef> = stored.imports().copied().collect();
            for gone in old {
                for chunk in 0..gone.chunks {
                    st.remove(dnc_chunk_key(gone.import_id, chunk));
                }
            }
            if stored.legacy {
                for seq in 1..=legacy_chunks {
                    st.remove(legacy_dnc_chunk_key(seq));
                }
            }
            stored.base = Some(import);
            stored.deltas.clear();
            stored.legacy = false;
        }
        ImportMode::Add | ImportMode::Remove => stored.deltas.push(import),
    }
    stored.numbers = numbers;
    stored.updated_at = at;
    st.put(k, DncListRecord::of(&stored).encode_to_vec());
    Ok(())
}

fn exclusions_at(st: &Staging, k: &[u8]) -> Result<ExclusionRecord, StoreError> {
    match st.get(k)? {
        Some(v) => decode(k, &v),
        None => Ok(ExclusionRecord::default()),
    }
}
