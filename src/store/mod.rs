//! Durable storage: what must survive a `kill -9`.
//!
//! Which backend a server runs on is chosen in one place, [`StoreConfig`], which opens it.
//!
//! Backends implement [`Store`]: apply a group of jobs atomically and durably, and give
//! everything back at start-up. [`GroupCommit`] sits in front of any backend and lets
//! concurrent writers share one flush (one fsync for many acknowledgements).
//!
//! Both backends keep the same key-value layout ([`kv`]), whose staging decides what each
//! write does; they differ only in where the bytes live:
//! - [`SledStore`]: the embedded default, under `--data`; this node's alone.
//! - [`PgStore`]: one PostgreSQL database shared by a cluster's nodes (`--store
//!   postgres://…`). Such a store also has a [`ChangeFeed`]: what the other nodes
//!   committed, in commit order, for this node's memory to follow.

mod change;
mod config;
mod group_commit;
pub mod kv;
mod log_throttle;
pub mod postgres;
pub(crate) mod records;
mod sled_store;

pub use change::{Change, ChangeFeed, FeedCommit};
pub use config::{DEFAULT_DATA_DIR, StoreConfig};
pub use group_commit::{Applier, GroupCommit, Queued};
pub use log_throttle::LogThrottle;
pub use postgres::PgStore;
pub use sled_store::SledStore;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditNote, NoteDraft};
use crate::domain::callback::Callback;
use crate::domain::do_not_call::{ImportMode, ImportRef, StoredList};
use crate::domain::lease::{AttemptId, Lease, LeaseState, ReleaseRejection, SettleRejection};
use crate::domain::programs::{Program, ProgramNumber};
use crate::domain::prompt::{Prompt, PromptRejection};
use crate::domain::{Consumer, Contact, Exclusions, History, PhoneNumber, RuleSet};

/// One write.
#[derive(Debug, Clone)]
pub enum WriteOp {
    PutConsumer(Consumer),
    /// Counted once per `event_id`: a repeat is [`Applied::Duplicate`] and changes nothing
    /// — nor do the writes after it in its job (what the contact brings about, such as a
    /// wrong number's exclusion), which are [`Applied::Skipped`].
    /// A PHONE contact at or after a callback's time consumes that callback. It settles the
    /// lease it names ([`Rejected::Settle`] when it may not: nothing is recorded), or, naming
    /// none, the oldest unsettled lease of its consumer, channel and number
    /// ([`crate::domain::lease::settles`], [`crate::domain::lease::oldest_settled_by`]):
    /// [`Applied::Settled`] says which.
    RecordContact(Contact),
    /// A lease a decision granted: counted until settled or released. `seen` is how far
    /// this node's memory had followed the store's change feed when the lease was decided
    /// (0 for a store no other node writes): a shared store refuses the lease
    /// ([`Rejected::Stale`]) when something the decision read has changed since, so that it
    /// is decided again on what the store holds now.
    TakeLease {
        lease: Lease,
        seen: u64,
    },
    /// A lease whose attempt was never placed stops counting
    /// ([`crate::domain::lease::release`]; [`Rejected::Release`] when it may not).
    ReleaseLease {
        consumer_id: String,
        attempt_id: AttemptId,
    },
    /// A compiled rule set: the store keeps its draft under its version.
    PutRuleSet(Arc<RuleSet>),
    /// Replaces a consumer's three account-level flags (numbers excluded by a user stay).
    SetExclusionFlags {
        consumer_id: String,
        flags: Exclusions,
    },
    /// Sets or clears a BY_USER exclusion of one number for one consumer.
    SetUserExclusion {
        consumer_id: String,
        phone: PhoneNumber,
        excluded: bool,
    },
    /// A BY_CUSTOMER exclusion of a number (`Some(at)`), answering a text of `purpose`
    /// (none: not known), added to any it had; or its clearing (`None`).
    SetOptOut {
        phone: PhoneNumber,
        at: Option<DateTime<Utc>>,
        purpose: Option<crate::domain::CallPurpose>,
    },
    PutCallback(Callback),
    IssuePrompt {
        token: String,
        prompt: Prompt,
    },
    /// Marks a prompt answered; rejects the whole job when it is unknown, used, expired
    /// or another operator's.
    AnswerPrompt {
        token: String,
        operator_id: String,
        now: DateTime<Utc>,
    },
    /// Appends an audit note; [`Applied::Noted`] gives its id.
    Note(NoteDraft),
    /// Creates or replaces a calling program.
    PutProgram(Program),
    /// Registers caller-ID numbers with a program (a number moves if it had another).
    AddProgramNumbers {
        program_id: String,
        numbers: Vec<ProgramNumber>,
    },
    /// One chunk of a Do Not Call import's numbers, stored under the import (chunks
    /// numbered from 0); no list holds them until the import's [`WriteOp::CommitDoNotCall`].
    StageDoNotCall {
        import_id: u64,
        chunk: u64,
        numbers: Vec<PhoneNumber>,
    },
    /// Ends an import: its staged chunks become part of `list` as `mode` says (a REPLACE
    /// also deletes the chunks of what the list held before). `numbers` is the list's size
    /// after it.
    CommitDoNotCall {
        list: String,
        mode: ImportMode,
        import: ImportRef,
        numbers: u64,
        at: DateTime<Utc>,
    },
    /// A chunk of answers of the Reassigned Numbers Database, kept as written (which answer
    /// stands for a number and date asked is memory's to merge: the one checked last).
    PutReassigned(Vec<crate::domain::reassigned::ReassignedAnswer>),
    /// Gives (or withdraws) a consumer's prior express consent to telemarketing calls to a
    /// number.
    SetConsent {
        consumer_id: String,
        phone: PhoneNumber,
        telemarketing: bool,
        at: DateTime<Utc>,
    },
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// A contact whose `event_id` was already recorded.
    Duplicate,
    /// Not written: an earlier write of its job was a [`Applied::Duplicate`] contact.
    Skipped,
    /// A note, with its id.
    Noted(u64),
    /// A contact recorded, and the lease it settled.
    Settled(AttemptId),
}

