//! The lock that makes "decide, then take the lease" one step per consumer and group.
//!
//! A reserving decision reads a consumer's counts (and its group's, under
//! `apply_to_group`), and, when it allows the contact, adds its lease to them. Two such
//! decisions for the same consumer, or for two members of one group, must not interleave,
//! or both would see the last free slot and both would take it. So each holds a mutex for
//! the decision and the insertion of its lease into memory — microseconds, never across a
//! wait for the disk (the write that makes the lease durable is queued after the lock is
//! released, and a decision that comes next already sees the lease in memory).
//!
//! Which mutex: one of [`STRIPES`], chosen by the consumer's group id when it has one, else
//! by its own id, so every member of a group takes the same one. Stripes, not a mutex per
//! consumer: a fixed table costs nothing per consumer, and two consumers that share a
//! stripe only wait for each other's microseconds.
//!
//! A consumer moving between groups is the one write that changes which stripe guards it:
//! the book takes the stripes of the old and the new group around that change
//! ([`Stripes::lock_many`]), and a reservation checks, once it holds its stripe, that the
//! consumer's group is still the one it chose it by ([`Book::lock_for_reservation`]).
//! Rebuilding every group (a rule set that starts counting groups) takes them all.
//!
//! Non-reserving decisions take no lock: they are reads, and may see a lease an instant
//! before or after it is taken.
//!
//! [`Book::lock_for_reservation`]: super::Book::lock_for_reservation

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

/// How many mutexes guard reservations.
pub const STRIPES: usize = 1024;

/// A held stripe (or several).
pub type Held<'a> = Vec<MutexGuard<'a, ()>>;

pub struct Stripes {
    locks: Box<[Mutex<()>]>,
    hasher: foldhash::fast::RandomState,
}

impl Default for Stripes {
    fn default() -> Self {
        Stripes {
            locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl std::fmt::Debug for Stripes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripes").field("stripes", &self.locks.len()).finish()
    }
}

impl Stripes {
    /// The stripe of `key`.
    pub fn index(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) as usize) % self.locks.len()
    }

    /// Holds the stripe of `key`.
    pub fn lock(&self, key: &str) -> MutexGuard<'_, ()> {
        lock(&self.locks[self.index(key)])
    }

    /// Holds the stripes of every key, each once, in index order (so that two callers
    /// holding several never wait for each other in a circle).
    pub fn lock_many<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Held<'_> {
        let mut indices: Vec<usize> = keys.into_iter().map(|k| self.index(k)).collect();
        indices.sort_unstable();
        indices.dedup();
        indices.into_iter().map(|i| lock(&self.locks[i])).collect()
    }

    /// Holds every stripe.
    pub fn lock_all(&self) -> Held<'_> {
        self.locks.iter().map(lock).collect()
    }
}

/// A poisoned stripe guards nothing but `()`: a panic while it was held left no state
/// half-written behind it that the next holder could see.
fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_stripes_are_taken_once_each_and_in_order() {
        let stripes = Stripes::default();
        let held = stripes.lock_many(["a", "b", "a", "c"]);
        let distinct: std::collections::HashSet<usize> = ["a", "b", "c"].iter().map(|k| stripes.index(k)).collect();
        assert_eq!(held.len(), distinct.len());
        drop(held);
        assert_eq!(stripes.lock_all().len(), STRIPES);
        // Released: taking one again does not wait.
        drop(stripes.lock("a"));
    }
}
