//! The change feed, read from the database: LISTEN/NOTIFY wakes a node when another has
//! committed, and the node then reads the feed by position.
//!
//! A notification is only a wake-up: one lost with a dropped connection, or never sent to
//! a node that was down, costs nothing, because the node reads every change after the
//! position its memory holds (`predial_changes.seq > n`), and also looks on its own every
//! half second. So no change is missed, and none is applied twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PgStore, backend};
use crate::store::change::decode;
use crate::store::{Change, StoreError};

/// The channel commits notify on.
pub const CHANNEL: &str = "predial_changes";

/// A counter of notifications, to wait on.
#[derive(Default)]
pub struct Wake {
    count: Mutex<u64>,
    rang: Condvar,
}

impl Wake {
    pub fn ring(&self) {
        *self.count.lock().expect("wake lock") += 1;
        self.rang.notify_all();
    }

    /// Waits for a ring, at most `timeout`.
    pub fn wait(&self, timeout: Duration) {
        let count = self.count.lock().expect("wake lock");
        let seen = *count;
        let _ = self.rang.wait_timeout_while(count, timeout, |c| *c == seen);
    }
}

/// Holds a connection that LISTENs on [`CHANNEL`], ringing `wake` for each notification,
/// and reconnects (with back-off, up to 5 s) whenever it drops. `listening` says whether
/// it is up.
pub async fn listen(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    wake: Arc<Wake>,
    listening: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => {
                                let _ = tx.send(());
                            }
                            Ok(_) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(())
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        listening.store(true, Ordering::Relaxed);
                        backoff = Duration::from_millis(100);
                        // What was committed while no one listened is read by position.
                        wake.ring();
                        while rx.recv().await.is_some() {
                            wake.ring();
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "the store's notifications: LISTEN failed"),
                }
                listening.store(false, Ordering::Relaxed);
                wake.ring();
                if let Ok(Err(e)) = driver.await {
                    tracing::warn!(error = %e, "the store's notification connection dropped; reconnecting");
                }
            }
            Err(e) => {
                listening.store(false, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?backoff, "cannot reach the store for its notifications");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// The changes after position `seq`, oldest first, at most `limit`.
pub async fn changes_after(store: &PgStore, seq: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
    let client = store.pool.get().await.map_err(|e| backend("the store", e))?;
    let read = |e| backend("reading the store's changes", e);
    let statement = client
        .prepare_cached("SELECT seq, node, record FROM predial_changes WHERE seq > $1 ORDER BY seq LIMIT $2")
        .await
        .map_err(read)?;
    let rows = client
        .query(&statement, &[&(seq as i64), &(limit as i64)])
        .await
        .map_err(read)?;
    rows.iter()
        .map(|row| {
            let (seq, node, record): (i64, String, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
            let (op, applied) = decode(&record)?;
            Ok(Change {
                seq: seq as u64,
                mine: node == store.node,
                op,
                applied,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ends_at_a_ring_or_at_its_timeout() {
        let wake = Arc::new(Wake::default());
        let started = std::time::Instant::now();
        wake.wait(Duration::from_millis(20));
        assert!(started.elapsed() >= Duration::from_millis(20));
        let ringer = wake.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ringer.ring();
        });
        wake.wait(Duration::from_secs(30));
        t.join().unwrap();
    }
}
