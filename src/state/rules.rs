//! The rule-set versions in force over time ([`Timeline`]), swapped atomically.
//!
//! Readers take one snapshot of the timeline per decision (`load`) and pick the version
//! for the decision's instant from it, so a decision sees one version from start to end,
//! never a mix; a new version never waits for readers and readers never wait for it. Every
//! version is in memory (a version is a few kilobytes, and any may be asked about with
//! `rules_as_of`); the store holds them all as well.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use chrono::{DateTime, Utc};

use crate::domain::{RuleSet, Timeline};

pub struct ActiveRules(ArcSwap<Timeline>);

impl ActiveRules {
    pub fn new(timeline: Timeline) -> ActiveRules {
        ActiveRules(ArcSwap::from_pointee(timeline))
    }

    /// A snapshot for one decision (cheap: no reference count traffic on the fast path).
    pub fn load(&self) -> Guard<Arc<Timeline>> {
        self.0.load()
    }

    /// The timeline, to keep.
    pub fn timeline(&self) -> Arc<Timeline> {
        self.0.load_full()
    }

    /// The version in force now.
    pub fn now(&self) -> Arc<RuleSet> {
        self.at(Utc::now())
    }

    /// The version in force at `t`.
    pub fn at(&self, t: DateTime<Utc>) -> Arc<RuleSet> {
        self.0.load().in_force_at(t).clone()
    }

    /// Adds a version (writes may commit out of version order; each is placed by the
    /// instant it takes effect). Answers whether it was new.
    pub fn install(&self, rules: Arc<RuleSet>) -> bool {
        let version = rules.version;
        let previous = self.0.rcu(|current| Arc::new(current.with(rules.clone())));
        previous.by_version(version).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_installed_once_and_the_newest_binds_now() {
        let active = ActiveRules::new(Timeline::new(vec![Arc::new(RuleSet::regulation_f(1))]));
        assert!(active.install(Arc::new(RuleSet::regulation_f(3))));
        assert!(active.install(Arc::new(RuleSet::regulation_f(2))));
        assert!(!active.install(Arc::new(RuleSet::regulation_f(2))));
        assert_eq!(active.now().version, 3);
    }
}
