//! The book: every consumer's profile, exclusion flags and recent contacts, and every
//! group's combined contacts, in memory.
//!
//! Two concurrent maps (dashmap): consumers by id, groups by id. Decisions read; only the
//! commit thread writes (see `store::GroupCommit`), so writes never race each other. Lock
//! order, to rule out deadlock: a reader may hold a consumer entry while it reads that
//! consumer's group; a writer holds one entry at a time, never two.

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;

use crate::domain::decision::Subject;
use crate::domain::{Consumer, ContactRec, Exclusions, History, Profile};

/// What memory holds for one consumer id.
#[derive(Debug, Default)]
pub struct Entry {
    /// `None` while contacts were recorded for an id no one has created yet.
    pub profile: Option<Profile>,
    pub exclusions: Exclusions,
    pub history: History,
}

/// A group: its members and all their contacts together.
#[derive(Debug, Default)]
pub struct Group {
    pub members: Vec<Arc<str>>,
    pub history: History,
}

#[derive(Debug, Default)]
pub struct Book {
    consumers: DashMap<Arc<str>, Entry>,
    groups: DashMap<Arc<str>, Group>,
}

impl Book {
    /// Runs `f` with what is known of consumer `id` (`None`: no such consumer), provided
    /// memory holds every contact from `needed_from_ms` on; otherwise answers `None` and
    /// the caller asks the store.
    pub fn with_subject<R>(&self, id: &str, needed_from_ms: i64, f: impl FnOnce(Option<&Subject>) -> R) -> Option<R> {
        let Some(entry) = self.consumers.get(id) else {
            return Some(f(None));
        };
        let Some(profile) = &entry.profile else {
            return Some(f(None));
        };
        let group = profile.group.as_ref().and_then(|g| self.groups.get(g.as_ref()));
        let group_history = group.as_ref().map(|g| &g.history);
        if !entry.history.covers(needed_from_ms) || group_history.is_some_and(|h| !h.covers(needed_from_ms)) {
            return None;
        }
        let subject = Subject {
            profile,
            exclusions: &entry.exclusions,
            opted_out: false,
            own: &entry.history,
            group: group_history,
            callback_active: false,
        };
        Some(f(Some(&subject)))
    }

    /// A copy of what a decision reads of consumer `id` but its contacts, and the members
    /// of its group — for deciding from the store's full history.
    pub fn snapshot(&self, id: &str) -> Option<(Profile, Exclusions, Vec<Arc<str>>)> {
        let (profile, exclusions) = {
            let entry = self.consumers.get(id)?;
            (entry.profile.clone()?, entry.exclusions.clone())
        };
        let members = profile
            .group
            .as_ref()
            .and_then(|g| self.groups.get(g.as_ref()))
            .map(|g| g.members.clone());
        Some((profile, exclusions, members.unwrap_or_default()))
    }

    pub fn len(&self) -> usize {
        self.consumers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.consumers.is_empty()
    }

    /// Creates or replaces a consumer's profile; moves it between groups when its group
    /// changed. Commit thread only.
    pub fn put_profile(&self, consumer: &Consumer) {
        let profile = Profile::of(consumer);
        let new_group = profile.group.clone();
        let old_group = {
            let mut entry = self.consumers.entry(Arc::from(consumer.id.as_str())).or_default();
            let old = entry.profile.as_ref().and_then(|p| p.group.clone());
            entry.profile = Some(profile);
            old
        };
        if old_group != new_group {
            let id: Arc<str> = Arc::from(consumer.id.as_str());
            if let Some(g) = old_group {
                if let Some(mut group) = self.groups.get_mut(&g) {
                    group.members.retain(|m| *m != id);
                }
                self.rebuild_group(&g);
            }
            if let Some(g) = new_group {
                self.groups.entry(g.clone()).or_default().members.push(id);
                self.rebuild_group(&g);
            }
        }
    }

    /// Adds a contact to its consumer and the consumer's group, keeping `reach_ms` before
    /// each one's newest contact. Commit thread only.
    pub fn record(&self, consumer_id: &str, rec: ContactRec, reach_ms: i64) {
        let group = {
            let mut entry = self.consumers.entry(Arc::from(consumer_id)).or_default();
            entry.history.record(rec, reach_ms);
            entry.profile.as_ref().and_then(|p| p.group.clone())
        };
        if let Some(g) = group {
            if let Some(mut group) = self.groups.get_mut(&g) {
                group.history.record(rec, reach_ms);
            }
        }
    }

    /// Replaces every consumer's history (start-up, or rules that look back further),
    /// then rebuilds every group's. Commit thread or start-up only.
    pub fn load_histories(&self, histories: HashMap<String, History>) {
        for mut entry in self.consumers.iter_mut() {
            entry.history = History::default();
        }
        for (id, history) in histories {
            self.consumers.entry(Arc::from(id.as_str())).or_default().history = history;
        }
        let groups: Vec<Arc<str>> = self.groups.iter().map(|g| g.key().clone()).collect();
        for g in groups {
            self.rebuild_group(&g);
        }
    }

    /// Recomputes a group's combined history from its members': whole from the latest
    /// instant any member's is whole from.
    fn rebuild_group(&self, group_id: &Arc<str>) {
        let members: Vec<Arc<str>> = match self.groups.get(group_id) {
            Some(g) => g.members.clone(),
            None => return,
        };
        let mut recs = Vec::new();
        let mut complete_from = i64::MIN;
        for m in &members {
            if let Some(entry) = self.consumers.get(m) {
                recs.extend_from_slice(entry.history.as_slice());
                complete_from = complete_from.max(entry.history.complete_from_ms());
            }
        }
        if members.is_empty() {
            self.groups.remove(group_id);
        } else if let Some(mut g) = self.groups.get_mut(group_id) {
            let mut history = History::from_unsorted(recs, i64::MIN);
            history.prune_before(complete_from);
            g.history = history;
        }
    }
}