/// Why a job was refused whole (nothing of it was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(transparent)]
    Prompt(#[from] PromptRejection),
    #[error(transparent)]
    Settle(#[from] SettleRejection),
    #[error(transparent)]
    Release(#[from] ReleaseRejection),
    /// A lease decided on memory that another node's write has since made stale: decide it
    /// again (memory has caught up by the time the refusal is answered).
    #[error("the decision read a consumer another node has changed since; it is decided again")]
    Stale,
}

/// What a job did: each write's result, or the refusal of all of them.
pub type JobOutcome = Result<Vec<Applied>, Rejected>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("a stored record is unreadable ({key}): {message}")]
    Corrupt { key: String, message: String },
    #[error("the store is shut down")]
    Closed,
    /// The embedded store's directory is locked by another process.
    #[error("another predial is using {0}: stop it, or give this one another --data")]
    InUse(String),
}

/// What a group commit did.
#[derive(Debug)]
pub struct Committed {
    /// Each job's outcome, in order.
    pub outcomes: Vec<JobOutcome>,
    /// For a store other nodes write too: what they committed before this group, and where
    /// this group leaves the feed.
    pub feed: Option<FeedCommit>,
}

impl Committed {
    /// The outcome of a commit to a store no other node writes.
    pub fn alone(outcomes: Vec<JobOutcome>) -> Committed {
        Committed { outcomes, feed: None }
    }
}

