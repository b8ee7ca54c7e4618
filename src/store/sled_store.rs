//! The embedded backend: one sled tree with a key space per record kind.
//!
//! Keys (all big-endian so sled's order is the order we scan in):
//! - `c` + consumer id → `predial.v1.Consumer`
//! - `h` + len16(consumer id) + consumer id + at_ms (sign-flipped) + event id →
//!   `predial.v1.ContactEvent` — a consumer's history, in time order
//! - `e` + event id → the `h` key (the idempotency index)
//! - `r` + version → `predial.v1.RuleSet`
//!
//! One tree means one [`sled::Batch`] per group commit: every write of the group lands
//! together or not at all, and one `flush` makes them durable.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use prost::Message;

use super::{Applied, Recent, Store, StoreError, WriteOp};
use crate::domain::{Consumer, Contact, RuleSetDraft};
use crate::proto::convert::{consumer_from, consumer_to, contact_from, contact_to, rule_set_draft_from, rule_set_to};
use crate::proto::v1 as pb;

const CONSUMER: u8 = b'c';
const HISTORY: u8 = b'h';
const EVENT: u8 = b'e';
const RULES: u8 = b'r';

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
        Ok(SledStore {
            db,
            tree,
            flush_failed: AtomicBool::new(false),
        })
    }
}

fn key(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id.as_bytes());
    k
}

fn history_prefix(consumer_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + consumer_id.len() + 8);
    k.push(HISTORY);
    k.extend_from_slice(&(consumer_id.len() as u16).to_be_bytes());
    k.extend_from_slice(consumer_id.as_bytes());
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

/// The time stamped in a history key, without decoding the record.
fn history_key_time(k: &[u8]) -> Option<i64> {
    let len = u16::from_be_bytes(k.get(1..3)?.try_into().ok()?) as usize;
    let t = k.get(3 + len..11 + len)?;
    Some((u64::from_be_bytes(t.try_into().ok()?) ^ (1 << 63)) as i64)
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

impl Store for SledStore {
    fn commit(&self, ops: &[WriteOp]) -> Result<Vec<Applied>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut events_in_batch: HashSet<&str> = HashSet::new();
        let mut applied = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                WriteOp::PutConsumer(c) => {
                    batch.insert(key(CONSUMER, &c.id), consumer_to(c).encode_to_vec());
                    applied.push(Applied::Done);
                }
                WriteOp::RecordContact(c) => {
                    let event_key = key(EVENT, &c.event_id);
                    if !events_in_batch.insert(&c.event_id) || self.tree.contains_key(&event_key)? {
                        applied.push(Applied::Duplicate);
                        continue;
                    }
                    let hk = history_key(c);
                    batch.insert(event_key, hk.clone());
                    batch.insert(hk, contact_to(c).encode_to_vec());
                    applied.push(Applied::Done);
                }
                WriteOp::PutRuleSet { version, draft } => {
                    let mut k = vec![RULES];
                    k.extend_from_slice(&version.to_be_bytes());
                    batch.insert(k, rule_set_to(draft, *version).encode_to_vec());
                    applied.push(Applied::Done);
                }
            }
        }
        // A group of nothing but duplicates writes nothing; what it found was made durable
        // by an earlier group (groups flush one after another), unless a flush failed.
        let wrote = applied.contains(&Applied::Done);
        if wrote || self.flush_failed.load(Ordering::Relaxed) {
            self.tree.apply_batch(batch)?;
            let flushed = self.db.flush();
            self.flush_failed.store(flushed.is_err(), Ordering::Relaxed);
            flushed?;
        }
        Ok(applied)
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

    fn for_each_recent_contact(&self, reach_ms: i64, f: &mut dyn FnMut(Recent)) -> Result<(), StoreError> {
        // Newest first: the first key of each consumer is its newest contact.
        let mut current: Option<(Vec<u8>, i64, bool)> = None; // (prefix, horizon, truncated)
        let flush = |current: &mut Option<(Vec<u8>, i64, bool)>, f: &mut dyn FnMut(Recent)| {
            if let Some((prefix, horizon, true)) = current.take() {
                let consumer_id = String::from_utf8_lossy(&prefix[3..]).into_owned();
                f(Recent::Truncated {
                    consumer_id,
                    complete_from_ms: horizon,
                });
            }
        };
        for item in self.tree.scan_prefix([HISTORY]).rev() {
            let (k, v) = item?;
            let at = history_key_time(&k).ok_or_else(|| corrupt(&k, "malformed history key"))?;
            let prefix_len = 3 + u16::from_be_bytes([k[1], k[2]]) as usize;
            let same = current.as_ref().is_some_and(|(p, ..)| p.as_slice() == &k[..prefix_len]);
            if !same {
                flush(&mut current, f);
                current = Some((k[..prefix_len].to_vec(), at.saturating_sub(reach_ms), false));
            }
            let state = current.as_mut().expect("set above");
            if at < state.1 {
                state.2 = true;
                continue;
            }
            let event = decode::<pb::ContactEvent>(&k, &v)?;
            f(Recent::Contact(
                contact_from(&event, chrono::Utc::now()).map_err(|e| corrupt(&k, e))?,
            ));
        }
        flush(&mut current, f);
        Ok(())
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

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
