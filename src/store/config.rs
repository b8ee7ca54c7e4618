//! Which store a server runs on, chosen in one place: the embedded sled store in a
//! directory (the default), or a PostgreSQL database shared by a cluster's nodes.
//!
//! [`StoreConfig::open`] opens whichever it names, so nothing above `store/` needs to know
//! the backends apart: what differs between them afterwards (whether memory follows other
//! nodes' writes) the opened store says itself, through [`Store::feed`](super::Store::feed).
//! Its `Display` is what the start-up log names: the directory of an embedded store, the
//! database of a shared one (without its password), never both.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::postgres::{PgOptions, Redacted};
use super::{PgStore, SledStore, Store, StoreError};

/// The embedded store's directory when none is given.
pub const DEFAULT_DATA_DIR: &str = "./predial-data";

/// How many times a cluster node tries a database that is not up yet, a second apart,
/// before it gives up: nodes and their database may be started together.
const DATABASE_TRIES: u32 = 10;

/// The store a server runs on.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// The embedded sled store in this directory (created when missing); this node's alone.
    Embedded { dir: PathBuf },
    /// One node of a cluster on this PostgreSQL database.
    Postgres(PgOptions),
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig::Embedded {
            dir: PathBuf::from(DEFAULT_DATA_DIR),
        }
    }
}

impl StoreConfig {
    /// The embedded store in `dir`.
    pub fn embedded(dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig::Embedded { dir: dir.into() }
    }

    /// Opens the store. A database that is not accepting connections yet is tried again,
    /// a second apart, a few times; a refused password, a bad certificate or a schema newer
    /// than this binary knows are not worth waiting for and fail at once. Blocks: call it
    /// outside the async runtime's workers.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            StoreConfig::Embedded { dir } => Ok(Arc::new(SledStore::open(dir)?)),
            StoreConfig::Postgres(pg) => {
                let mut tries = 1;
                loop {
                    match PgStore::open(pg) {
                        Ok(store) => return Ok(Arc::new(store)),
                        Err(e) if tries < DATABASE_TRIES && not_up_yet(&e.to_string()) => {
                            tries += 1;
                            tracing::warn!(error = %e, "cannot reach the store yet; trying again");
                            std::thread::sleep(Duration::from_secs(1));
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }
}

impl fmt::Display for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Embedded { dir } => write!(f, "embedded store in {}", dir.display()),
            StoreConfig::Postgres(pg) => write!(f, "PostgreSQL store {}", Redacted(&pg.url)),
        }
    }
}

/// Whether a connection error says the database is not (yet) accepting connections.
fn not_up_yet(error: &str) -> bool {
    [
        "Connection refused",
        "timed out",
        "starting up",
        "shutting down",
        "Connection reset",
    ]
    .iter()
    .any(|m| error.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_store_is_the_embedded_one_in_predial_data() {
        let config = StoreConfig::default();
        assert!(matches!(&config, StoreConfig::Embedded { dir } if dir == &PathBuf::from(DEFAULT_DATA_DIR)));
        assert_eq!(config.to_string(), "embedded store in ./predial-data");
    }

    #[test]
    fn a_shared_store_is_named_by_its_database_and_never_its_password() {
        let config = StoreConfig::Postgres(PgOptions::new("postgres://predial:secret@db.example:5432/ledger"));
        let shown = config.to_string();
        assert!(shown.starts_with("PostgreSQL store"), "{shown}");
        assert!(shown.contains("db.example"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn an_embedded_store_opens_and_has_no_feed() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreConfig::embedded(dir.path()).open().unwrap();
        assert!(store.feed().is_none());
    }

    #[test]
    fn only_a_database_not_up_yet_is_waited_for() {
        assert!(not_up_yet(
            "error connecting to server: Connection refused (os error 111)"
        ));
        assert!(!not_up_yet("password authentication failed for user \"predial\""));
    }
}
