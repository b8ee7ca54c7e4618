//! Recorded contacts: the full event ([`Contact`]) and the 16-byte record memory keeps of
//! it ([`ContactRec`]) in a time-ordered [`History`].

use chrono::{DateTime, Utc};

use super::attempt_id::AttemptId;
use super::kinds::Channel;
use super::phone::PhoneNumber;
use thin_vec::ThinVec;

/// A contact outcome as the client reported it, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// Idempotency key.
    pub event_id: String,
    pub consumer_id: String,
    pub channel: Channel,
    pub phone: Option<PhoneNumber>,
    pub email: Option<String>,
    pub result_code: i32,
    pub occurred_at: DateTime<Utc>,
    pub operator_id: String,
    pub caller_id: Option<PhoneNumber>,
    pub template: String,
    pub inbound: bool,
    /// The lease this outcome settles, when the client named one.
    pub attempt_id: Option<AttemptId>,
    /// Placed with the consumer's prior consent within the past seven days.
    pub consented: bool,
}

impl Contact {
    pub fn rec(&self) -> ContactRec {
        ContactRec {
            at_ms: self.occurred_at.timestamp_millis(),
            code: self.result_code,
            phone: self.phone.map_or(0, PhoneNumber::tag),
            channel: self.channel,
            kind: RecKind::of(self.inbound, self.consented),
        }
    }
}

/// What a record of a history stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecKind {
    /// A contact placed: counted by its result code.
    Outbound,
    /// The consumer called or wrote in: never counted, but an RPC starts the hold.
    Inbound,
    /// An unsettled attempt lease (see the lease rules): counted as one contact of its
    /// channel, never a right party contact.
    Lease,
    /// A contact placed with the consumer's recent consent: counted as `Outbound` by a
    /// control unless it excludes consented calls; an RPC starts the hold either way.
    Consented,
}

impl RecKind {
    /// A recorded contact's kind.
    pub fn of(inbound: bool, consented: bool) -> RecKind {
        match (inbound, consented) {
            (true, _) => RecKind::Inbound,
            (false, true) => RecKind::Consented,
            (false, false) => RecKind::Outbound,
        }
    }
}

/// What a decision needs of one contact, in 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRec {
    /// When it happened, milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub code: i32,
    /// [`PhoneNumber::tag`] of the number contacted (0 when none).
    pub phone: u16,
    pub channel: Channel,
    pub kind: RecKind,
}

/// A consumer's (or a group's) contacts, oldest first, complete from some instant on.
///
/// Kept sorted so a window is two binary searches. Memory keeps only what the rules can
/// look back on from the newest contact (`reach`); what is older is dropped, and
/// [`complete_from_ms`](History::complete_from_ms) says from when the history is whole, so
/// a question about an older instant knows to ask the store instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// A `ThinVec` (length and capacity live with the records): a consumer with no recent
    /// contacts pays one pointer for it.
    recs: ThinVec<ContactRec>,
    complete_from_ms: i64,
}

impl Default for History {
    fn default() -> Self {
        History {
            recs: ThinVec::new(),
            complete_from_ms: i64::MIN,
        }
    }
}

impl History {
    /// A history of `recs`, whole from `complete_from_ms` on (`i64::MIN`: whole).
    pub fn from_unsorted(mut recs: Vec<ContactRec>, complete_from_ms: i64) -> History {
        recs.sort_by_key(|r| r.at_ms);
        History {
            recs: ThinVec::from(recs),
            complete_from_ms,
        }
    }

    /// Adds a contact in time order (after any with the same instant), then drops what
    /// lies more than `reach_ms` before the newest contact.
    pub fn record(&mut self, rec: ContactRec, reach_ms: i64) {
        if rec.at_ms < self.complete_from_ms {
            return; // older than memory keeps: the store has it
        }
        let at = self.recs.partition_point(|r| r.at_ms <= rec.at_ms);
        if self.recs.len() == self.recs.capacity() {
            // Capacities 1, 3, 7, 15, 31…: with the 16-byte header in front, each
            // allocation is a power of two (32, 64, 128… bytes), the sizes allocators
            // serve without rounding up.
            self.recs.reserve_exact(self.recs.capacity() + 1);
        }
        self.recs.insert(at, rec);
        let newest = self.recs.last().map_or(rec.at_ms, |r| r.at_ms);
        self.prune_before(newest.saturating_sub(reach_ms));
    }

    /// Takes out one record equal to `rec` (a lease that was settled or released);
    /// whether there was one.
    pub fn remove(&mut self, rec: &ContactRec) -> bool {
        let from = self.recs.partition_point(|r| r.at_ms < rec.at_ms);
        let found = self.recs[from..]
            .iter()
            .take_while(|r| r.at_ms == rec.at_ms)
            .position(|r| r == rec);
        if let Some(i) = found {
            self.recs.remove(from + i);
        }
        found.is_some()
    }