/// A durable home for predial's records.
pub trait Store: Send + Sync + 'static {
    /// Applies `jobs` in order — each job's writes all or none — and returns only once
    /// everything applied is durable. `after` is the feed position memory holds everything
    /// up to (a shared store answers what came after it, in [`Committed::feed`]).
    fn commit(&self, jobs: &[Vec<WriteOp>], after: u64) -> Result<Committed, StoreError>;

    /// What other nodes commit to this store, for memory to follow; `None` for a store
    /// this node has to itself.
    fn feed(&self) -> Option<&dyn ChangeFeed> {
        None
    }

    /// Start-up's reads (every `for_each_*` until [`end_load`](Self::end_load)) are of one
    /// consistent snapshot; answers the feed's position at that snapshot, from where
    /// memory follows it (`None` without a feed).
    fn begin_load(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Start-up's reads are done.
    fn end_load(&self) {}

    /// One consumer as last written.
    fn consumer(&self, id: &str) -> Result<Option<Consumer>, StoreError>;

    /// A page of consumers in id order after the id `after` (none: from the first), those
    /// `keep` admits, at most `limit`.
    fn consumers_page(
        &self,
        after: Option<&str>,
        limit: usize,
        keep: &dyn Fn(&Consumer) -> bool,
    ) -> Result<Vec<Consumer>, StoreError>;

    /// Every consumer, for start-up.
    fn for_each_consumer(&self, f: &mut dyn FnMut(Consumer)) -> Result<(), StoreError>;

    /// For start-up: every consumer with contacts, once, with the history memory keeps of
    /// it: its contacts within `reach_ms` of its newest, whole from where the reach begins
    /// (or whole, when nothing older was left out).
    fn for_each_recent_history(&self, reach_ms: i64, f: &mut dyn FnMut(&str, History)) -> Result<(), StoreError>;

    /// Every contact of one consumer, oldest first (questions about instants memory no
    /// longer covers).
    fn contacts_of(&self, consumer_id: &str, f: &mut dyn FnMut(Contact)) -> Result<(), StoreError>;

    /// Every rule-set version ever put (none is ever deleted), compiled, in version order.
    fn for_each_rule_set(&self, f: &mut dyn FnMut(RuleSet)) -> Result<(), StoreError>;

    /// Every consumer's exclusions, for start-up.
    fn for_each_exclusions(&self, f: &mut dyn FnMut(String, Exclusions)) -> Result<(), StoreError>;

    /// Every number excluded BY_CUSTOMER, since when and for which purposes, for start-up.
    fn for_each_opt_out(&self, f: &mut dyn FnMut(PhoneNumber, crate::domain::OptOut)) -> Result<(), StoreError>;

    /// Every callback not yet consumed, for start-up.
    fn for_each_callback(&self, f: &mut dyn FnMut(Callback)) -> Result<(), StoreError>;

    /// Every program and its numbers, for start-up.
    fn for_each_program(&self, f: &mut dyn FnMut(Program)) -> Result<(), StoreError>;
    fn for_each_program_number(&self, f: &mut dyn FnMut(String, ProgramNumber)) -> Result<(), StoreError>;

    /// Every Do Not Call list, by name.
    fn do_not_call_lists(&self) -> Result<Vec<StoredList>, StoreError>;

    /// The numbers of one import's chunks (`None`: those stored before lists had names),
    /// chunk by chunk.
    fn do_not_call_numbers(
        &self,
        import: Option<ImportRef>,
        f: &mut dyn FnMut(&[PhoneNumber]),
    ) -> Result<(), StoreError>;

    /// Every chunk of Reassigned Numbers Database answers, in the order written, for
    /// start-up.
    fn for_each_reassigned(
        &self,
        f: &mut dyn FnMut(&[crate::domain::reassigned::ReassignedAnswer]),
    ) -> Result<(), StoreError>;

    /// Every lease neither settled nor released, for start-up.
    fn for_each_unsettled_lease(&self, f: &mut dyn FnMut(Lease)) -> Result<(), StoreError>;

    /// One consumer's leases neither settled nor released.
    fn unsettled_leases_of(&self, consumer_id: &str) -> Result<Vec<Lease>, StoreError>;

    /// A lease ever granted, and where it stands.
    fn lease(&self, id: AttemptId) -> Result<Option<(Lease, LeaseState)>, StoreError>;

    /// Every telemarketing consent given: consumer id and number.
    fn for_each_consent(&self, f: &mut dyn FnMut(String, PhoneNumber)) -> Result<(), StoreError>;

    /// The ids of the consumers that have `phone` among their numbers, in byte order.
    fn consumers_with(&self, phone: PhoneNumber) -> Result<Vec<String>, StoreError>;

    fn prompt(&self, token: &str) -> Result<Option<Prompt>, StoreError>;

    /// A consumer's audit notes, oldest first.
    fn notes_of(&self, consumer_id: &str) -> Result<Vec<AuditNote>, StoreError>;

    /// A page of notes in id order after note `after` (0: from the first), of one consumer
    /// or (none) of every consumer and none; those `keep` admits, at most `limit`.
    fn notes_page(
        &self,
        consumer_id: Option<&str>,
        after: u64,
        limit: usize,
        keep: &dyn Fn(&AuditNote) -> bool,
    ) -> Result<Vec<AuditNote>, StoreError>;

    /// The evidence log ([`kv::evidence`]): one consumer's records (`Some`) or everyone's,
    /// from `from_ms` on (none: from the first), in time order, until `f` answers false.
    /// Read as it is scanned, so memory stays flat however long the log.
    fn evidence(
        &self,
        consumer_id: Option<&str>,
        from_ms: Option<i64>,
        f: &mut dyn FnMut(crate::domain::evidence::Evidence) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError>;

    /// Up to `limit` records of `space` older than `before_ms`, from the key `from` on,
    /// for retention to delete ([`kv::sweep`]).
    fn sweep_batch(
        &self,
        space: kv::sweep::SweepSpace,
        before_ms: i64,
        from: &[u8],
        limit: usize,
    ) -> Result<kv::sweep::SweepBatch, StoreError>;

    /// Deletes `keys` in one atomic, durable write (retention's; nothing in memory depends
    /// on them).
    fn delete_keys(&self, keys: &[Vec<u8>]) -> Result<(), StoreError>;

    /// Makes everything committed durable (commit already does; this is for shutdown).
    fn flush(&self) -> Result<(), StoreError>;
}
