//! The book: every consumer's profile, exclusion flags, callbacks and recent contacts, each
//! group's members and combined contacts (only while a rule counts groups together), and
//! the numbers consumers opted out — in memory.
//!
//! Concurrent maps (dashmap). Decisions read; the commit thread writes (see
//! `store::GroupCommit`), through [`Book::apply`], so durable writes never race each other.
//! The one write made elsewhere is an attempt lease, inserted by the reserving decision
//! that grants it (under its reservation stripe, see `reservations.rs`) before it is
//! durable, so that the next decision already counts it; it is withdrawn if its write
//! fails (`Book::undo`). Lock order, to rule out deadlock: a reservation stripe before any
//! map; a reader may hold a consumer entry while it reads that consumer's group and the
//! opt-out map; a writer holds one entry at a time, never two.
//!
//! The lease side (taking, settling, releasing, in memory) is in `book_leases.rs`.

use std::sync::atomic::{AtomicBool, Ordering};

use compact_str::CompactString;
use thin_vec::ThinVec;

use chrono::DateTime;

use dashmap::mapref::one::RefMut;

use super::Map;
use super::prefetch::{prefetch, prefetch_all};
use super::reservations::Stripes;
use crate::domain::OptOut;
use crate::domain::decision::Subject;
use crate::domain::exclusions::{ExclusionStatus, NumberStatus, exclusion_level};
use crate::domain::lease::{AttemptId, OpenLease};
use crate::domain::reassigned::Answer;
use crate::domain::{Channel, Consumer, ContactRec, Exclusions, History, PhoneNumber, Profile};
use crate::store::{Applied, WriteOp};

/// What memory holds for one consumer id.
#[derive(Debug, Default)]
pub struct Entry {
    /// `None` while contacts were recorded for an id no one has created yet.
    pub profile: Option<Profile>,
    pub exclusions: Exclusions,
    /// What few consumers have, out of line so the rest do not pay for it.
    pub extras: Option<Box<Extras>>,
    pub history: History,
}

/// The rarely-set parts of an entry.
#[derive(Debug, Default)]
pub struct Extras {
    /// Callbacks not yet consumed: the number and from when (ms).
    pub callbacks: Vec<(PhoneNumber, i64)>,
    /// Numbers the consumer gave prior express consent to telemarketing calls on.
    pub consents: Vec<PhoneNumber>,
    /// Unsettled attempt leases within the rules' reach (each also a record in `history`).
    /// A `ThinVec` grown one at a time: most consumers with a lease have one, and a `Vec`'s
    /// first allocation would hold four.
    pub leases: ThinVec<OpenLease>,
}

impl Extras {
    fn is_empty(&self) -> bool {
        self.callbacks.is_empty() && self.consents.is_empty() && self.leases.is_empty()
    }
}

impl Entry {
    /// The unsettled leases memory keeps.
    pub fn leases(&self) -> &[OpenLease] {
        self.extras.as_ref().map_or(&[], |x| &x.leases)
    }

    /// Frees the extras once nothing is left in them (leases come and go all day).
    pub(super) fn tidy_extras(&mut self) {
        if self.extras.as_ref().is_some_and(|x| x.is_empty()) {
            self.extras = None;
        }
    }

    /// Adds a lease, unless it is here already (the live path inserts it before it is
    /// durable; the commit thread then applies the same write). Whether it was added.
    pub(super) fn take_lease(&mut self, lease: OpenLease, reach_ms: i64) -> bool {
        if self.leases().iter().any(|l| l.attempt_id == lease.attempt_id) {
            return false;
        }
        self.history.record(lease.rec(), reach_ms);
        let leases = &mut self.extras_mut().leases;
        leases.reserve_exact(1);
        leases.push(lease);
        self.prune_leases();
        true
    }

