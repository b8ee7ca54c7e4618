//! The embedded backend: the key-value layout (`kv`) in one sled tree under `--data`.
//!
//! One tree means one [`sled::Batch`] per group commit: every write of the group lands
//! together or not at all, and one `flush` makes them durable. Jobs are staged one over
//! another ([`Staging`]) so a job reads what earlier jobs of its group wrote, and a job
//! that is refused leaves nothing behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::kv::keys::{
    CONSUMER, META, NOTE, NOTE_LOG_BUILT, NUMBER_INDEX_BUILT, decode, key, note_log_key, number_index_key,
    stored_numbers,
};
use super::kv::{Kv, Pair, Staging, kv_reads, stage_jobs};
use super::{Committed, Store, StoreError, WriteOp};
use crate::proto::v1 as pb;

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

impl Kv for sled::Tree {
    type Bytes = sled::IVec;

    fn get(&self, k: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(sled::Tree::get(self, k)?)
    }

    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(sled::IVec, sled::IVec) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // Forward: sled's reverse iteration searches for each predecessor.
        for item in self.scan_prefix(prefix) {
            let (k, v) = item?;
            f(k, v)?;
        }
        Ok(())
    }

    fn scan_from(
        &self,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(sled::IVec, sled::IVec) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        for item in self.range(from..) {
            let (k, v) = item?;
            if !k.starts_with(prefix) || !f(k, v)? {
                break;
            }
        }
        Ok(())
    }

    fn last(&self, prefix: &[u8]) -> Result<Option<Pair<Self>>, StoreError> {
        Ok(self.scan_prefix(prefix).next_back().transpose()?)
    }
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    /// Another process holding the directory is named as such ([`StoreError::InUse`]).
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|e| match e {
                // sled locks the directory's database file; another process holding it is
                // another server (or a leftover one) on the same store.
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::InUse(path.display().to_string())
                }
                e => e.into(),
            })?;
        let tree = db.open_tree("predial")?;
        let store = SledStore {
            db,
            tree,
            flush_failed: AtomicBool::new(false),
        };
        store.build_number_index()?;
        store.build_note_log()?;
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

    /// Builds the log of every note by id of a store written before it existed: a copy
    /// of each note under its id, and the marker, in one atomic, durable batch.
    fn build_note_log(&self) -> Result<(), StoreError> {
        let marker = key(META, NOTE_LOG_BUILT);
        if self.tree.contains_key(&marker)? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix([NOTE]) {
            let (k, v) = item?;
            let id = &k[k.len().saturating_sub(8)..];
            batch.insert(note_log_key(id), v);
        }
        batch.insert(marker, &[]);
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    fn tree(&self) -> &sled::Tree {
        &self.tree
    }
}

