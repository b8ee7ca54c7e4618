//! Listings read from the store a page at a time: the audit trail (one consumer's, or
//! every note) and consumers by state, group or number.

use chrono::{DateTime, Utc};

use super::engine::{Engine, EngineError};
use crate::domain::audit::{AuditNote, NoteKind};
use crate::domain::{Consumer, PhoneNumber};

/// Which notes a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct NoteFilter {
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Empty: every kind.
    pub kinds: Vec<NoteKind>,
}

impl NoteFilter {
    fn keeps(&self, note: &AuditNote) -> bool {
        let at = note.note.at;
        self.from.is_none_or(|from| at >= from)
            && self.to.is_none_or(|to| at < to)
            && (self.kinds.is_empty() || self.kinds.contains(&note.note.kind))
    }
}

/// Which consumers a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct ConsumerFilter {
    /// Upper case; empty: every state.
    pub state: String,
    /// Empty: every group.
    pub group_id: String,
    pub phone: Option<PhoneNumber>,
}

impl Engine {
    /// Notes in id order after note `after`: one consumer's (`Some("")`: the notes of no
    /// consumer, the rule changes) or, with `None`, every note.
    pub fn notes_page(
        &self,
        consumer_id: Option<&str>,
        after: u64,
        limit: usize,
        filter: &NoteFilter,
    ) -> Result<Vec<AuditNote>, EngineError> {
        Ok(self
            .inner
            .store
            .notes_page(consumer_id, after, limit, &|n| filter.keeps(n))?)
    }

    /// Consumers in id order after the id `after`. With a number, the consumers that have
    /// it (from the store's index of numbers); otherwise a scan that keeps the state and
    /// group asked for.
    pub fn consumers_page(
        &self,
        after: Option<&str>,
        limit: usize,
        filter: &ConsumerFilter,
    ) -> Result<Vec<Consumer>, EngineError> {
        let keeps = |c: &Consumer| {
            (filter.state.is_empty()
                || c.state
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&filter.state)))
                && (filter.group_id.is_empty() || c.group_id.as_deref() == Some(filter.group_id.as_str()))
        };
        let store = &self.inner.store;
        let Some(phone) = filter.phone else {
            return Ok(store.consumers_page(after, limit, &keeps)?);
        };
        let mut page = Vec::new();
        for id in store.consumers_with(phone)? {
            if after.is_some_and(|after| id.as_str() <= after) {
                continue;
            }
            if let Some(c) = store.consumer(&id)?.filter(|c| keeps(c)) {
                page.push(c);
            }
            if page.len() == limit {
                break;
            }
        }
        Ok(page)
    }
}
