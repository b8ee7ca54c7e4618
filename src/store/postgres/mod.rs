//! The cluster's backend: the key-value layout (`kv`) in a PostgreSQL database that every
//! node of a cluster shares, and the change feed through which each node's memory follows
//! what the others commit.
//!
//! - [`connect`]: the connection string, TLS, the pool.
//! - [`schema`]: the tables, and versioned migrations.
//! - [`commit`]: one group commit as one transaction, in the cluster's one write order.
//! - [`feed`]: LISTEN/NOTIFY as a wake-up, and reading the feed by position.
//!
//! Why one write order: every write transaction first locks the feed's head row
//! (`predial_feed`), so the cluster's writes commit one after another, and the feed numbers
//! them in that order with no gaps. A node that read the feed up to position *n* holds
//! exactly what the database held after the *n*-th change. A lease is granted only by the
//! transaction that holds that lock, and only if nothing the deciding node read has changed
//! since the position its decision was made at ([`commit`]); otherwise it is refused as
//! stale and decided again. Each node batches its writes (group commit), so the database
//! commits a few hundred transactions a second carrying many writes each.
//!
//! The store's methods are synchronous, as the [`Store`] trait is; they run the database's
//! async client on a small runtime of their own ([`PgStore::block`]).

pub mod commit;
pub mod connect;
pub mod feed;
pub mod schema;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

pub use connect::{PgOptions, Redacted};

use super::kv::{Kv, Pair, kv_reads};
use super::{ChangeFeed, Committed, Store, StoreError, WriteOp};

/// Rows a scan reads at a time.
const PAGE: i64 = 10_000;

pub struct PgStore {
    /// `None` only while dropping (a runtime must not be dropped where it may block).
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// This process's id in the feed: its own changes are applied by its commits.
    node: String,
    /// Start-up's snapshot, while memory is being rebuilt from it.
    load: Mutex<Option<Arc<deadpool_postgres::Object>>>,
    /// Woken by the database's notifications of new changes.
    wake: Arc<feed::Wake>,
    /// Whether the notification connection is up.
    listening: Arc<AtomicBool>,
    /// Commits since the feed was last pruned.
    commits: AtomicU64,
    /// How to connect (the commit connection is this node's own).
    config: tokio_postgres::Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// The connection group commits run on (`commit::CommitConnection`).
    commit_connection: Mutex<Option<commit::CommitConnection>>,
}

