//! In-memory state: the book of consumers and groups, the active rule set, and the
//! [`Engine`] handle that keeps them in step with the store.

mod agents;
mod book;
mod compliance;
mod dnc;
mod engine;
mod programs;
mod registry;
mod rules;

pub use agents::{Checked, InboundOutcome};
pub use book::{Book, Entry, Group, Lookup, Snapshot};
pub use compliance::{ComplianceAnswer, ComplianceKind};
pub use dnc::DoNotCallSet;
pub use engine::{Engine, EngineError, EngineOptions, Recorded};
pub use programs::NumbersAdded;
pub use registry::Registry;
pub use rules::ActiveRules;
