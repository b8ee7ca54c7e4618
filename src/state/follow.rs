//! Following a shared store: memory applies what the other nodes commit, from the store's
//! change feed, in the feed's order; and the node says whether it is in step ([`Health`]).
//!
//! A thread reads the feed after the position memory holds, whenever the database
//! notifies a commit and at least every half second, and applies what it reads through the
//! commit thread's own writer (`GroupCommit::follow`), so the two never interleave. Its own
//! commits reach memory from the commit itself, in the same order.
//!
//! While following, it keeps the node's [`Health`](super::health::Health) in step: when
//! the database is unreachable the node goes NOT_SERVING, goes on answering reads from
//! memory, answers writes and reserving decisions UNAVAILABLE, and retries with back-off;
//! when the database is back, it catches up and serves again.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::engine::{Engine, Inner};
use crate::metrics::metrics;
use crate::store::LogThrottle;

/// Changes read at a time.
const BATCH: usize = 2_000;

/// How long the follower waits for a notification before it looks anyway.
const LOOK_EVERY: Duration = Duration::from_millis(500);

impl Engine {
    /// Whether the node should serve: memory loaded, and in step with the store.
    pub fn is_ready(&self) -> bool {
        self.inner.health.serving()
    }

    /// Whether memory has been rebuilt from the store.
    pub fn is_loaded(&self) -> bool {
        self.inner.health.loaded.load(Ordering::Acquire)
    }

    /// Told each time [`is_ready`](Self::is_ready) changes.
    pub fn readiness(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.health.changed.subscribe()
    }

    /// Starts following the store's change feed (a store without one has nothing to
    /// follow).
    pub(super) fn follow(&self) {
        if self.inner.store.feed().is_none() {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("predial-follow".into())
            .spawn(move || follow_loop(weak))
            .expect("spawn the follower");
    }
}

fn follow_loop(weak: Weak<Inner>) {
    let failures = LogThrottle::every_second();
    let mut backoff = Duration::from_millis(100);
    let mut caught_up = Instant::now();
    loop {
        let Some(inner) = weak.upgrade() else { return };
        if inner.health.stopping.load(Ordering::Acquire) {
            return;
        }
        let Some(feed) = inner.store.feed() else { return };
        let position = inner.commits.position();
        let head = |feed: &dyn crate::store::ChangeFeed| {
            // One row, one round trip: the probe of the database's round-trip time.
            let asked = Instant::now();
            let head = feed.head()?;
            metrics().database_round_trip(asked.elapsed());
            Ok::<u64, crate::store::StoreError>(head)
        };
        match feed.changes_after(position, BATCH).and_then(|c| Ok((c, head(feed)?))) {
            Ok((changes, head)) => {
                backoff = Duration::from_millis(100);
                // The feed keeps a day of changes: a node away longer has a gap it cannot
                // follow across, and must be restarted to rebuild from the database.
                if changes.first().is_some_and(|c| c.seq > position + 1) {
                    inner.health.set_in_step(false);
                    if let Some(left_out) = failures.admit() {
                        tracing::error!(
                            position,
                            oldest = changes[0].seq,
                            left_out,
                            "memory is older than the oldest change the store keeps: restart this node to rebuild it"
                        );
                    }
                    drop(inner);
                    std::thread::sleep(Duration::from_secs(5));
                    continue;
                }
                let applied = inner.commits.follow(&changes);
                let position = inner.commits.position();
                let behind = head.saturating_sub(position);
                if behind == 0 {
                    caught_up = Instant::now();
                }
                metrics().feed(position, behind, caught_up.elapsed());
                inner.health.set_in_step(feed.reachable());
                // Stopped at one of this node's own changes, which its commit is about to
                // apply, or a full batch: look again at once.
                if applied < changes.len() || changes.len() == BATCH {
                    drop(inner);
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                feed.wait(LOOK_EVERY);
            }
            Err(e) => {
                inner.health.set_in_step(false);
                if let Some(left_out) = failures.admit() {
                    tracing::error!(error = %e, left_out, retry_in = ?backoff, "following the store failed");
                }
                drop(inner);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
