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
//! - [`leases`]: a lease and where it stands, as commits and readers both read it.
//! - [`reads`]: what the store's readers answer.
//! - [`reassigned`]: the Reassigned Numbers Database's answers, one key each.
//! - [`evidence`]: the log of every recorded event, in time order, that exports scan.

pub mod evidence;
pub mod keys;
pub mod leases;
pub mod reads;
pub mod reassigned;
pub mod stage;
pub mod staging;
pub mod sweep;

pub(crate) use reads::kv_reads;
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

    /// The keys that start with `prefix` from `from` on (`from` starts with `prefix`), in
    /// key order, with their values, until `f` answers false: a page read from where the
    /// last one stopped, without reading what comes before.
    fn scan_from(
        &self,
        prefix: &[u8],
        from: &[u8],
        f: &mut dyn FnMut(Self::Bytes, Self::Bytes) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError>;

    /// The last key that starts with `prefix`, with its value.
    fn last(&self, prefix: &[u8]) -> Result<Option<Pair<Self>>, StoreError>;
}

/// A key and its value, in a backend's own buffers.
pub type Pair<K> = (<K as Kv>::Bytes, <K as Kv>::Bytes);
