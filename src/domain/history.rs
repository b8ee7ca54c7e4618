//! Recorded contacts: the full event ([`Contact`]) and the 16-byte record memory keeps of
//! it ([`ContactRec`]) in a time-ordered [`History`].

use chrono::{DateTime, Utc};

use super::kinds::Channel;
use super::phone::PhoneNumber;

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
}

impl Contact {
    pub fn rec(&self) -> ContactRec {
        ContactRec {
            at_ms: self.occurred_at.timestamp_millis(),
            code: self.result_code,
            phone: self.phone.map_or(0, PhoneNumber::tag),
            channel: self.channel,
            inbound: self.inbound,
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
    pub inbound: bool,
}

/// A consumer's (or a group's) contacts, oldest first.
///
/// Kept sorted so a window is two binary searches; pruned to what the longest rule window
/// needs, so memory stays bounded however long the account lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History(Vec<ContactRec>);

impl History {
    pub fn from_unsorted(mut recs: Vec<ContactRec>) -> History {
        recs.sort_by_key(|r| r.at_ms);
        History(recs)
    }

    /// Adds a contact in time order (after any with the same instant).
    pub fn insert(&mut self, rec: ContactRec) {
        let at = self.0.partition_point(|r| r.at_ms <= rec.at_ms);
        self.0.insert(at, rec);
    }

    /// Forgets contacts before `horizon_ms`, giving memory back when most of it is free.
    pub fn prune_before(&mut self, horizon_ms: i64) {
        let old = self.0.partition_point(|r| r.at_ms < horizon_ms);
        if old > 0 {
            self.0.drain(..old);
            if self.0.capacity() > 8 && self.0.capacity() > 2 * self.0.len() {
                self.0.shrink_to_fit();
            }
        }
    }

    /// The contacts with `from_ms <= at < to_ms`.
    pub fn between(&self, from_ms: i64, to_ms: i64) -> &[ContactRec] {
        let lo = self.0.partition_point(|r| r.at_ms < from_ms);
        let hi = self.0.partition_point(|r| r.at_ms < to_ms);
        &self.0[lo..hi.max(lo)]
    }

    pub fn as_slice(&self) -> &[ContactRec] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Bytes of heap this history holds.
    pub fn heap_bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<ContactRec>()
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
            inbound: false,
        }
    }

    #[test]
    fn a_contact_record_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<ContactRec>(), 16);
    }

    #[test]
    fn contacts_stay_in_time_order_whatever_order_they_arrive_in() {
        let mut h = History::default();
        for at in [30, 10, 20, 10] {
            h.insert(rec(at));
        }
        let times: Vec<i64> = h.as_slice().iter().map(|r| r.at_ms).collect();
        assert_eq!(times, [10, 10, 20, 30]);
    }

    #[test]
    fn between_is_half_open_and_prune_drops_only_the_old() {
        let mut h = History::from_unsorted((0..10).map(|i| rec(i * 10)).collect());
        assert_eq!(h.between(20, 50).len(), 3);
        assert_eq!(h.between(50, 20).len(), 0);
        h.prune_before(45);
        assert_eq!(h.as_slice()[0].at_ms, 50);
        assert_eq!(h.len(), 5);
    }
}
