//! The decision domain: plain Rust, no transport, no storage, no async.
//!
//! - [`kinds`]: channels, modes, verdicts, periods, purposes, reason codes.
//! - [`phone`]: E.164 numbers and the US forms dialers send.
//! - [`time`]: local dates and times in IANA zones, daylight saving time included.
//! - [`consumer`]: consumers as given and as a decision reads them.
//! - [`place`]: postal codes and counties, finer than a state.
//! - [`history`]: recorded contacts and the compact, time-ordered history kept in memory.
//! - [`rules`]: rule sets and contact controls, validated and compiled.
//! - [`rule_history`]: every version over time, the one in force at an instant, the guard
//!   against switching compliance off, and what changed between two versions.
//! - [`window`]: counting periods, the hold after a right party contact.
//! - [`standing`]: a consumer's counts under every control, as the customer card shows them.
//! - [`hours`]: calling hours and restricted days across every relevant zone.
//! - [`blackout`]: emergency orders suspending contacts in a place for a time.
//! - [`exclusions`]: bankruptcy, disabled channels, opted-out numbers.
//! - [`do_not_call`]: named Do Not Call lists and how an import changes one.
//! - [`reassigned`]: the Reassigned Numbers Database's answers, read against consent.
//! - [`keywords`]: STOP and START replies.
//! - [`revocation`]: what a STOP binds: every purpose, or the purpose of the text it answered.
//! - [`lease`]: attempt leases — an allowed contact counted at once, until settled.
//! - [`prompt`]: click-to-dial override prompts.
//! - [`audit`]: the note lines of the audit trail.
//! - [`evidence`]: every recorded event as an export gives it to an examiner.
//! - [`decision`]: the decision function itself, step by step; `findings` holds what
//!   each contact control finds, and the search for the next allowed time.

mod answer;
mod attempt_id;
pub mod audit;
pub mod blackout;
pub mod calendar;
pub mod callback;
pub mod consumer;
pub mod decision;
pub mod do_not_call;
pub mod error;
pub mod evidence;
pub mod exclusions;
mod findings;
pub mod history;
pub mod hours;
pub mod keywords;
pub mod kinds;
pub mod lease;
pub mod lease_settings;
pub mod nanp;
pub mod phone;
pub mod place;
pub mod programs;
pub mod prompt;
pub mod reassigned;
mod request;
pub mod retention;
pub mod revocation;
pub mod rule_history;
pub mod rules;
pub mod standing;
pub mod time;
pub mod window;

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod lease_tests;
#[cfg(test)]
mod reassigned_tests;

pub use consumer::{Consumer, Phone, Profile, Region};
pub use decision::{CallerFacts, Decision, Reason, Request, Subject, decide};
pub use error::{FieldError, FieldErrors};
pub use exclusions::Exclusions;
pub use history::{Contact, ContactRec, History, RecKind};
pub use kinds::{CallPurpose, Channel, ExcludedBy, Mode, Period, ReasonCode, Role, Verdict};
pub use phone::PhoneNumber;
pub use reassigned::AnswerKind as ReassignedAnswerKind;
pub use revocation::{OptOut, RevocationScope};
pub use rule_history::{RuleDiff, Timeline};
pub use rules::{RuleSet, RuleSetDraft, RuleSetMeta};
