//! Attempt leases (`docs/decisions.md`, "Counting calls in flight"): the decision that allows a contact also counts it, at
//! once, until its outcome is recorded.
//!
//! A decision alone is a read, so requests for one consumer that arrive together would all
//! see the same counts. A reserving request whose verdict is ALLOW or WARN takes a
//! [`Lease`]; until it is settled (its outcome recorded) or released (never placed) it
//! counts as one contact of its channel at its request's instant — in memory it is a
//! [`ContactRec`] of kind [`RecKind::Lease`] in the
//! consumer's (and group's) history, so every window, hold and `next_allowed_at` search
//! sees it like any contact — and, while it is *open* (not past `lease_expires_at`), it
//! holds one of the consumer's `max_in_flight` slots on its channel.
//!
//! What this module decides, and the state layer applies atomically:
//! - whether a consumer is in flight on a channel at an instant ([`in_flight`]);
//! - which earlier lease a retried request holds ([`retried`]);
//! - which lease an outcome settles, and whether it may ([`settles`], [`oldest_settled_by`]);
//! - whether a release is allowed ([`release`]).
//!
//! Why a lease that expired still counts: a call whose outcome never arrived was probably
//! placed, and over-counting costs one dial where under-counting costs a violation. Expiry
//! only frees the in-flight slot.

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::answer::{Decision, Reason};
pub use super::attempt_id::AttemptId;
use super::history::{ContactRec, RecKind};
use super::kinds::{Channel, Verdict};
use super::phone::PhoneNumber;

/// A granted lease, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub attempt_id: AttemptId,
    pub consumer_id: String,
    /// The request that took it: a retry with the same id gets this lease back.
    pub request_id: String,
    pub channel: Channel,
    pub phone: Option<PhoneNumber>,
    /// The request's instant: where the lease counts.
    pub at: DateTime<Utc>,
    /// Until when it holds an in-flight slot.
    pub expires_at: DateTime<Utc>,
    pub operator_id: String,
    /// The decision that granted it, kept with it for the evidence (not in memory: the
    /// store's record carries it).
    pub granted_by: Option<Grant>,
}

/// The decision that granted a lease: its verdict (ALLOW or WARN; PROMPT for a prompted
/// call an operator confirmed), every reason, and the rule-set version that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grant {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    pub rule_set_version: u64,
}

impl Grant {
    pub fn of(decision: &Decision) -> Grant {
        Grant {
            verdict: decision.verdict,
            reasons: decision.reasons.clone(),
            rule_set_version: decision.rule_set_version,
        }
    }
}

impl Lease {
    /// The record the lease counts as in a history: one contact of its channel at its
    /// request's instant, never a right party contact.
    pub fn rec(&self) -> ContactRec {
        ContactRec {
            at_ms: self.at.timestamp_millis(),
            code: 0,
            phone: self.phone.map_or(0, PhoneNumber::tag),
            channel: self.channel,
            kind: RecKind::Lease,
        }
    }

    /// What memory keeps of it beside that record.
    pub fn open(&self) -> OpenLease {
        OpenLease {
            attempt_id: self.attempt_id,
            request_id: CompactString::from(self.request_id.as_str()),
            at_ms: self.at.timestamp_millis(),
            held_ms: (self.expires_at - self.at).num_milliseconds().clamp(0, u32::MAX as i64) as u32,
            phone: self.phone.map_or(0, PhoneNumber::as_u64),
            channel: self.channel,
        }
    }
}

/// An unsettled lease as memory keeps it, per consumer (64 bytes; its [`ContactRec`] in the
/// history is another 16, and 16 more in a group's while a rule counts groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLease {
    pub attempt_id: AttemptId,
    /// Inline up to 24 bytes.
    pub request_id: CompactString,
    pub at_ms: i64,
    /// How long after `at_ms` it holds its slot (at most a day: `lease_seconds`).
    pub held_ms: u32,
    pub channel: Channel,
    /// The number's E.164 digits; 0 when none.
    pub phone: u64,
}

