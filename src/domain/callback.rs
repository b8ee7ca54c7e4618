//! Callbacks (the RPC override): the consumer asked to be called back on a number.

use chrono::{DateTime, Utc};

use super::phone::PhoneNumber;

/// From `callback_at` on, frequency and hold controls are lifted for calls to `phone`,
/// until a PHONE contact to it (at or after `callback_at`) is recorded. One per consumer
/// and number: a new one replaces the old.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub id: String,
    pub consumer_id: String,
    pub phone: PhoneNumber,
    pub callback_at: DateTime<Utc>,
    pub operator_id: String,
}
