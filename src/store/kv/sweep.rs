//! Finding what retention deletes: contacts, notes, closed leases and evidence records
//! older than a cutoff,
//! a bounded batch at a time, each batch's keys whole — a contact with its idempotency
//! index entry, a note with its copy in the log of every note, an evidence record with its
//! consumer's index entry — so that deleting a batch
//! in one atomic write leaves the store consistent whenever a sweep is cut short.
//!
//! Rule-set versions, consumers, exclusions, opt-outs, consents, programs, Do Not Call
//! lists and unsettled leases are never swept.

use prost::Message;

use super::Kv;
use super::evidence::{index_key_of, log_key_time};
use super::keys::*;
use super::leases::packed_ids;
use crate::proto::v1 as pb;
use crate::store::StoreError;
use crate::store::records::{LeaseRecord, NoteRecord};

/// What a sweep deletes, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub contacts: u64,
    pub notes: u64,
    pub leases: u64,
    pub evidence: u64,
}

/// One batch: the keys to delete, what they are, and where the next batch starts (none:
/// this key space is done).
#[derive(Debug, Default)]
pub struct SweepBatch {
    pub keys: Vec<Vec<u8>>,
    pub swept: Swept,
    pub next: Option<Vec<u8>>,
}

/// The key spaces a sweep walks, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepSpace {
    Contacts,
    Notes,
    Leases,
    Evidence,
}

impl SweepSpace {
    pub fn prefix(self) -> u8 {
        match self {
            SweepSpace::Contacts => HISTORY,
            SweepSpace::Notes => NOTE_LOG,
            SweepSpace::Leases => LEASE,
            SweepSpace::Evidence => EVIDENCE,
        }
    }
}

/// Up to `limit` records of `space` older than `before_ms`, from the key `from` on.
pub fn sweep_batch<K: Kv>(
    kv: &K,
    space: SweepSpace,
    before_ms: i64,
    from: &[u8],
    limit: usize,
) -> Result<SweepBatch, StoreError> {
    let prefix = [space.prefix()];
    let mut batch = SweepBatch::default();
    let mut seen = 0usize;
    let mut last = None;
    let mut done_early = false;
    kv.scan_from(&prefix, from, &mut |k, v| {
        let k = k.as_ref();
        seen += 1;
        last = Some(k.to_vec());
        match space {
            SweepSpace::Contacts => {
                if history_key_time(k).is_some_and(|t| t < before_ms) {
                    let event = pb::ContactEvent::decode(v.as_ref()).map_err(|e| corrupt(k, e))?;
                    batch.keys.push(k.to_vec());
                    batch.keys.push(key(EVENT, &event.event_id));
                    batch.swept.contacts += 1;
                }
            }
            SweepSpace::Notes => {
                let record: NoteRecord = decode(k, v.as_ref())?;
                // Ids grow with time: the first note at or after the cutoff ends the walk.
                if record.at_ms >= before_ms {
                    done_early = true;
                    return Ok(false);
                }
                let mut by_consumer = length_prefixed(NOTE, &record.consumer_id);
                by_consumer.extend_from_slice(&record.id.to_be_bytes());
                batch.keys.push(k.to_vec());
                batch.keys.push(by_consumer);
                batch.swept.notes += 1;
            }
            SweepSpace::Evidence => {
                // The log is in time order: the first record at or after the cutoff ends it.
                if log_key_time(k).is_none_or(|t| t >= before_ms) {
                    done_early = true;
                    return Ok(false);
                }
                let record: pb::EvidenceRecord = decode(k, v.as_ref())?;
                batch.keys.push(k.to_vec());
                batch.keys.extend(index_key_of(k, &record.consumer_id));
                batch.swept.evidence += 1;
            }
            SweepSpace::Leases => {
                let record: LeaseRecord = decode(k, v.as_ref())?;
                if record.at_ms < before_ms && !is_unsettled(kv, &record)? {
                    batch.keys.push(k.to_vec());
                    batch.swept.leases += 1;
                }
            }
        }
        Ok(seen < limit)
    })?;
    batch.next = match (done_early, seen < limit, last) {
        (false, false, Some(mut last)) => {
            // The first key after the last one read.
            last.push(0);
            Some(last)
        }
        _ => None,
    };
    Ok(batch)
}

/// Whether a lease is still open: listed among its consumer's unsettled leases (and not
/// released).
fn is_unsettled<K: Kv>(kv: &K, record: &LeaseRecord) -> Result<bool, StoreError> {
    if record.state == 2 {
        return Ok(false);
    }
    let k = key(UNSETTLED, &record.consumer_id);
    let Some(packed) = kv.get(&k)? else { return Ok(false) };
    Ok(packed_ids(&k, packed.as_ref())?
        .iter()
        .any(|id| id.as_bytes().as_slice() == record.attempt_id.as_slice()))
}
