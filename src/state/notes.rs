//! Audit notes as the engine writes them: a note of a job, and how an operator is named.

use chrono::Utc;

use crate::domain::audit::{NoteDraft, NoteKind};
use crate::store::WriteOp;

/// How a note names an operator (an empty id said so).
pub(super) fn who(operator_id: &str) -> &str {
    if operator_id.is_empty() {
        "(no operator id)"
    } else {
        operator_id
    }
}

/// A note to write with a job, stamped now.
pub(super) fn note(consumer_id: &str, operator_id: &str, kind: NoteKind, text: String) -> WriteOp {
    WriteOp::Note(NoteDraft {
        consumer_id: consumer_id.to_string(),
        at: Utc::now(),
        operator_id: operator_id.to_string(),
        kind,
        text,
    })
}
