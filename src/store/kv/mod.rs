//! The key-value layout every backend stores predial's records in, and the one account of
//! what each write does to it.
//!
//! A backend is anything that can get a key, scan a prefix in key order ([`Kv`]) and land
//! a group of writes together, durably: sled's tree under `--data`, or one table of a
//! PostgreSQL database shared by a cluster's nodes. What a write means — an event id
//! counted once, a lease settled once, a prompt answered once, the number index kept in
//! step — is decided here, job by job, over a [`Staging`] of the group's writes
//! ([`stage_jobs`]), and read back here ([`reads`]); a backend adds only how its bytes
//! are read and made durable.
//!
//! - [`keys`]: the key spaces, and how a record is decoded.
//! - [`staging`]: the group's writes, readable before they land.
//! - [`stage`]: what each write does.
//! - [`reads`]: what the store's readers answer.

pub mod keys;
pub mod reads;
pub mod stage;
pub mod staging;

pub use stage::{StageError, stage_jobs, stage_jobs_checked};
pub use staging::{Staging, Write};

use super::StoreError;

/// What a backend gives the layout to read: point reads and ordered prefix scans of what
/// it has committed.
pub trait Kv {
    /// The backend's own buffer, handed over without a copy.
    type Bytes: AsRef<[u8]>;

    fn get(&self, k: &[u8]) -> Result<Option<Self::Bytes>, StoreError>;

    /// Every key that starts with `prefix`, in key order (bytewise), with its value.
    fn scan(
        &self,
        prefix: &[u8],
        f: &mut dyn FnMut(Self::Bytes, Self::Bytes) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The last key that starts with `prefix`, with its value.
    fn last(&self, prefix: &[u8]) -> Result<Option<Pair<Self>>, StoreError>;
}

/// A key and its value, in a backend's own buffers.
pub type Pair<K> = (<K as Kv>::Bytes, <K as Kv>::Bytes);

/// The [`Store`](super::Store) trait's reads, answered from the layout through `self.$kv()`
/// (a method giving a [`Kv`]): every key-value backend's readers are these, word for word.
macro_rules! kv_reads {
    ($kv:ident) => {
        fn consumer(&self, id: &str) -> Result<Option<$crate::domain::Consumer>, $crate::store::StoreError> {
            $crate::store::kv::reads::consumer(self.$kv(), id)
        }
        fn for_each_consumer(
            &self,
            f: &mut dyn FnMut($crate::domain::Consumer),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_consumer(self.$kv(), f)
        }
        fn for_each_recent_history(
            &self,
            reach_ms: i64,
            f: &mut dyn FnMut(&str, $crate::domain::History),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_recent_history(self.$kv(), reach_ms, f)
        }
        fn contacts_of(
            &self,
            consumer_id: &str,
            f: &mut dyn FnMut($crate::domain::Contact),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::contacts_of(self.$kv(), consumer_id, f)
        }
        fn latest_rule_set(
            &self,
        ) -> Result<Option<(u64, $crate::domain::RuleSetDraft)>, $crate::store::StoreError> {
            $crate::store::kv::reads::latest_rule_set(self.$kv())
        }
        fn for_each_exclusions(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::Exclusions),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_exclusions(self.$kv(), f)
        }
        fn for_each_opt_out(
            &self,
            f: &mut dyn FnMut($crate::domain::PhoneNumber, chrono::DateTime<chrono::Utc>),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_opt_out(self.$kv(), f)
        }
        fn for_each_callback(
            &self,
            f: &mut dyn FnMut($crate::domain::callback::Callback),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_callback(self.$kv(), f)
        }
        fn for_each_program(
            &self,
            f: &mut dyn FnMut($crate::domain::programs::Program),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_program(self.$kv(), f)
        }
        fn for_each_program_number(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::programs::ProgramNumber),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_program_number(self.$kv(), f)
        }
        fn for_each_do_not_call(
            &self,
            f: &mut dyn FnMut($crate::domain::PhoneNumber),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_do_not_call(self.$kv(), f)
        }
        fn for_each_consent(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::PhoneNumber),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_consent(self.$kv(), f)
        }
        fn for_each_unsettled_lease(
            &self,
            f: &mut dyn FnMut($crate::domain::lease::Lease),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_unsettled_lease(self.$kv(), f)
        }
        fn unsettled_leases_of(
            &self,
            consumer_id: &str,
        ) -> Result<Vec<$crate::domain::lease::Lease>, $crate::store::StoreError> {
            $crate::store::kv::reads::unsettled_leases_of(self.$kv(), consumer_id)
        }
        fn lease(
            &self,
            id: $crate::domain::lease::AttemptId,
        ) -> Result<
            Option<($crate::domain::lease::Lease, $crate::domain::lease::LeaseState)>,
            $crate::store::StoreError,
        > {
            $crate::store::kv::reads::lease(self.$kv(), id)
        }
        fn consumers_with(&self, phone: $crate::domain::PhoneNumber) -> Result<Vec<String>, $crate::store::StoreError> {
            $crate::store::kv::reads::consumers_with(self.$kv(), phone)
        }
        fn prompt(&self, token: &str) -> Result<Option<$crate::domain::prompt::Prompt>, $crate::store::StoreError> {
            $crate::store::kv::reads::prompt(self.$kv(), token)
        }
        fn notes_of(
            &self,
            consumer_id: &str,
        ) -> Result<Vec<$crate::domain::audit::AuditNote>, $crate::store::StoreError> {
            $crate::store::kv::reads::notes_of(self.$kv(), consumer_id)
        }
    };
}
pub(crate) use kv_reads;