impl OpenLease {
    /// When it stops holding an in-flight slot.
    pub fn expires_ms(&self) -> i64 {
        self.at_ms + i64::from(self.held_ms)
    }

    /// Whether it holds an in-flight slot at `t_ms`: taken at or before `t_ms`, and not
    /// yet past its expiry. (A question about an instant before the lease was taken is
    /// not in flight: an as-of report about last week is not blocked by a call now.)
    pub fn open_at(&self, t_ms: i64) -> bool {
        self.at_ms <= t_ms && t_ms < self.expires_ms()
    }

    /// The record it counts as in a history.
    pub fn rec(&self) -> ContactRec {
        ContactRec {
            at_ms: self.at_ms,
            code: 0,
            phone: if self.phone == 0 {
                0
            } else {
                PhoneNumber::from_u64(self.phone).tag()
            },
            channel: self.channel,
            kind: RecKind::Lease,
        }
    }
}

/// When `leases` hold every in-flight slot of `channel` at `t_ms` (`max_in_flight` or more
/// open): the earliest of their expiries, when the first slot frees at the latest.
pub fn in_flight(leases: &[OpenLease], channel: Channel, t_ms: i64, max_in_flight: u32) -> Option<i64> {
    let mut open = 0u32;
    let mut earliest = i64::MAX;
    for l in leases.iter().filter(|l| l.channel == channel && l.open_at(t_ms)) {
        open += 1;
        earliest = earliest.min(l.expires_ms());
    }
    (open >= max_in_flight.max(1)).then_some(earliest)
}

/// The unsettled lease an earlier request with the same non-empty `request_id` took on
/// `channel`: a retry gets it back and takes nothing more (a dialer that lost an answer
/// and asks again holds one lease, not two). This comes before the in-flight rule, which
/// would otherwise deny the retry.
pub fn retried<'a>(leases: &'a [OpenLease], request_id: &str, channel: Channel) -> Option<&'a OpenLease> {
    if request_id.is_empty() {
        return None;
    }
    leases
        .iter()
        .find(|l| l.channel == channel && l.request_id == request_id)
}

/// Where a lease stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Counting: neither settled nor released (whether or not it has expired).
    Unsettled,
    /// Its outcome was recorded: the contact took its place.
    Settled,
    /// The attempt was never placed: it stopped counting.
    Released,
}

/// Why an outcome cannot settle the lease it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleRejection {
    #[error("no lease with this attempt id was issued")]
    Unknown,
    #[error("the lease with this attempt id is another consumer's")]
    OtherConsumer,
    #[error("the lease with this attempt id is for another channel")]
    OtherChannel,
}

/// Whether a recorded outcome for `consumer_id` on `channel` that names a lease settles it:
/// `Ok(true)` when it does (an unsettled lease of that consumer and channel), `Ok(false)`
/// when the lease was already settled or released (the outcome is recorded like any
/// contact and settles nothing: a lease is settled once), and an error when the lease was
/// never issued or is not this consumer's on this channel (then nothing is recorded).
pub fn settles(
    lease: Option<(&Lease, LeaseState)>,
    consumer_id: &str,
    channel: Channel,
) -> Result<bool, SettleRejection> {
    let Some((lease, state)) = lease else {
        return Err(SettleRejection::Unknown);
    };
    if lease.consumer_id != consumer_id {
        return Err(SettleRejection::OtherConsumer);
    }
    if lease.channel != channel {
        return Err(SettleRejection::OtherChannel);
    }
    Ok(state == LeaseState::Unsettled)
}

/// The lease an outbound outcome that names none settles: the oldest unsettled lease of
/// the same channel and number among `unsettled` (one consumer's), if any. An inbound
/// contact settles nothing: the consumer called in, no attempt was placed.
pub fn oldest_settled_by<'a>(
    unsettled: impl IntoIterator<Item = &'a Lease>,
    channel: Channel,
    phone: Option<PhoneNumber>,
    inbound: bool,
) -> Option<&'a Lease> {
    if inbound {
        return None;
    }
    unsettled
        .into_iter()
        .filter(|l| l.channel == channel && l.phone == phone)
        .min_by_key(|l| (l.at, l.attempt_id))
}