    /// Takes out a lease and its record; what it was.
    pub(super) fn drop_lease(&mut self, id: AttemptId) -> Option<OpenLease> {
        let extras = self.extras.as_mut()?;
        let i = extras.leases.iter().position(|l| l.attempt_id == id)?;
        let lease = extras.leases.swap_remove(i);
        self.history.remove(&lease.rec());
        self.tidy_extras();
        Some(lease)
    }

    /// Forgets the leases the history no longer covers: an unsettled lease counts until it
    /// leaves the rules' reach, like any contact, and then leaves memory (the store keeps
    /// it, and settles it if its outcome ever comes).
    pub(super) fn prune_leases(&mut self) {
        let from = self.history.complete_from_ms();
        if let Some(extras) = self.extras.as_mut() {
            extras.leases.retain(|l| l.at_ms >= from);
        }
        self.tidy_extras();
    }

    fn callbacks(&self) -> &[(PhoneNumber, i64)] {
        self.extras.as_ref().map_or(&[], |x| &x.callbacks)
    }

    fn consents(&self) -> &[PhoneNumber] {
        self.extras.as_ref().map_or(&[], |x| &x.consents)
    }

    fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Box::default)
    }
}

/// Consumer and group ids: inline up to 24 bytes.
pub type Id = CompactString;

/// A group: its members and all their contacts together.
#[derive(Debug, Default)]
pub struct Group {
    pub members: Vec<Id>,
    pub history: History,
}

/// What a question is about, beyond the consumer.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The number contacted.
    pub phone: Option<PhoneNumber>,
    /// The instant asked about.
    pub at_ms: i64,
    /// Memory must hold every contact from here on, or the store is asked instead.
    pub needed_from_ms: i64,
    /// The Do Not Call list the number is on.
    pub do_not_call_listed: Option<&'static str>,
    /// The Reassigned Numbers Database's answers about the number.
    pub reassigned: &'a [Answer],
}

/// Everything a decision reads of a consumer but its contacts, copied out of memory.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub profile: Profile,
    pub exclusions: Exclusions,
    pub opted_out: Option<OptOut>,
    pub callback_active: bool,
    pub do_not_call: Option<&'static str>,
    /// The consumer's group, members included; empty with no group, and while no rule
    /// counts a group together (then no decision reads a group's contacts).
    pub members: Vec<Id>,
    /// The consumer's unsettled leases in memory.
    pub leases: Vec<OpenLease>,
    pub reassigned: Vec<Answer>,
}

impl Snapshot {
    /// The subject of a decision over the given histories (from the store).
    pub fn subject<'a>(&'a self, own: &'a History, group: Option<&'a History>) -> Subject<'a> {
        Subject {
            profile: &self.profile,
            exclusions: &self.exclusions,
            opted_out: self.opted_out,
            own,
            group,
            callback_active: self.callback_active,
            do_not_call: self.do_not_call,
            leases: &self.leases,
            reassigned: &self.reassigned,
        }
    }
}

#[derive(Debug, Default)]
pub struct Book {
    /// Boxed: the table holds 32-byte slots, so its growth slack costs little.
    pub(super) consumers: Map<Id, Box<Entry>>,
    /// Kept only while a rule counts a group together (`apply_to_group`): without one no
    /// decision reads a group, and its members and histories would cost every consumer
    /// about a hundred bytes for nothing.
    pub(super) groups: Map<Id, Group>,
    /// Numbers excluded BY_CUSTOMER: since when, and for which purposes.
    opt_outs: Map<PhoneNumber, OptOut>,
    /// Whether groups are kept: only while a rule counts a group together
    /// (`apply_to_group`). Without one their histories would be a second copy of every
    /// contact that no decision reads. Set by the commit thread alone (see
    /// `keep_group_histories`).
    pub(super) group_histories: AtomicBool,
    /// What makes a reserving decision and the lease it takes one step per consumer and
    /// group (see `reservations.rs`).
    pub(super) stripes: Stripes,
}

fn callback_active(entry: &Entry, phone: Option<PhoneNumber>, at_ms: i64) -> bool {
    phone.is_some_and(|p| entry.callbacks().iter().any(|(n, from)| *n == p && at_ms >= *from))
}

