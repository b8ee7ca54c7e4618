//! Staging: the writes of one commit group, readable before they land.
//!
//! Jobs are staged one over another, so a job reads what earlier jobs of its group wrote,
//! and a job that is refused leaves nothing behind. At the end the group becomes one
//! `sled::Batch`.

use std::collections::HashMap;

use super::StoreError;

/// Writes of one group, readable before they land: the group's kept jobs, and the job
/// being staged (hashed too, so a job of many writes stages in linear time).
pub(super) struct Staging<'a> {
    tree: &'a sled::Tree,
    group: HashMap<Vec<u8>, Option<Vec<u8>>>,
    order: Vec<Vec<u8>>,
    job: HashMap<Vec<u8>, Option<Vec<u8>>>,
    job_order: Vec<Vec<u8>>,
}

impl<'a> Staging<'a> {
    pub(super) fn new(tree: &'a sled::Tree) -> Self {
        Staging {
            tree,
            group: HashMap::new(),
            order: Vec::new(),
            job: HashMap::new(),
            job_order: Vec::new(),
        }
    }

    pub(super) fn get(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.job.get(k) {
            return Ok(v.clone());
        }
        if let Some(v) = self.group.get(k) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(k)?.map(|v| v.to_vec()))
    }

    pub(super) fn put(&mut self, k: Vec<u8>, v: Vec<u8>) {
        self.stage(k, Some(v));
    }

    pub(super) fn remove(&mut self, k: Vec<u8>) {
        self.stage(k, None);
    }

    pub(super) fn stage(&mut self, k: Vec<u8>, v: Option<Vec<u8>>) {
        if self.job.insert(k.clone(), v).is_none() {
            self.job_order.push(k);
        }
    }

    pub(super) fn keep_job(&mut self) {
        for k in self.job_order.drain(..) {
            let v = self.job.remove(&k).expect("staged");
            if self.group.insert(k.clone(), v).is_none() {
                self.order.push(k);
            }
        }
    }

    pub(super) fn drop_job(&mut self) {
        self.job.clear();
        self.job_order.clear();
    }

    pub(super) fn into_batch(mut self) -> Option<sled::Batch> {
        if self.order.is_empty() {
            return None;
        }
        let mut batch = sled::Batch::default();
        for k in self.order {
            match self.group.remove(&k).flatten() {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        Some(batch)
    }
}
