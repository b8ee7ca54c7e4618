//! A lease as the key-value layout keeps it, and where it stands: read the same way by a
//! commit (through its staging) and by the store's readers.

use super::keys::*;
use crate::domain::lease::{AttemptId, Lease, LeaseState};
use crate::store::StoreError;
use crate::store::records::LeaseRecord;

/// A point read: through the staging during a commit, of the tree otherwise. The lease
/// helpers below take one, so the commit and the store's readers derive a lease's state
/// the same way.
pub(crate) type Get<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError>;

/// A lease, and where it stands: written once when granted (and again only if released);
/// unsettled while its id is among its consumer's unsettled ones, settled once it has
/// left them without being released. Settling so rewrites one small value, not the
/// lease's record.
pub(crate) fn lease_at(get: Get, id: AttemptId) -> Result<Option<(Lease, LeaseState)>, StoreError> {
    let k = lease_key(id);
    let Some(v) = get(&k)? else { return Ok(None) };
    let (lease, recorded) = decode::<LeaseRecord>(&k, &v)?
        .to_domain()
        .ok_or_else(|| corrupt(&k, "a lease record is not whole"))?;
    let state = match recorded {
        LeaseState::Released => LeaseState::Released,
        _ if unsettled_ids(get, &lease.consumer_id)?.contains(&id) => LeaseState::Unsettled,
        _ => LeaseState::Settled,
    };
    Ok(Some((lease, state)))
}

/// The attempt ids of a consumer's unsettled leases.
pub(crate) fn unsettled_ids(get: Get, consumer_id: &str) -> Result<Vec<AttemptId>, StoreError> {
    let k = key(UNSETTLED, consumer_id);
    Ok(match get(&k)? {
        Some(v) => packed_ids(&k, &v)?,
        None => Vec::new(),
    })
}

/// A consumer's unsettled leases.
pub(crate) fn unsettled_of(get: Get, consumer_id: &str) -> Result<Vec<Lease>, StoreError> {
    let mut leases = Vec::new();
    for id in unsettled_ids(get, consumer_id)? {
        let k = lease_key(id);
        let v = get(&k)?.ok_or_else(|| corrupt(&k, "an unsettled lease without its record"))?;
        let (lease, _) = decode::<LeaseRecord>(&k, &v)?
            .to_domain()
            .ok_or_else(|| corrupt(&k, "a lease record is not whole"))?;
        leases.push(lease);
    }
    Ok(leases)
}

pub(crate) fn packed_ids(k: &[u8], v: &[u8]) -> Result<Vec<AttemptId>, StoreError> {
    if v.len() % 16 != 0 {
        return Err(corrupt(k, "unsettled lease ids are not whole"));
    }
    Ok(v.chunks_exact(16)
        .map(|c| AttemptId::from_bytes(c.try_into().expect("16 bytes")))
        .collect())
}
