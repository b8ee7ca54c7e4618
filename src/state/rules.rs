//! The active rule set, swapped atomically.
//!
//! Readers take one snapshot per decision (`load`), so a decision sees one version from
//! start to end, never a mix; a swap never waits for readers and readers never wait for a
//! swap.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::domain::RuleSet;

pub struct ActiveRules(ArcSwap<RuleSet>);

impl ActiveRules {
    pub fn new(rules: RuleSet) -> ActiveRules {
        ActiveRules(ArcSwap::from_pointee(rules))
    }

    /// A snapshot for one decision (cheap: no reference count traffic on the fast path).
    pub fn load(&self) -> Guard<Arc<RuleSet>> {
        self.0.load()
    }

    /// A snapshot to keep.
    pub fn current(&self) -> Arc<RuleSet> {
        self.0.load_full()
    }

    /// Installs `rules` unless a newer version is already active (writes may commit out of
    /// version order; the store's newest version must be the one that is active).
    pub fn install(&self, rules: Arc<RuleSet>) -> bool {
        let previous = self.0.rcu(|current| {
            if current.version < rules.version {
                rules.clone()
            } else {
                current.clone()
            }
        });
        previous.version < rules.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let active = ActiveRules::new(RuleSet::regulation_f(1));
        assert!(active.install(Arc::new(RuleSet::regulation_f(3))));
        assert!(!active.install(Arc::new(RuleSet::regulation_f(2))));
        assert_eq!(active.current().version, 3);
    }
}
