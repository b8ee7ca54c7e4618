//! The bounds of a rule set's lease settings (`lease_seconds`, `max_in_flight`): apart
//! from the lease rules, so the rule-set validation that reads them does not depend on them.

/// `lease_seconds` 0 means this: 15 minutes outlasts a long call; a dialer settles the
/// lease when the call ends, so the expiry matters only for an outcome that never comes.
pub const DEFAULT_LEASE_SECONDS: u32 = 900;
/// Shorter than a call that rings and is answered, and the slot would free mid-call.
pub const MIN_LEASE_SECONDS: u32 = 30;
/// A day: a lease is a call in progress, not a reservation for tomorrow.
pub const MAX_LEASE_SECONDS: u32 = 86_400;
/// `max_in_flight` 0 means this: one call to a person at a time.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 1;
/// More parallel attempts than numbers a consumer plausibly has is a mistake.
pub const MAX_MAX_IN_FLIGHT: u32 = 16;
