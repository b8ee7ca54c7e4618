//! Durable storage: what must survive a `kill -9`.
//!
//! Backends implement [`Store`]: apply a group of writes atomically and durably, and give
//! everything back at start-up. [`GroupCommit`] sits in front of any backend and lets
//! concurrent writers share one flush (one fsync for many acknowledgements). The one
//! backend today is [`SledStore`], an embedded store under `--data`.

mod group_commit;
mod sled_store;

pub use group_commit::GroupCommit;
pub use sled_store::SledStore;

use crate::domain::{Consumer, Contact, RuleSetDraft};

/// One write. Each is applied whole or not at all.
#[derive(Debug, Clone)]
pub enum WriteOp {
    PutConsumer(Consumer),
    /// Counted once per `event_id`: a repeat is [`Applied::Duplicate`] and changes nothing.
    RecordContact(Contact),
    PutRuleSet {
        version: u64,
        draft: RuleSetDraft,
    },
}

/// What start-up reads of the contact history.
#[derive(Debug, Clone)]
pub enum Recent {
    Contact(Contact),
    /// The consumer has contacts before `complete_from_ms` that were not given.
    Truncated {
        consumer_id: String,
        complete_from_ms: i64,
    },
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// A contact whose `event_id` was already recorded.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("a stored record is unreadable ({key}): {message}")]
    Corrupt { key: String, message: String },
    #[error("the store is shut down")]
    Closed,
}

/// A durable home for predial's records.
pub trait Store: Send + Sync + 'static {
    /// Applies `ops` in order as one atomic unit and returns only once it is durable.
    fn commit(&self, ops: &[WriteOp]) -> Result<Vec<Applied>, StoreError>;

    /// One consumer as last written.
    fn consumer(&self, id: &str) -> Result<Option<Consumer>, StoreError>;

    /// Every consumer, for start-up.
    fn for_each_consumer(&self, f: &mut dyn FnMut(Consumer)) -> Result<(), StoreError>;

    /// For start-up: for each consumer, the contacts within `reach_ms` of its newest one,
    /// and, for a consumer that has older ones too, the instant from which what was given
    /// is complete.
    fn for_each_recent_contact(&self, reach_ms: i64, f: &mut dyn FnMut(Recent)) -> Result<(), StoreError>;

    /// Every contact of one consumer, oldest first (questions about instants memory no
    /// longer covers).
    fn contacts_of(&self, consumer_id: &str, f: &mut dyn FnMut(Contact)) -> Result<(), StoreError>;

    /// The newest rule set, with its version.
    fn latest_rule_set(&self) -> Result<Option<(u64, RuleSetDraft)>, StoreError>;

    /// Makes everything committed durable (commit already does; this is for shutdown).
    fn flush(&self) -> Result<(), StoreError>;
}