/// A database error, with its causes (a failed TLS handshake says why only in them).
fn backend(what: &str, e: impl std::error::Error) -> StoreError {
    let mut text = format!("{what}: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    StoreError::Backend(text)
}

impl PgStore {
    /// Connects, migrates the schema (or refuses a newer one), and starts listening for
    /// the other nodes' changes.
    pub fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("predial-pg")
            .enable_all()
            .build()
            .map_err(|e| backend("starting the store's runtime", e))?;
        let config = options.config()?;
        let tls = options.tls()?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(2))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| backend("the store's pool", e))?;
        let store = PgStore {
            runtime: Some(runtime),
            pool,
            node: uuid::Uuid::new_v4().simple().to_string(),
            load: Mutex::new(None),
            wake: Arc::default(),
            listening: Arc::default(),
            commits: AtomicU64::new(0),
            config: config.clone(),
            tls: tls.clone(),
            commit_connection: Mutex::new(None),
        };
        store.block(async {
            let mut client = store
                .pool
                .get()
                .await
                .map_err(|e| backend(&format!("connecting to the store at {}", Redacted(&options.url)), e))?;
            schema::migrate(&mut client).await
        })?;
        let listener = feed::listen(config, tls, store.wake.clone(), store.listening.clone());
        store.runtime().spawn(listener);
        tracing::info!(store = %Redacted(&options.url), node = %store.node, "store: PostgreSQL");
        Ok(store)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime
            .as_ref()
            .expect("the store's runtime lives as long as the store")
    }

    /// Runs `f` — the database's async client — to completion, from any thread: a plain
    /// thread blocks on the store's runtime; a worker of a multi-thread runtime hands its
    /// other tasks off first (`block_in_place`); on a current-thread runtime, a scoped
    /// thread waits instead.
    pub fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.runtime().block_on(f))
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| self.runtime().block_on(f))
                    .join()
                    .expect("a store call does not panic")
            }),
            Err(_) => self.runtime().block_on(f),
        }
    }

    /// A connection: start-up's snapshot while it is held, else one from the pool.
    async fn client(&self) -> Result<Arc<deadpool_postgres::Object>, StoreError> {
        if let Some(load) = self.load.lock().expect("load lock").clone() {
            return Ok(load);
        }
        Ok(Arc::new(self.pool.get().await.map_err(|e| backend("the store", e))?))
    }

    /// What the layout's readers read: this store (its committed rows).
    fn kv(&self) -> &Self {
        self
    }

    /// Whether the store answers and its notifications arrive.
    pub fn is_reachable(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(connection) = self.commit_connection.lock().ok().and_then(|mut c| c.take()) {
            connection.close();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The smallest key after every key that starts with `prefix` (`None`: no such key).
fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The committed layout, as the readers see it.
impl Kv for PgStore {
    type Bytes = Vec<u8>;

    fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.block(async {
            let client = self.client().await?;
            let read = |e| backend("reading the store", e);
            let statement = client
                .prepare_cached("SELECT v FROM predial_kv WHERE k = $1")
                .await
                .map_err(read)?;
            let row = client.query_opt(&statement, &[&k]).await.map_err(read)?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan_from(prefix, prefix, &mut |k, v| f(k, v).map(|()| true))
    }

    fn scan_from(
        &self,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        // Every prefix of the layout has a byte below 0xff, so it has an end.
        let end = after_prefix(prefix).unwrap_or_else(|| vec![u8::MAX; prefix.len() + 1]);
        let mut from = from.to_vec();
        let mut sql = "SELECT k, v FROM predial_kv WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3";
        loop {
            let rows = self.block(async {
                let client = self.client().await?;
                let read = |e| backend("scanning the store", e);
                let statement = client.prepare_cached(sql).await.map_err(read)?;
                client.query(&statement, &[&from, &end, &PAGE]).await.map_err(read)
            })?;
            let full = rows.len() as i64 == PAGE;
            for row in rows {
                let (k, v): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
                from.clone_from(&k);
                if !f(k, v)? {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
            // The next page starts after the last key read.
            sql = "SELECT k, v FROM predial_kv WHERE k > $1 AND k < $2 ORDER BY k LIMIT $3";
        }
    }

    fn last(&self, prefix: &[u8]) -> Result<Option<Pair<Self>>, StoreError> {
        let end = after_prefix(prefix).unwrap_or_else(|| vec![u8::MAX; prefix.len() + 1]);
        self.block(async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT k, v FROM predial_kv WHERE k >= $1 AND k < $2 ORDER BY k DESC LIMIT 1",
                    &[&prefix, &end],
                )
                .await
                .map_err(|e| backend("reading the store", e))?;
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })
    }
}

impl Store for PgStore {
    fn commit(&self, jobs: &[Vec<WriteOp>], after: u64) -> Result<Committed, StoreError> {
        let prune = self.commits.fetch_add(1, Ordering::Relaxed) % 10_000 == 0;
        commit::commit(self, jobs, after, prune)
    }

    kv_reads!(kv);

    fn delete_keys(&self, keys: &[Vec<u8>]) -> Result<(), StoreError> {
        self.block(async {
            let client = self.client().await?;
            client
                .execute("DELETE FROM predial_kv WHERE k = ANY($1)", &[&keys])
                .await
                .map_err(|e| backend("sweeping the store", e))?;
            Ok(())
        })
    }

    fn feed(&self) -> Option<&dyn ChangeFeed> {
        Some(self)
    }

    fn begin_load(&self) -> Result<Option<u64>, StoreError> {
        let (client, seq) = self.block(async {
            let client = self.pool.get().await.map_err(|e| backend("the store", e))?;
            client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(|e| backend("reading the store", e))?;
            let seq: i64 = client
                .query_one("SELECT seq FROM predial_feed WHERE id = 1", &[])
                .await
                .map_err(|e| backend("reading the store", e))?
                .get(0);
            Ok::<_, StoreError>((client, seq))
        })?;
        *self.load.lock().expect("load lock") = Some(Arc::new(client));
        Ok(Some(seq as u64))
    }

    fn end_load(&self) {
        if let Some(client) = self.load.lock().expect("load lock").take() {
            let _ = self.block(async move { client.batch_execute("COMMIT").await });
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        // Every commit is durable when it returns (synchronous_commit, as the operator set it).
        Ok(())
    }
}

impl ChangeFeed for PgStore {
    fn changes_after(&self, seq: u64, limit: usize) -> Result<Vec<super::Change>, StoreError> {
        self.block(feed::changes_after(self, seq, limit))
    }

    fn wait(&self, timeout: Duration) {
        self.wake.wait(timeout);
    }

    fn head(&self) -> Result<u64, StoreError> {
        self.block(async {
            let client = self.pool.get().await.map_err(|e| backend("the store", e))?;
            let read = |e| backend("reading the store", e);
            let statement = client
                .prepare_cached("SELECT seq FROM predial_feed WHERE id = 1")
                .await
                .map_err(read)?;
            let seq: i64 = client.query_one(&statement, &[]).await.map_err(read)?.get(0);
            Ok(seq as u64)
        })
    }

    fn reachable(&self) -> bool {
        self.is_reachable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_prefix_is_the_first_key_past_all_its_keys() {
        assert_eq!(after_prefix(b"h"), Some(b"i".to_vec()));
        assert_eq!(after_prefix(&[b'g', 0x01, 0xff]), Some(vec![b'g', 0x02]));
        assert_eq!(after_prefix(&[0xff, 0xff]), None);
    }
}