impl Store for SledStore {
    fn commit(&self, jobs: &[Vec<WriteOp>], _after: u64) -> Result<Committed, StoreError> {
        let committed = |k: &[u8]| Ok(self.tree.get(k)?.map(|v| v.to_vec()));
        let mut st = Staging::new(&committed);
        let outcomes = stage_jobs(jobs, &mut st)?;
        let writes = st.into_writes();
        // A group that writes nothing (only duplicates, only refusals) needs no flush:
        // what it read was made durable by an earlier group, unless a flush failed.
        if !writes.is_empty() || self.flush_failed.load(Ordering::Relaxed) {
            let mut batch = sled::Batch::default();
            for (k, v) in writes {
                match v {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            self.tree.apply_batch(batch)?;
            let flushed = self.db.flush();
            self.flush_failed.store(flushed.is_err(), Ordering::Relaxed);
            flushed?;
        }
        Ok(Committed::alone(outcomes))
    }

    kv_reads!(tree);

    fn delete_keys(&self, keys: &[Vec<u8>]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for k in keys {
            batch.remove(k.as_slice());
        }
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Consumer, Phone, PhoneNumber, Role};
    use crate::store::kv::keys::{NUMBER_INDEX, history_key_time, history_prefix, time_bytes};

    /// Opens a store this process has just closed. sled's background flusher holds the
    /// directory's lock for a moment after the last handle goes (longer on a loaded
    /// machine), so the open is retried for a while before it counts as failed.
    fn reopen(path: &Path) -> SledStore {
        let mut tries = 0;
        loop {
            match SledStore::open(path) {
                Ok(store) => return store,
                Err(StoreError::InUse(_)) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => panic!("reopen {}: {e}", path.display()),
            }
        }
    }

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
                    consent_at: None,
                })
                .collect(),
            emails: vec![],
            ssn_hash: None,
            postal_code: None,
            county: None,
        }
    }

    fn put(store: &SledStore, c: Consumer) {
        store.commit(&[vec![WriteOp::PutConsumer(c)]], 0).unwrap();
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
    fn a_lease_keeps_the_decision_that_granted_it_across_a_reopen() {
        use crate::domain::lease::{AttemptId, Grant, Lease, LeaseState};
        use crate::domain::{Channel, Reason, ReasonCode, Verdict};
        let grant = Grant {
            verdict: Verdict::Warn,
            reasons: vec![Reason {
                code: ReasonCode::NearMaxContacts,
                control_id: Some("regf-calls".into()),
                message: "6 calls in the last 7 days; the limit is 7, so this is the last one allowed".into(),
            }],
            rule_set_version: 4,
        };
        let at = chrono::Utc::now();
        let lease = Lease {
            attempt_id: AttemptId::from_bytes([7; 16]),
            consumer_id: "a".into(),
            request_id: "r-1".into(),
            channel: Channel::Phone,
            phone: Some(number(1)),
            at,
            expires_at: at + chrono::Duration::minutes(15),
            operator_id: String::new(),
            granted_by: Some(grant.clone()),
        };
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            put(&store, consumer("a", &[1]));
            store.commit(&[vec![WriteOp::TakeLease { lease, seen: 0 }]], 0).unwrap();
        }
        let store = reopen(dir.path());
        let (stored, state) = store.lease(AttemptId::from_bytes([7; 16])).unwrap().unwrap();
        assert_eq!(state, LeaseState::Unsettled);
        assert_eq!(stored.granted_by, Some(grant));
    }

    #[test]
    fn a_store_written_before_the_note_log_gets_it_when_opened() {
        use crate::domain::audit::{NoteDraft, NoteKind};
        use crate::store::kv::keys::NOTE_LOG;
        let note = |consumer: &str| {
            WriteOp::Note(NoteDraft {
                consumer_id: consumer.into(),
                at: chrono::Utc::now(),
                operator_id: "ops".into(),
                kind: NoteKind::ExclusionsChanged,
                text: "a note".into(),
            })
        };
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store
                .commit(&[vec![note("b")], vec![note("a")], vec![note("")]], 0)
                .unwrap();
            // What an older build left: notes by consumer, no log, no marker.
            let mut old = sled::Batch::default();
            for item in store.tree.scan_prefix([NOTE_LOG]) {
                old.remove(item.unwrap().0);
            }
            old.remove(key(META, NOTE_LOG_BUILT));
            store.tree.apply_batch(old).unwrap();
            store.flush().unwrap();
            assert!(store.notes_page(None, 0, 10, &|_| true).unwrap().is_empty());
        }
        let store = reopen(dir.path());
        let all = store.notes_page(None, 0, 10, &|_| true).unwrap();
        let owners: Vec<&str> = all.iter().map(|n| n.note.consumer_id.as_str()).collect();
        assert_eq!(owners, ["b", "a", ""], "every note, in id order");
        let after_first = store.notes_page(None, all[0].id, 10, &|_| true).unwrap();
        assert_eq!(after_first.len(), 2);
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
        let store = reopen(dir.path());
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
