//! Rebuilding memory from the store: at start-up, and when a node joins a cluster late.
//!
//! Everything is read from one consistent snapshot of the store (for a shared store, a
//! repeatable-read transaction at a known position of its change feed), replayed through
//! the same path live writes take, and memory then follows the feed from that position.

use std::sync::Arc;

use chrono::Utc;

use super::engine::{Engine, EngineError, replace_recent_histories};
use super::registry::build_list;
use crate::domain::window::reach_ms;
use crate::store::{Applied, WriteOp};

impl Engine {
    /// Rebuilds memory from the store: the newest rule set, every consumer, exclusion,
    /// callback and consent, the contacts and leases the rules can look back on, the
    /// programs, the Do Not Call lists and the Reassigned Numbers Database's answers. Then memory follows the store's change feed, when
    /// it has one, and the engine is ready.
    pub fn load(&self) -> Result<(), EngineError> {
        let store = &*self.inner.store;
        let position = store.begin_load()?;
        let loaded = self.load_snapshot();
        store.end_load();
        loaded?;
        if let Some(position) = position {
            self.inner.commits.start_at(position);
            self.follow();
        }
        self.inner.health.set_loaded();
        Ok(())
    }

    fn load_snapshot(&self) -> Result<(), EngineError> {
        let store = &*self.inner.store;
        // Another node may have put a newer rule set since this one started.
        store.for_each_rule_set(&mut |rules| {
            self.inner.rules.install(Arc::new(rules));
        })?;
        // Start-up replays what the store holds through the same path live writes take.
        let book = &self.inner.book;
        book.keep_group_histories(self.inner.rules.timeline().counts_groups());
        // Profiles and contact histories are separate key ranges and separate fields of an
        // entry: read them on two threads. Group histories (when kept) are rebuilt once
        // both are in.
        let retention_days = self.inner.rules.timeline().max_retention_days();
        let mut consumers = 0usize;
        std::thread::scope(|scope| {
            let histories = scope.spawn(|| replace_recent_histories(book, store, retention_days));
            let profiles = store.for_each_consumer(&mut |c| {
                book.apply(&WriteOp::PutConsumer(c), &Applied::Done, 0);
                consumers += 1;
            });
            histories
                .join()
                .expect("the history reader does not panic")
                .and(profiles)
        })?;
        // Unsettled leases count like the contacts they stand for (their records join the
        // histories just loaded, before the groups are built from them).
        let reach = reach_ms(retention_days);
        store.for_each_unsettled_lease(&mut |lease| book.take_lease(&lease, reach))?;
        book.rebuild_groups();
        store.for_each_exclusions(&mut |consumer_id, ex| {
            for phone in &ex.user_excluded {
                let op = WriteOp::SetUserExclusion {
                    consumer_id: consumer_id.clone(),
                    phone: *phone,
                    excluded: true,
                };
                book.apply(&op, &Applied::Done, 0);
            }
            book.apply(
                &WriteOp::SetExclusionFlags { consumer_id, flags: ex },
                &Applied::Done,
                0,
            );
        })?;
        store.for_each_opt_out(&mut |phone, opt_out| book.put_opt_out(phone, opt_out))?;
        store.for_each_callback(&mut |cb| book.apply(&WriteOp::PutCallback(cb), &Applied::Done, 0))?;
        store.for_each_consent(&mut |consumer_id, phone| {
            let op = WriteOp::SetConsent {
                consumer_id,
                phone,
                telemarketing: true,
                at: Utc::now(),
            };
            book.apply(&op, &Applied::Done, 0);
        })?;
        let registry = &self.inner.registry;
        let mut programs = Vec::new();
        store.for_each_program(&mut |p| programs.push(WriteOp::PutProgram(p)))?;
        store.for_each_program_number(&mut |program_id, n| {
            programs.push(WriteOp::AddProgramNumbers {
                program_id,
                numbers: vec![n],
            })
        })?;
        for op in &programs {
            registry.apply(op, store)?;
        }
        // Each list built in turn: start-up holds one list's numbers beyond the sets.
        for list in store.do_not_call_lists()? {
            let set = build_list(store, &list)?;
            registry.install_list(&list.name, Arc::new(set), list.updated_at);
        }
        // Read in key order, so each area code's answers arrive sorted: appended, not merged.
        let mut answers = super::reassigned::Loader::default();
        store.for_each_reassigned(&mut |batch| answers.push(batch))?;
        registry.reassigned.install(answers);
        tracing::info!(
            consumers,
            rule_set_version = self.inner.rules.now().version,
            "state rebuilt from the store"
        );
        Ok(())
    }
}