/// Why a release is refused, or that it changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseRejection {
    #[error("no lease with this attempt id was issued")]
    NotFound,
    #[error("the lease with this attempt id was already settled by a recorded outcome")]
    Settled,
    /// Not an error to the client: `released=false`, nothing changes.
    #[error("the lease with this attempt id was already released")]
    AlreadyReleased,
}

/// Whether a lease in `state` (`None`: never issued) may be released.
pub fn release(state: Option<LeaseState>) -> Result<(), ReleaseRejection> {
    match state {
        None => Err(ReleaseRejection::NotFound),
        Some(LeaseState::Settled) => Err(ReleaseRejection::Settled),
        Some(LeaseState::Released) => Err(ReleaseRejection::AlreadyReleased),
        Some(LeaseState::Unsettled) => Ok(()),
    }
}

/// The rule set's lease settings, with their defaults and bounds.
pub use super::lease_settings as settings;

#[cfg(test)]
mod tests {
    use super::*;

    fn open(id: u8, channel: Channel, at_ms: i64, expires_ms: i64, request_id: &str) -> OpenLease {
        OpenLease {
            attempt_id: AttemptId::from_bytes([id; 16]),
            request_id: request_id.into(),
            at_ms,
            held_ms: (expires_ms - at_ms) as u32,
            phone: 15_551_234_567,
            channel,
        }
    }