    /// This history without one record equal to `rec`: what a retried request is decided
    /// on, before its own lease.
    pub fn without(&self, rec: &ContactRec) -> History {
        let mut copy = self.clone();
        copy.remove(rec);
        copy
    }

    /// Forgets contacts before `horizon_ms`, giving memory back when most of it is free.
    pub fn prune_before(&mut self, horizon_ms: i64) {
        if horizon_ms <= self.complete_from_ms {
            return;
        }
        let old = self.recs.partition_point(|r| r.at_ms < horizon_ms);
        if old > 0 {
            self.recs.drain(..old);
            if self.recs.capacity() > 8 && self.recs.capacity() > 2 * self.recs.len() {
                self.recs.shrink_to_fit();
            }
        }
        self.complete_from_ms = horizon_ms;
    }

    /// The instant from which every contact is here.
    pub fn complete_from_ms(&self) -> i64 {
        self.complete_from_ms
    }

    /// Whether every contact at or after `from_ms` is here.
    pub fn covers(&self, from_ms: i64) -> bool {
        from_ms >= self.complete_from_ms
    }

    /// The contacts with `from_ms <= at < to_ms`.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> &[ContactRec] {
        let lo = self.recs.partition_point(|r| r.at_ms < from_ms);
        let hi = self.recs.partition_point(|r| r.at_ms < to_ms);
        &self.recs[lo..hi.max(lo)]
    }

    /// When the newest contact here happened.
    pub fn newest_ms(&self) -> Option<i64> {
        self.recs.last().map(|r| r.at_ms)
    }

    pub fn as_slice(&self) -> &[ContactRec] {
        &self.recs
    }

    /// Where the records are, found without reading them (nor their length): for
    /// prefetching.
    pub fn records_ptr(&self) -> *const ContactRec {
        self.recs.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at_ms: i64) -> ContactRec {
        ContactRec {
            at_ms,
            code: 0,
            phone: 0,
            channel: Channel::Phone,
            kind: RecKind::Outbound,
        }
    }

    #[test]
    fn removing_a_record_takes_out_one_equal_to_it_and_nothing_else() {
        let lease = ContactRec {
            kind: RecKind::Lease,
            ..rec(20)
        };
        let mut h = History::from_unsorted(vec![rec(10), rec(20), lease, lease, rec(30)], i64::MIN);
        assert!(h.remove(&lease));
        assert_eq!(h.len(), 4);
        assert_eq!(h.as_slice().iter().filter(|r| r.kind == RecKind::Lease).count(), 1);
        assert_eq!(h.without(&lease).len(), 3);
        assert!(h.remove(&lease));
        assert!(!h.remove(&lease));
        assert_eq!(h.as_slice().iter().map(|r| r.at_ms).collect::<Vec<_>>(), [10, 20, 30]);
    }

    #[test]
    fn a_history_grows_so_each_allocation_is_a_power_of_two() {
        let mut h = History::default();
        let mut capacities = Vec::new();
        for at in 0..40 {
            h.record(rec(at), 1000);
            capacities.push(h.recs.capacity());
        }
        capacities.dedup();
        assert_eq!(capacities, [1, 3, 7, 15, 31, 63]);
        assert!(capacities.iter().all(|c| (16 + 16 * c).is_power_of_two()));
    }

    #[test]
    fn a_contact_record_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<ContactRec>(), 16);
    }

    #[test]
    fn contacts_stay_in_time_order_whatever_order_they_arrive_in() {
        let mut h = History::default();
        for at in [30, 10, 20, 10] {
            h.record(rec(at), 1000);
        }
        let times: Vec<i64> = h.as_slice().iter().map(|r| r.at_ms).collect();
        assert_eq!(times, [10, 10, 20, 30]);
    }

    #[test]
    fn between_is_half_open_and_prune_drops_only_the_old() {
        let mut h = History::from_unsorted((0..10).map(|i| rec(i * 10)).collect(), i64::MIN);
        assert_eq!(h.between(20, 50).len(), 3);
        assert_eq!(h.between(50, 20).len(), 0);
        assert!(h.covers(-1_000));
        h.prune_before(45);
        assert_eq!(h.as_slice()[0].at_ms, 50);
        assert_eq!(h.len(), 5);
        assert!(h.covers(45) && !h.covers(44));
    }

    #[test]
    fn recording_keeps_only_the_reach_before_the_newest_contact() {
        let mut h = History::default();
        for at in [0, 50, 100, 160] {
            h.record(rec(at), 100);
        }
        assert_eq!(h.as_slice().iter().map(|r| r.at_ms).collect::<Vec<_>>(), [100, 160]);
        assert_eq!(h.complete_from_ms(), 60);
        // An old contact arriving late is kept only if within reach.
        h.record(rec(10), 100);
        assert_eq!(h.len(), 2);
    }
}
