//! An import of the Reassigned Numbers Database's answers: validated whole by the caller
//! (an answer that cannot be read refuses the import before anything is written), then
//! stored chunk by chunk, each chunk durable and merged into memory as it lands.
//!
//! An import cut short by a crash leaves the chunks that landed: each is a true answer of
//! the database, kept by the same rule a whole import follows (a later check replaces an
//! earlier one), so sending the file again ends where one whole import would have.

use super::engine::{Engine, EngineError};
use crate::domain::reassigned::ReassignedAnswer;
use crate::store::WriteOp;

/// How many answers one durable write takes.
pub const REASSIGNED_CHUNK: usize = 50_000;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassignedSummary {
    /// Answers sent.
    pub imported: u64,
    /// Answers kept now, every import's (one per number and day asked).
    pub kept: u64,
}

impl Engine {
    /// Stores `answers`, durably, in chunks of [`REASSIGNED_CHUNK`].
    pub async fn import_reassigned(&self, answers: &[ReassignedAnswer]) -> Result<ReassignedSummary, EngineError> {
        for chunk in answers.chunks(REASSIGNED_CHUNK) {
            self.commit(vec![WriteOp::PutReassigned(chunk.to_vec())]).await?;
        }
        let kept = self.reassigned_len() as u64;
        tracing::info!(
            imported = answers.len(),
            kept,
            "Reassigned Numbers Database answers imported"
        );
        Ok(ReassignedSummary {
            imported: answers.len() as u64,
            kept,
        })
    }

    /// How many answers of the Reassigned Numbers Database memory keeps.
    pub fn reassigned_len(&self) -> usize {
        self.inner.registry.reassigned.len()
    }

    /// Heap bytes of those answers.
    pub fn reassigned_bytes(&self) -> usize {
        self.inner.registry.reassigned.heap_bytes()
    }
}
