//! In-memory state: the book of consumers and groups, the active rule set, and the
//! [`Engine`] handle that keeps them in step with the store.

mod agents;
mod attempts;
mod book;
mod book_leases;
mod checks;
mod compliance;
mod dnc;
mod dnc_import;
mod engine;
mod evidence;
mod follow;
mod health;
mod listings;
mod load;
mod notes;
mod outcomes;
mod prefetch;
mod programs;
mod reassigned;
mod reassigned_import;
mod registry;
mod reservations;
mod retention;
mod rule_versions;
mod rules;
mod standing;

pub use crate::domain::retention::{Retention, cutoff};
pub use agents::InboundOutcome;
pub use book::{Book, Entry, Extras, Group, Id, Lookup, Snapshot};
pub use checks::{Checked, Granted, Pending, Step};
pub use compliance::{ComplianceAnswer, ComplianceKind};
pub use dnc::{Builder, DoNotCallSet};
pub use dnc_import::{DNC_CHUNK, DoNotCallImport, ImportSummary};
pub use engine::{Engine, EngineError, EngineOptions, Recorded};
pub use listings::{ConsumerFilter, NoteFilter};
pub use programs::NumbersAdded;
pub use reassigned::ReassignedAnswers;
pub use reassigned_import::{REASSIGNED_CHUNK, ReassignedSummary};
pub use registry::Registry;
pub use rule_versions::PutRules;
pub use rules::ActiveRules;
pub use standing::{ControlCount, Standing};

/// The concurrent map of the book and the registry: dashmap with foldhash, several times
/// faster than the default SipHash on the short keys looked up on every decision (ids and
/// numbers), and seeded per process.
pub type Map<K, V> = dashmap::DashMap<K, V, foldhash::fast::RandomState>;