fn do_not_call(entry: &Entry, q: &Lookup<'_>) -> Option<&'static str> {
    q.do_not_call_listed
        .filter(|_| q.phone.is_some_and(|p| !entry.consents().contains(&p)))
}

impl Book {
    /// Runs `f` with what is known of consumer `id` (`None`: no such consumer), provided
    /// memory holds every contact the question needs; otherwise answers `None` and the
    /// caller asks the store.
    pub fn with_subject<R>(&self, id: &str, q: Lookup, f: impl FnOnce(Option<&Subject>) -> R) -> Option<R> {
        let Some(entry) = self.consumers.get(id) else {
            return Some(f(None));
        };
        // The entry, then its numbers and contacts, all asked for at once (see `prefetch`).
        prefetch_all::<Entry>(&entry);
        let Some(profile) = &entry.profile else {
            return Some(f(None));
        };
        prefetch(profile.phones.as_ptr());
        prefetch(entry.history.records_ptr());
        let group = if self.group_histories.load(Ordering::Acquire) {
            profile.group.as_ref().and_then(|g| self.groups.get(g.as_str()))
        } else {
            None
        };
        let group_history = group.as_ref().map(|g| &g.history);
        if !entry.history.covers(q.needed_from_ms) || group_history.is_some_and(|h| !h.covers(q.needed_from_ms)) {
            return None;
        }
        let subject = Subject {
            profile,
            exclusions: &entry.exclusions,
            opted_out: q.phone.and_then(|p| self.opt_outs.get(&p).map(|o| *o)),
            own: &entry.history,
            group: group_history,
            callback_active: callback_active(&entry, q.phone, q.at_ms),
            do_not_call: do_not_call(&entry, &q),
            leases: entry.leases(),
            reassigned: q.reassigned,
        };
        Some(f(Some(&subject)))
    }

    /// Starts loading what decisions about `ids` will read, so that their waits for memory
    /// overlap instead of adding up (see `prefetch`). Two passes: the first finds each
    /// entry and asks for it; by the second the entries have arrived, and it asks for
    /// their numbers and contacts, and, while a rule counts groups together, finds each
    /// consumer's group and asks for its contacts. Returns nothing and changes nothing:
    /// it only warms the caches (a request of the same burst for one consumer twice, or
    /// for none, costs a lookup).
    pub fn prefetch<'a>(&self, ids: impl Iterator<Item = &'a str> + Clone) {
        for id in ids.clone() {
            if let Some(entry) = self.consumers.get(id) {
                prefetch_all::<Entry>(&entry);
            }
        }
        let groups = self.group_histories.load(Ordering::Acquire);
        for id in ids {
            if let Some(entry) = self.consumers.get(id)
                && let Some(profile) = &entry.profile
            {
                prefetch(profile.phones.as_ptr());
                prefetch(entry.history.records_ptr());
                if groups && let Some(group) = profile.group.as_ref().and_then(|g| self.groups.get(g.as_str())) {
                    prefetch(group.history.records_ptr());
                }
            }
        }
    }

    /// A copy of what a decision reads of consumer `id` but its contacts — for deciding
    /// from the store's full history.
    pub fn snapshot(&self, id: &str, q: Lookup) -> Option<Snapshot> {
        let snapshot = {
            let entry = self.consumers.get(id)?;
            Snapshot {
                profile: entry.profile.clone()?,
                exclusions: entry.exclusions.clone(),
                opted_out: q.phone.and_then(|p| self.opt_outs.get(&p).map(|o| *o)),
                callback_active: callback_active(&entry, q.phone, q.at_ms),
                do_not_call: do_not_call(&entry, &q),
                members: Vec::new(),
                leases: entry.leases().to_vec(),
                reassigned: q.reassigned.to_vec(),
            }
        };
        let members = snapshot
            .profile
            .group
            .as_ref()
            .and_then(|g| self.groups.get(g.as_str()))
            .map(|g| g.members.clone());
        Some(Snapshot {
            members: members.unwrap_or_default(),
            ..snapshot
        })
    }

    /// A consumer's callbacks not yet consumed: the number and from when, in milliseconds.
    pub fn callbacks_of(&self, id: &str) -> Vec<(PhoneNumber, i64)> {
        self.consumers
            .get(id)
            .map(|e| e.callbacks().to_vec())
            .unwrap_or_default()
    }

    /// Whether consumer `id` has been created.
    pub fn exists(&self, id: &str) -> bool {
        self.consumers.get(id).is_some_and(|e| e.profile.is_some())
    }

    /// Since when `phone` is excluded BY_CUSTOMER.
    pub fn opted_out_at(&self, phone: PhoneNumber) -> Option<i64> {
        self.opt_outs.get(&phone).map(|o| o.at_ms)
    }

    /// A number excluded BY_CUSTOMER as the store keeps it (start-up).
    pub fn put_opt_out(&self, phone: PhoneNumber, opt_out: OptOut) {
        self.opt_outs.insert(phone, opt_out);
    }

    /// The exclusions of consumer `id` (`None`: no such consumer).
    pub fn exclusion_status(&self, id: &str) -> Option<ExclusionStatus> {
        let (own, flags) = {
            let entry = self.consumers.get(id)?;
            let profile = entry.profile.as_ref()?;
            (
                profile.phones.iter().map(|p| p.number).collect::<Vec<_>>(),
                entry.exclusions.clone(),
            )
        };
        let status = |number: PhoneNumber| NumberStatus {
            number,
            excluded_by_customer_at: self.opted_out_at(number).and_then(DateTime::from_timestamp_millis),
            excluded_by_user: flags.user_excluded.contains(&number),
        };
        let mut numbers: Vec<NumberStatus> = own.iter().map(|n| status(*n)).collect();
        let level = exclusion_level(&numbers);
        numbers.extend(
            flags
                .user_excluded
                .iter()
                .filter(|n| !own.contains(n))
                .map(|n| status(*n)),
        );
        Some(ExclusionStatus {
            consumer_id: id.to_string(),
            level,
            flags,
            numbers,
        })
    }

    /// Applies a durable write to memory, keeping `reach_ms` of contacts before each
    /// history's newest. Commit thread (or start-up) only.
    pub fn apply(&self, op: &WriteOp, applied: &Applied, reach_ms: i64) {
        match op {
            WriteOp::PutConsumer(c) => self.put_profile(c),
            WriteOp::RecordContact(c) if matches!(applied, Applied::Done | Applied::Settled(_)) => {
                let settled = match applied {
                    Applied::Settled(id) => Some(*id),
                    _ => None,
                };
                self.record(&c.consumer_id, c.rec(), reach_ms, settled);
                if let (Channel::Phone, Some(phone)) = (c.channel, c.phone) {
                    let at = c.occurred_at.timestamp_millis();
                    if let Some(mut entry) = self.consumers.get_mut(c.consumer_id.as_str())
                        && let Some(extras) = entry.extras.as_mut()
                    {
                        extras.callbacks.retain(|(n, from)| !(*n == phone && *from <= at));
                    }
                }
            }
            WriteOp::SetExclusionFlags { consumer_id, flags } => {
                let mut entry = self.entry_mut(consumer_id);
                let ex = &mut entry.exclusions;
                ex.bankruptcy = flags.bankruptcy;
                ex.disable_text_and_auto_calls = flags.disable_text_and_auto_calls;
                ex.disable_auto_communications = flags.disable_auto_communications;
            }
            WriteOp::SetUserExclusion {
                consumer_id,
                phone,
                excluded,
            } => {
                let mut entry = self.entry_mut(consumer_id);
                entry.exclusions.user_excluded.retain(|n| n != phone);
                if *excluded {
                    entry.exclusions.user_excluded.push(*phone);
                }
            }
            WriteOp::SetOptOut {
                phone,
                at: Some(at),
                purpose,
            } => {
                // The store's merge, on memory's copy: the first STOP's time, purposes added.
                let next = match self.opt_outs.get(phone).map(|o| *o) {
                    Some(existing) => existing.and(*purpose),
                    None => OptOut::new(at.timestamp_millis(), *purpose),
                };
                self.opt_outs.insert(*phone, next);
            }
            WriteOp::SetOptOut { phone, at: None, .. } => {
                self.opt_outs.remove(phone);
            }
            WriteOp::PutCallback(cb) => {
                let mut entry = self.entry_mut(&cb.consumer_id);
                let callbacks = &mut entry.extras_mut().callbacks;
                callbacks.retain(|(n, _)| *n != cb.phone);
                callbacks.push((cb.phone, cb.callback_at.timestamp_millis()));
            }
            WriteOp::SetConsent {
                consumer_id,
                phone,
                telemarketing,
                ..
            } => {
                let mut entry = self.entry_mut(consumer_id);
                let consents = &mut entry.extras_mut().consents;
                consents.retain(|n| n != phone);
                if *telemarketing {
                    consents.push(*phone);
                }
            }
            WriteOp::TakeLease { lease, .. } => self.take_lease(lease, reach_ms),
            WriteOp::ReleaseLease {
                consumer_id,
                attempt_id,
            } => {
                self.drop_lease(consumer_id, *attempt_id);
            }
            // Duplicates change nothing; rule sets are the engine's; programs are the
            // registry's; prompts and notes live in the store alone.
            WriteOp::PutProgram(_)
            | WriteOp::AddProgramNumbers { .. }
            | WriteOp::StageDoNotCall { .. }
            | WriteOp::CommitDoNotCall { .. }
            | WriteOp::PutReassigned(_) => {}
            WriteOp::RecordContact(_)
            | WriteOp::PutRuleSet(_)
            | WriteOp::IssuePrompt { .. }
            | WriteOp::AnswerPrompt { .. }
            | WriteOp::Note(_) => {}
        }
    }

    /// Consumer `id`'s entry for writing, created empty when missing (looked up first, so
    /// the common case builds no key).
    pub(super) fn entry_mut(&self, id: &str) -> RefMut<'_, Id, Box<Entry>> {
        match self.consumers.get_mut(id) {
            Some(entry) => entry,
            None => self.consumers.entry(Id::from(id)).or_default(),
        }
    }

    /// Creates or replaces a consumer's profile, and moves it between groups when its group
    /// changed. (Which consumers have a number is the store's index, not memory's.)
    fn put_profile(&self, consumer: &Consumer) {
        let id = Id::from(consumer.id.as_str());
        let profile = Profile::of(consumer);
        let new_group = profile.group.clone();
        // A move between groups changes which reservation stripe guards the consumer:
        // hold both, so no reservation decides across the move (see `reservations.rs`).
        let _held = (self.group_of(&id) != new_group).then(|| {
            let old = self.group_of(&id);
            let keys = [old.as_deref().unwrap_or(&id), new_group.as_deref().unwrap_or(&id)];
            self.stripes.lock_many(keys)
        });
        let old_group = {
            let mut entry = self.consumers.entry(id.clone()).or_default();
            entry.profile.replace(profile).and_then(|p| p.group)
        };
        if old_group != new_group && self.group_histories.load(Ordering::Acquire) {
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

    /// Adds a contact to its consumer and the consumer's group; when it settles a lease,
    /// the contact takes the lease's place in one step (a decision sees one or the other,
    /// never both and never neither).
    fn record(&self, consumer_id: &str, rec: ContactRec, reach_ms: i64, settled: Option<AttemptId>) {
        let (group, lease) = {
            let mut entry = self.entry_mut(consumer_id);
            let lease = settled.and_then(|id| entry.drop_lease(id));
            entry.history.record(rec, reach_ms);
            entry.prune_leases();
            (entry.profile.as_ref().and_then(|p| p.group.clone()), lease)
        };
        if let Some(g) = group
            && self.group_histories.load(Ordering::Acquire)
            && let Some(mut group) = self.groups.get_mut(&g)
        {
            if let Some(lease) = lease {
                group.history.remove(&lease.rec());
            }
            group.history.record(rec, reach_ms);
        }
    }

    /// The group consumer `id` belongs to.
    pub fn group_of(&self, id: &str) -> Option<Id> {
        self.consumers
            .get(id)
            .and_then(|e| e.profile.as_ref().and_then(|p| p.group.clone()))
    }

    /// Replaces what memory keeps of one consumer's contacts (start-up, or a rule set that
    /// looks back further). Its unsettled leases stay, and count in the new history too.
    pub fn replace_history(&self, id: &str, history: History) {
        let mut entry = self.entry_mut(id);
        entry.history = history;
        for rec in entry.leases().iter().map(OpenLease::rec).collect::<Vec<_>>() {
            entry.history.record(rec, i64::MAX);
        }
        entry.prune_leases();
    }

    /// Starts or stops keeping groups: their members and combined histories. Turning them
    /// on builds every group from the consumers' profiles and histories before returning,
    /// so the caller can then install the rules that need them; turning them off frees them
    /// (install the rules that do not need them first).
    pub fn keep_group_histories(&self, keep: bool) {
        // No reservation decides while the groups are built or dropped.
        let _all = self.stripes.lock_all();
        if self.group_histories.swap(keep, Ordering::AcqRel) == keep {
            return;
        }
        if !keep {
            self.groups.clear();
            self.groups.shrink_to_fit();
            return;
        }
        for entry in self.consumers.iter() {
            if let Some(g) = entry.profile.as_ref().and_then(|p| p.group.as_ref()) {
                self.groups
                    .entry(g.clone())
                    .or_default()
                    .members
                    .push(entry.key().clone());
            }
        }
        self.rebuild_all_groups();
    }

    /// Recomputes every group's combined history from its members' (when groups are kept).
    pub fn rebuild_groups(&self) {
        let _all = self.stripes.lock_all();
        self.rebuild_all_groups();
    }

    /// [`rebuild_groups`](Self::rebuild_groups), with every stripe already held.
    fn rebuild_all_groups(&self) {
        let groups: Vec<Id> = self.groups.iter().map(|g| g.key().clone()).collect();
        for g in groups {
            self.rebuild_group(&g);
        }
    }

    /// Recomputes a group's combined history from its members': whole from the latest
    /// instant any member's is whole from.
    fn rebuild_group(&self, group_id: &Id) {
        let members: Vec<Id> = match self.groups.get(group_id) {
            Some(g) => g.members.clone(),
            None => return,
        };
        if members.is_empty() {
            self.groups.remove(group_id);
            return;
        }
        let mut recs = Vec::new();
        let mut complete_from = i64::MIN;
        for m in &members {
            if let Some(entry) = self.consumers.get(m) {
                recs.extend_from_slice(entry.history.as_slice());
                complete_from = complete_from.max(entry.history.complete_from_ms());
            }
        }
        if let Some(mut g) = self.groups.get_mut(group_id) {
            let mut history = History::from_unsorted(recs, i64::MIN);
            history.prune_before(complete_from);
            g.history = history;
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{Contact, Role};

    /// A consumer with no numbers, in `group`.
    pub(in crate::state) fn consumer(id: &str, group: Option<&str>) -> Consumer {
        Consumer {
            id: id.into(),
            role: Role::Debtor,
            group_id: group.map(Into::into),
            state: None,
            country: None,
            time_zone: None,
            address_time_zone: None,
            phones: vec![],
            emails: vec![],
            ssn_hash: None,
            postal_code: None,
            county: None,
        }
    }

    fn call(consumer_id: &str, at_ms: i64) -> WriteOp {
        WriteOp::RecordContact(Contact {
            event_id: format!("{consumer_id}-{at_ms}"),
            consumer_id: consumer_id.into(),
            channel: Channel::Phone,
            phone: None,
            email: None,
            result_code: 0,
            occurred_at: DateTime::from_timestamp_millis(at_ms).unwrap(),
            operator_id: String::new(),
            caller_id: None,
            template: String::new(),
            inbound: false,
            attempt_id: None,
            consented: false,
        })
    }

    const REACH: i64 = 1_000_000;

    /// A question about instant 0 with no number.
    fn at_zero() -> Lookup<'static> {
        Lookup {
            phone: None,
            at_ms: 0,
            needed_from_ms: 0,
            do_not_call_listed: None,
            reassigned: &[],
        }
    }

    fn group_calls(book: &Book, id: &str) -> Option<Vec<i64>> {
        book.with_subject(id, at_zero(), |s| {
            s.and_then(|s| s.group)
                .map(|g| g.as_slice().iter().map(|r| r.at_ms).collect())
        })
        .flatten()
    }

    #[test]
    fn groups_cost_nothing_until_a_rule_counts_them_and_are_then_built_from_the_profiles() {
        let book = Book::default();
        for op in [
            WriteOp::PutConsumer(consumer("a", Some("g1"))),
            WriteOp::PutConsumer(consumer("b", Some("g1"))),
            WriteOp::PutConsumer(consumer("c", Some("g2"))),
            call("a", 10),
            call("b", 20),
            call("c", 30),
            // b moves while groups are not kept.
            WriteOp::PutConsumer(consumer("b", Some("g2"))),
        ] {
            book.apply(&op, &Applied::Done, REACH);
        }
        assert!(book.groups.is_empty());
        assert_eq!(group_calls(&book, "a"), None);
        assert!(book.snapshot("a", at_zero()).unwrap().members.is_empty());

        book.keep_group_histories(true);
        assert_eq!(group_calls(&book, "a"), Some(vec![10]));
        assert_eq!(group_calls(&book, "c"), Some(vec![20, 30]));
        // Kept groups follow moves and calls as they come.
        book.apply(&WriteOp::PutConsumer(consumer("a", Some("g2"))), &Applied::Done, REACH);
        book.apply(&call("a", 40), &Applied::Done, REACH);
        assert_eq!(group_calls(&book, "b"), Some(vec![10, 20, 30, 40]));
        assert!(!book.groups.contains_key("g1"));

        book.keep_group_histories(false);
        assert!(book.groups.is_empty());
        assert_eq!(group_calls(&book, "b"), None);
    }

    #[test]
    fn prefetching_creates_no_entry_and_changes_nothing_a_decision_reads() {
        let book = Book::default();
        book.apply(&WriteOp::PutConsumer(consumer("a", Some("g1"))), &Applied::Done, REACH);
        book.apply(&call("a", 10), &Applied::Done, REACH);
        // Contacts for an id no one has created: an entry without a profile.
        book.apply(&call("z", 20), &Applied::Done, REACH);
        let own_calls = |id: &str| {
            book.with_subject(id, at_zero(), |s| {
                s.map(|s| s.own.as_slice().iter().map(|r| r.at_ms).collect::<Vec<_>>())
            })
        };
        let before = (book.consumers.len(), own_calls("a"), own_calls("z"));
        assert_eq!(before, (2, Some(Some(vec![10])), Some(None)));
        let ids = ["a", "z", "nobody", "", "a"];
        book.prefetch(ids.iter().copied());
        book.prefetch(ids.iter().copied());
        assert_eq!((book.consumers.len(), own_calls("a"), own_calls("z")), before);
        assert!(!book.exists("nobody") && !book.exists("z") && book.exists("a"));
        // With groups kept, their contacts are prefetched too, and no group is created.
        book.keep_group_histories(true);
        book.prefetch(ids.iter().copied());
        assert_eq!(book.groups.len(), 1);
        assert_eq!(group_calls(&book, "a"), Some(vec![10]));
        assert_eq!((book.consumers.len(), own_calls("a"), own_calls("z")), before);
    }
}
