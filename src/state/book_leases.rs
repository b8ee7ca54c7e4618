//! The book's side of attempt leases: taking one into memory, taking it out again, and
//! the lock a reserving decision holds.
//!
//! A lease lives in two places in memory, kept in step under the consumer's entry lock:
//! its [`OpenLease`] in the entry's extras (what the in-flight rule, retries and settling
//! read), and its record in the consumer's history — and in its group's, while a rule
//! counts groups — where every window and hold counts it like a contact.

use std::sync::MutexGuard;
use std::sync::atomic::Ordering;

use super::book::{Book, Id};
use crate::domain::lease::{AttemptId, Lease, OpenLease};
use crate::store::WriteOp;

impl Book {
    /// Holds the reservation stripe of consumer `id` (its group's, when it has one; see
    /// `reservations.rs`): what makes a reserving decision and the lease it takes one step.
    pub fn lock_for_reservation(&self, id: &str) -> MutexGuard<'_, ()> {
        loop {
            let group = self.group_of(id);
            let guard = self.stripes.lock(group.as_deref().unwrap_or(id));
            // Moving between groups takes both stripes, so once this one is held the
            // group it was chosen by is the consumer's for as long as it is held.
            if self.group_of(id) == group {
                return guard;
            }
        }
    }

    /// Adds a lease to its consumer and the consumer's group, unless it is there already.
    pub fn take_lease(&self, lease: &Lease, reach_ms: i64) {
        let open = lease.open();
        let rec = open.rec();
        let group = {
            let mut entry = self.entry_mut(&lease.consumer_id);
            if !entry.take_lease(open, reach_ms) {
                return;
            }
            entry.profile.as_ref().and_then(|p| p.group.clone())
        };
        self.in_group(group, |history| history.record(rec, reach_ms));
    }

    /// Takes a lease out of memory (released, or its write failed); whether it was there.
    pub fn drop_lease(&self, consumer_id: &str, id: AttemptId) -> bool {
        let (group, lease) = {
            let Some(mut entry) = self.consumers.get_mut(consumer_id) else {
                return false;
            };
            let Some(lease) = entry.drop_lease(id) else {
                return false;
            };
            (entry.profile.as_ref().and_then(|p| p.group.clone()), lease)
        };
        self.in_group(group, |history| {
            history.remove(&lease.rec());
        });
        true
    }

    /// Undoes what was put in memory ahead of a write that did not land: a lease a
    /// decision granted, whose write failed or whose job was refused.
    pub fn undo(&self, op: &WriteOp) {
        if let WriteOp::TakeLease { lease, .. } = op {
            // Under the stripe, like the insertion, so no reservation decides halfway.
            let _held = self.lock_for_reservation(&lease.consumer_id);
            self.drop_lease(&lease.consumer_id, lease.attempt_id);
        }
    }

    /// The unsettled leases memory keeps of consumer `id`.
    pub fn open_leases_of(&self, id: &str) -> Vec<OpenLease> {
        self.consumers.get(id).map(|e| e.leases().to_vec()).unwrap_or_default()
    }

    /// The unsettled lease of consumer `id` with this attempt id, if memory keeps it.
    pub fn open_lease(&self, id: &str, attempt_id: AttemptId) -> Option<OpenLease> {
        let entry = self.consumers.get(id)?;
        entry.leases().iter().find(|l| l.attempt_id == attempt_id).cloned()
    }

    /// Runs `f` on the history of `group`, when groups are kept and it exists.
    fn in_group(&self, group: Option<Id>, f: impl FnOnce(&mut crate::domain::History)) {
        if let Some(g) = group
            && self.group_histories.load(Ordering::Acquire)
            && let Some(mut group) = self.groups.get_mut(&g)
        {
            f(&mut group.history);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::domain::{Channel, PhoneNumber, RecKind};
    use crate::state::Lookup;
    use crate::state::book::tests::consumer;
    use crate::store::Applied;

    const REACH: i64 = 10 * 86_400_000;

    fn lease(id: u8, consumer_id: &str, at_ms: i64) -> Lease {
        let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap();
        Lease {
            attempt_id: AttemptId::from_bytes([id; 16]),
            consumer_id: consumer_id.into(),
            request_id: format!("r{id}"),
            channel: Channel::Phone,
            phone: Some(PhoneNumber::from_u64(15_551_234_567)),
            at,
            expires_at: at + Duration::minutes(15),
            operator_id: String::new(),
            granted_by: None,
        }
    }

    fn lookup(at_ms: i64) -> Lookup<'static> {
        Lookup {
            phone: None,
            at_ms,
            needed_from_ms: at_ms - REACH,
            do_not_call_listed: None,
            reassigned: &[],
        }
    }

    /// (leases in the consumer's history, open leases, leases in its group's history)
    fn seen(book: &Book, id: &str, at_ms: i64) -> (usize, usize, Option<usize>) {
        book.with_subject(id, lookup(at_ms), |s| {
            let s = s.unwrap();
            let count = |h: &crate::domain::History| h.as_slice().iter().filter(|r| r.kind == RecKind::Lease).count();
            (count(s.own), s.leases.len(), s.group.map(count))
        })
        .unwrap()
    }

    #[test]
    fn a_lease_counts_for_its_consumer_and_group_until_it_is_dropped_and_is_taken_once() {
        let book = Book::default();
        book.apply(&WriteOp::PutConsumer(consumer("a", Some("g"))), &Applied::Done, REACH);
        book.apply(&WriteOp::PutConsumer(consumer("b", Some("g"))), &Applied::Done, REACH);
        book.keep_group_histories(true);
        let l = lease(1, "a", 1_000_000);
        book.take_lease(&l, REACH);
        // The commit thread applies the same write again: nothing doubles.
        book.apply(
            &WriteOp::TakeLease {
                lease: l.clone(),
                seen: 0,
            },
            &Applied::Done,
            REACH,
        );
        assert_eq!(seen(&book, "a", 1_000_000), (1, 1, Some(1)));
        assert_eq!(seen(&book, "b", 1_000_000), (0, 0, Some(1)));
        assert!(book.drop_lease("a", l.attempt_id));
        assert!(!book.drop_lease("a", l.attempt_id));
        assert_eq!(seen(&book, "a", 1_000_000), (0, 0, Some(0)));
        // Nothing is left behind in the entry either.
        assert!(book.consumers.get("a").unwrap().extras.is_none());
    }

    #[test]
    fn a_settled_lease_gives_way_to_its_contact_and_an_undone_one_disappears() {
        let book = Book::default();
        book.apply(&WriteOp::PutConsumer(consumer("a", None)), &Applied::Done, REACH);
        let (l1, l2) = (lease(1, "a", 1_000_000), lease(2, "a", 2_000_000));
        book.take_lease(&l1, REACH);
        book.take_lease(&l2, REACH);
        let outcome = crate::domain::Contact {
            event_id: "e".into(),
            consumer_id: "a".into(),
            channel: Channel::Phone,
            phone: l1.phone,
            email: None,
            result_code: 4,
            occurred_at: l1.at + Duration::seconds(40),
            operator_id: String::new(),
            caller_id: None,
            template: String::new(),
            inbound: false,
            attempt_id: Some(l1.attempt_id),
            consented: false,
        };
        book.apply(
            &WriteOp::RecordContact(outcome),
            &Applied::Settled(l1.attempt_id),
            REACH,
        );
        let kinds = book
            .with_subject("a", lookup(3_000_000), |s| {
                s.unwrap().own.as_slice().iter().map(|r| r.kind).collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(kinds, [RecKind::Outbound, RecKind::Lease]);
        book.undo(&WriteOp::TakeLease {
            lease: l2.clone(),
            seen: 0,
        });
        assert_eq!(seen(&book, "a", 3_000_000), (0, 0, None));
    }

    #[test]
    fn a_lease_leaves_memory_once_it_leaves_the_rules_reach() {
        let book = Book::default();
        book.apply(&WriteOp::PutConsumer(consumer("a", None)), &Applied::Done, REACH);
        book.take_lease(&lease(1, "a", 0), REACH);
        assert_eq!(book.open_leases_of("a").len(), 1);
        // A contact more than the reach later pushes it out, record and all.
        let later = crate::domain::ContactRec {
            at_ms: REACH + 5,
            code: 1,
            phone: 0,
            channel: Channel::Phone,
            kind: RecKind::Outbound,
        };
        let mut entry = book.consumers.get_mut("a").unwrap();
        entry.history.record(later, REACH);
        entry.prune_leases();
        assert!(entry.leases().is_empty() && entry.extras.is_none());
        assert_eq!(entry.history.len(), 1);
    }

    #[test]
    fn members_of_one_group_wait_for_each_others_reservations_and_others_do_not() {
        let book = std::sync::Arc::new(Book::default());
        for (id, group) in [("a", Some("g")), ("b", Some("g")), ("c", None)] {
            book.apply(&WriteOp::PutConsumer(consumer(id, group)), &Applied::Done, REACH);
        }
        let other = if book.stripes.index("c") == book.stripes.index("g") {
            None // the two keys share a stripe by chance: nothing to show for c
        } else {
            Some("c")
        };
        let held = book.lock_for_reservation("a");
        if let Some(other) = other {
            drop(book.lock_for_reservation(other));
        }
        let got = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waiter = {
            let (book, got) = (book.clone(), got.clone());
            std::thread::spawn(move || {
                let _b = book.lock_for_reservation("b");
                got.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !got.load(Ordering::SeqCst),
            "b reserved while a held the group's stripe"
        );
        drop(held);
        waiter.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
    }
}
