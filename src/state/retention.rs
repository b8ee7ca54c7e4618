//! Retention: a background sweep that deletes contacts, notes, closed leases and evidence
//! records older than `retention_days` and beyond the reach of every rule-set version (so
//! no decision, as of any instant a version can look back on, loses a contact it counts),
//! in bounded batches.
//!
//! Each batch is one atomic, durable delete of whole records (a contact with its
//! idempotency entry, a note with its copy in the log), so a sweep cut short by kill -9
//! leaves a consistent store, and the next sweep carries on. Between batches the sweep
//! pauses, and it reads through the store's own snapshot, so decisions (which read memory)
//! and writes (which go through group commit) go on meanwhile. Rule-set versions are never
//! swept. A contact's event id can be recorded anew once its contact is swept.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;

use super::engine::{Engine, EngineError, Inner};
use crate::domain::retention::{Retention, cutoff};
use crate::store::kv::sweep::{SweepSpace, Swept};

/// Records read per batch.
const BATCH: usize = 1_000;
/// The pause between batches.
const PAUSE: Duration = Duration::from_millis(5);

impl Engine {
    /// One sweep: every batch of every key space, now. Answers what it deleted.
    pub fn sweep(&self, days: u32) -> Result<Swept, EngineError> {
        let reach = self.inner.rules.timeline().max_retention_days();
        let Some(before) = cutoff(Utc::now(), days, reach) else {
            return Ok(Swept::default());
        };
        let before_ms = before.timestamp_millis();
        let mut total = Swept::default();
        for space in [
            SweepSpace::Contacts,
            SweepSpace::Notes,
            SweepSpace::Leases,
            SweepSpace::Evidence,
        ] {
            let mut from = vec![space.prefix()];
            loop {
                if self.inner.health.stopping.load(Ordering::Acquire) {
                    return Ok(total);
                }
                let batch = self.inner.store.sweep_batch(space, before_ms, &from, BATCH)?;
                if !batch.keys.is_empty() {
                    self.inner.store.delete_keys(&batch.keys)?;
                    tracing::debug!(space = ?space, keys = batch.keys.len(), "retention batch deleted");
                }
                total.contacts += batch.swept.contacts;
                total.notes += batch.swept.notes;
                total.leases += batch.swept.leases;
                total.evidence += batch.swept.evidence;
                let Some(next) = batch.next else { break };
                from = next;
                std::thread::sleep(PAUSE);
            }
        }
        tracing::info!(
            contacts = total.contacts,
            notes = total.notes,
            leases = total.leases,
            evidence = total.evidence,
            before = %before.to_rfc3339(),
            "retention sweep: deleted what is older than {days} days and beyond every rule's reach"
        );
        Ok(total)
    }

    /// Starts the sweep thread: a sweep every `retention.every`, the first one that long
    /// after start; none when `retention.days` is 0.
    pub(super) fn keep_retention(&self, retention: Retention) {
        if retention.days == 0 {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("predial-retention".into())
            .spawn(move || sweep_loop(weak, retention))
            .expect("spawn the retention sweep");
    }
}

fn sweep_loop(weak: Weak<Inner>, retention: Retention) {
    loop {
        // Sleep in short steps, so shutdown is not held up by a long interval.
        let mut slept = Duration::ZERO;
        while slept < retention.every {
            let step = Duration::from_millis(200).min(retention.every - slept);
            std::thread::sleep(step);
            slept += step;
            match weak.upgrade() {
                Some(inner) if !inner.health.stopping.load(Ordering::Acquire) => {}
                _ => return,
            }
        }
        let Some(inner) = weak.upgrade() else { return };
        let engine = Engine { inner };
        if let Err(e) = engine.sweep(retention.days) {
            tracing::error!(error = %e, "the retention sweep failed; it runs again at the next interval");
        }
    }
}
