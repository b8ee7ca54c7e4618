//! Staging: the writes of one commit group, readable before they land.
//!
//! Jobs are staged one over another, so a job reads what earlier jobs of its group wrote,
//! and a job that is refused leaves nothing behind. At the end the group's writes are
//! handed to the backend as one list ([`Staging::into_writes`]), to land together.
//!
//! What is not staged is read from the backend through `committed`: sled's tree, or a
//! database transaction's reads.

use std::collections::HashMap;

use super::super::StoreError;

/// A point read of what is committed.
pub type Committed<'a> = &'a dyn Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError>;

/// One write of a group: a value, or `None` to remove the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// Writes of one group, readable before they land: the group's kept jobs, and the job
/// being staged (hashed too, so a job of many writes stages in linear time).
pub struct Staging<'a> {
    committed: Committed<'a>,
    group: HashMap<Vec<u8>, Option<Vec<u8>>>,
    order: Vec<Vec<u8>>,
    job: HashMap<Vec<u8>, Option<Vec<u8>>>,
    job_order: Vec<Vec<u8>>,
}

impl<'a> Staging<'a> {
    pub fn new(committed: Committed<'a>) -> Self {
        Staging {
            committed,
            group: HashMap::new(),
            order: Vec::new(),
            job: HashMap::new(),
            job_order: Vec::new(),
        }
    }

    pub fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.job.get(k) {
            return Ok(v.clone());
        }
        if let Some(v) = self.group.get(k) {
            return Ok(v.clone());
        }
        (self.committed)(k)
    }

    /// The next value (from 1) of the counter kept under `k`, staged with the job.
    pub fn next_counter(&mut self, k: Vec<u8>) -> Result<u64, StoreError> {
        let last = self
            .get(&k)?
            .and_then(|v| v.try_into().ok())
            .map_or(0, u64::from_be_bytes);
        self.put(k, (last + 1).to_be_bytes().to_vec());
        Ok(last + 1)
    }

    pub fn put(&mut self, k: Vec<u8>, v: Vec<u8>) {
        self.stage(k, Some(v));
    }

    pub fn remove(&mut self, k: Vec<u8>) {
        self.stage(k, None);
    }

    pub fn stage(&mut self, k: Vec<u8>, v: Option<Vec<u8>>) {
        if self.job.insert(k.clone(), v).is_none() {
            self.job_order.push(k);
        }
    }

    pub fn keep_job(&mut self) {
        for k in self.job_order.drain(..) {
            let v = self.job.remove(&k).expect("staged");
            if self.group.insert(k.clone(), v).is_none() {
                self.order.push(k);
            }
        }
    }

    pub fn drop_job(&mut self) {
        self.job.clear();
        self.job_order.clear();
    }

    /// The group's writes, in the order they were first staged; each key once, with its
    /// last value.
    pub fn into_writes(mut self) -> Vec<Write> {
        self.order
            .into_iter()
            .map(|k| {
                let v = self.group.remove(&k).flatten();
                (k, v)
            })
            .collect()
    }
}