    #[test]
    fn an_attempt_id_is_32_hex_digits_both_ways() {
        let id = AttemptId::from_bytes([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(16));
        assert_eq!(AttemptId::parse(&text), Ok(id));
        assert_eq!(AttemptId::parse(&format!(" {} ", text.to_uppercase())), Ok(id));
        for bad in ["", "abc", &"g".repeat(32), &"ab".repeat(17), "é".repeat(16).as_str()] {
            assert!(AttemptId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AttemptId::parse_field("x", "attempt_id").unwrap_err().field,
            "attempt_id"
        );
    }

    #[test]
    fn a_consumer_is_in_flight_while_max_leases_are_open_and_until_the_earliest_expiry() {
        let leases = [
            open(1, Channel::Phone, 100, 1_000, "a"),
            open(2, Channel::Phone, 200, 800, "b"),
            open(3, Channel::Text, 100, 5_000, "c"),
        ];
        assert_eq!(in_flight(&leases, Channel::Phone, 300, 1), Some(800));
        assert_eq!(in_flight(&leases, Channel::Phone, 300, 2), Some(800));
        assert_eq!(in_flight(&leases, Channel::Phone, 300, 3), None);
        // Expired leases free their slot; 0 means 1.
        assert_eq!(in_flight(&leases, Channel::Phone, 900, 0), Some(1_000));
        assert_eq!(in_flight(&leases, Channel::Phone, 1_000, 1), None);
        // Per channel, and not before the lease was taken.
        assert_eq!(in_flight(&leases, Channel::Email, 300, 1), None);
        assert_eq!(in_flight(&leases, Channel::Phone, 50, 1), None);
    }

    #[test]
    fn a_retry_finds_its_own_lease_by_request_id_and_channel_only() {
        let leases = [
            open(1, Channel::Phone, 0, 10, "r-1"),
            open(2, Channel::Text, 0, 10, "r-2"),
        ];
        assert_eq!(
            retried(&leases, "r-1", Channel::Phone).map(|l| l.attempt_id),
            Some(AttemptId::from_bytes([1; 16]))
        );
        assert!(retried(&leases, "r-1", Channel::Text).is_none());
        assert!(retried(&leases, "", Channel::Phone).is_none());
        let unnamed = [open(3, Channel::Phone, 0, 10, "")];
        assert!(retried(&unnamed, "", Channel::Phone).is_none());
    }

    fn lease(id: u8, consumer: &str, channel: Channel, at: &str, phone: u64) -> Lease {
        let at: DateTime<Utc> = at.parse().unwrap();
        Lease {
            attempt_id: AttemptId::from_bytes([id; 16]),
            consumer_id: consumer.into(),
            request_id: String::new(),
            channel,
            phone: Some(PhoneNumber::from_u64(phone)),
            at,
            expires_at: at + chrono::Duration::minutes(15),
            operator_id: String::new(),
            granted_by: None,
        }
    }

    #[test]
    fn an_outcome_settles_its_own_unsettled_lease_once() {
        let l = lease(1, "c", Channel::Phone, "2026-06-01T15:00:00Z", 1);
        assert_eq!(
            settles(Some((&l, LeaseState::Unsettled)), "c", Channel::Phone),
            Ok(true)
        );
        assert_eq!(settles(Some((&l, LeaseState::Settled)), "c", Channel::Phone), Ok(false));
        assert_eq!(
            settles(Some((&l, LeaseState::Released)), "c", Channel::Phone),
            Ok(false)
        );
        assert_eq!(settles(None, "c", Channel::Phone), Err(SettleRejection::Unknown));
        assert_eq!(
            settles(Some((&l, LeaseState::Unsettled)), "d", Channel::Phone),
            Err(SettleRejection::OtherConsumer)
        );
        assert_eq!(
            settles(Some((&l, LeaseState::Unsettled)), "c", Channel::Text),
            Err(SettleRejection::OtherChannel)
        );
    }

    #[test]
    fn an_outcome_naming_no_lease_settles_the_oldest_of_its_channel_and_number() {
        let leases = [
            lease(1, "c", Channel::Phone, "2026-06-01T15:05:00Z", 1),
            lease(2, "c", Channel::Phone, "2026-06-01T15:00:00Z", 2),
            lease(3, "c", Channel::Phone, "2026-06-01T15:01:00Z", 1),
            lease(4, "c", Channel::Text, "2026-06-01T14:00:00Z", 1),
        ];
        let number = |n| Some(PhoneNumber::from_u64(n));
        let oldest = |channel, n, inbound| {
            oldest_settled_by(&leases, channel, number(n), inbound).map(|l| l.attempt_id.as_bytes()[0])
        };
        assert_eq!(oldest(Channel::Phone, 1, false), Some(3));
        assert_eq!(oldest(Channel::Phone, 2, false), Some(2));
        assert_eq!(oldest(Channel::Text, 1, false), Some(4));
        assert_eq!(oldest(Channel::Phone, 3, false), None);
        assert_eq!(oldest(Channel::Phone, 1, true), None);
    }

    #[test]
    fn a_lease_is_released_once_and_never_after_it_was_settled() {
        assert_eq!(release(Some(LeaseState::Unsettled)), Ok(()));
        assert_eq!(
            release(Some(LeaseState::Released)),
            Err(ReleaseRejection::AlreadyReleased)
        );
        assert_eq!(release(Some(LeaseState::Settled)), Err(ReleaseRejection::Settled));
        assert_eq!(release(None), Err(ReleaseRejection::NotFound));
    }

    #[test]
    fn a_lease_counts_as_an_attempt_of_its_channel_at_its_instant_and_its_open_record_agrees() {
        let l = lease(1, "c", Channel::Phone, "2026-06-01T15:00:00Z", 15_551_234_567);
        let rec = l.rec();
        assert_eq!(
            (rec.at_ms, rec.channel, rec.kind),
            (l.at.timestamp_millis(), Channel::Phone, RecKind::Lease)
        );
        assert_eq!(l.open().rec(), rec);
        assert!(
            std::mem::size_of::<OpenLease>() <= 72,
            "{}",
            std::mem::size_of::<OpenLease>()
        );
    }
}
