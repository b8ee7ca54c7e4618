//! A Do Not Call import, start to end: its numbers stored chunk by chunk as they arrive,
//! the list's next set built beside the one decisions read, and one last write that makes
//! them the list's — then the set swapped in whole. Until that write nothing of the import
//! counts (a decision sees the old list or the new, never half), and an import cut short
//! changes nothing: its chunks belong to no list (a later REPLACE of the list does not
//! need them either).

use std::sync::Arc;

use chrono::Utc;

use super::dnc::{Builder, DoNotCallSet};
use super::engine::{Engine, EngineError};
use crate::domain::PhoneNumber;
use crate::domain::do_not_call::{ImportMode, ImportRef, validate_list_name};
use crate::store::{Store, StoreError, WriteOp};

/// How many Do Not Call numbers one durable write takes.
pub const DNC_CHUNK: usize = 50_000;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub list: String,
    /// Numbers sent (each once per time it was sent).
    pub imported: u64,
    /// Numbers that were on the list and are not now.
    pub removed: u64,
    /// Numbers on the list now.
    pub numbers: u64,
}

/// An import under way.
pub struct DoNotCallImport {
    engine: Engine,
    list: String,
    mode: ImportMode,
    import_id: u64,
    chunks: u64,
    imported: u64,
    /// The list as the import began: what an ADD or REMOVE changes.
    before: Option<Arc<DoNotCallSet>>,
}

impl Engine {
    /// Starts an import into `list` (empty: the default list). REMOVE from a list that
    /// does not exist is NOT_FOUND.
    pub fn begin_do_not_call_import(&self, list: &str, mode: ImportMode) -> Result<DoNotCallImport, EngineError> {
        let list = validate_list_name(list).map_err(|e| EngineError::Invalid(e.into()))?;
        let before = self.inner.registry.do_not_call_list(&list).map(|l| l.set);
        if mode == ImportMode::Remove && before.is_none() {
            return Err(EngineError::NotFound(format!(
                "list: no Do Not Call list {list:?} to remove numbers from"
            )));
        }
        Ok(DoNotCallImport {
            engine: self.clone(),
            list,
            mode,
            // Unique across nodes and restarts without a shared counter.
            import_id: uuid::Uuid::new_v4().as_u64_pair().0,
            chunks: 0,
            imported: 0,
            before,
        })
    }

    /// Every list: its name, how many numbers, and when an import last changed it.
    pub fn do_not_call_lists(&self) -> Vec<(String, u64, chrono::DateTime<Utc>)> {
        self.inner
            .registry
            .do_not_call_lists()
            .into_iter()
            .map(|(name, l)| (name.to_string(), l.set.len() as u64, l.updated_at))
            .collect()
    }

    /// How many numbers the Do Not Call lists hold.
    pub fn do_not_call_len(&self) -> usize {
        self.inner.registry.do_not_call_len()
    }

    /// Heap bytes of the in-memory Do Not Call lists.
    pub fn do_not_call_bytes(&self) -> usize {
        self.inner.registry.do_not_call_bytes()
    }
}

/// The list's next set, from its set before and the import's stored numbers, and how many
/// numbers it lost. The numbers are read from the store twice — counted, then pushed — so
/// each area code's vector is allocated once: while it is built the new list costs its
/// numbers (4 bytes each) beside the old one, no more.
fn next_set(
    store: &dyn Store,
    before: Option<Arc<DoNotCallSet>>,
    mode: ImportMode,
    import: ImportRef,
) -> Result<(DoNotCallSet, u64), StoreError> {
    let mut next = match (&before, mode) {
        (Some(set), ImportMode::Add | ImportMode::Remove) => set.to_builder(),
        _ => Builder::default(),
    };
    if mode == ImportMode::Remove {
        store.do_not_call_numbers(Some(import), &mut |numbers| {
            numbers.iter().for_each(|n| next.remove(*n))
        })?;
    } else {
        store.do_not_call_numbers(Some(import), &mut |numbers| next.count(numbers))?;
        next.reserve_counted();
        store.do_not_call_numbers(Some(import), &mut |numbers| numbers.iter().for_each(|n| next.push(*n)))?;
    }
    let set = next.build();
    let removed = before.map_or(0, |old| old.len() - old.common(&set)) as u64;
    Ok((set, removed))
}

impl DoNotCallImport {
    pub fn list(&self) -> &str {
        &self.list
    }

    /// Stores numbers of the import, durably, in chunks of [`DNC_CHUNK`].
    pub async fn add(&mut self, numbers: &[PhoneNumber]) -> Result<(), EngineError> {
        for chunk in numbers.chunks(DNC_CHUNK) {
            let op = WriteOp::StageDoNotCall {
                import_id: self.import_id,
                chunk: self.chunks,
                numbers: chunk.to_vec(),
            };
            self.engine.commit(vec![op]).await?;
            self.chunks += 1;
            self.imported += chunk.len() as u64;
        }
        Ok(())
    }

    /// Makes the import the list's, and swaps the list's set.
    pub async fn finish(self) -> Result<ImportSummary, EngineError> {
        let DoNotCallImport {
            engine,
            list,
            mode,
            import_id,
            chunks,
            imported,
            before,
        } = self;
        let import = ImportRef {
            import_id,
            chunks,
            remove: mode == ImportMode::Remove,
        };
        let store = engine.inner.store.clone();
        // Reading and sorting millions of numbers is work for a blocking thread.
        let (set, removed) = tokio::task::spawn_blocking(move || next_set(&*store, before, mode, import))
            .await
            .map_err(|e| EngineError::Store(StoreError::Backend(format!("building the list: {e}"))))??;
        let numbers = set.len() as u64;
        engine.inner.registry.prepare(import_id, Arc::new(set));
        let op = WriteOp::CommitDoNotCall {
            list: list.clone(),
            mode,
            import,
            numbers,
            at: Utc::now(),
        };
        if let Err(e) = engine.commit(vec![op]).await {
            engine.inner.registry.discard(import_id);
            return Err(e);
        }
        tracing::info!(list = %list, imported, removed, numbers, "Do Not Call import");
        Ok(ImportSummary {
            list,
            imported,
            removed,
            numbers,
        })
    }
}
