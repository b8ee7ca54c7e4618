//! Consumers — debtors and cosigners — as the API gives them ([`Consumer`]) and as the
//! decision needs them ([`Profile`]: only what a decision reads, kept compact in memory).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::error::FieldError;
use super::kinds::Role;
use super::phone::PhoneNumber;

/// One of a consumer's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    pub number: PhoneNumber,
    /// Where the number rings, when it differs from the consumer's zone (a roaming mobile).
    pub time_zone: Option<Tz>,
    /// When the consumer last authorised texts to this number.
    pub sms_authorized_at: Option<DateTime<Utc>>,
}

/// A debtor or cosigner, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub id: String,
    pub role: Role,
    /// Consumers with the same group count together under `apply_to_group` controls.
    pub group_id: Option<String>,
    /// Upper case (`"MA"`).
    pub state: Option<String>,
    /// Upper case (`"US"`).
    pub country: Option<String>,
    pub time_zone: Option<Tz>,
    pub address_time_zone: Option<Tz>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub ssn_hash: Option<String>,
}

/// Checks an identifier a client chose (consumer, event, control…): non-empty, at most
/// 128 bytes, no control characters. Returns it trimmed.
pub fn validate_id<'a>(text: &'a str, field: &str) -> Result<&'a str, FieldError> {
    let id = text.trim();
    if id.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if id.len() > 128 {
        return Err(FieldError::new(field, "is longer than 128 bytes"));
    }
    if id.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(id)
}

/// Checks a region code (`state`: 2–3 letters, `country`: 2 letters) and upper-cases it.
pub fn validate_region(text: &str, field: &str, max_len: usize) -> Result<Option<String>, FieldError> {
    let code = text.trim();
    if code.is_empty() {
        return Ok(None);
    }
    if !(2..=max_len).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(FieldError::new(
            field,
            format!("{code:?} is not a {max_len}-letter code"),
        ));
    }
    Ok(Some(code.to_ascii_uppercase()))
}

/// A consumer as a decision reads it: no emails, no SSN hash, zones resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub role: Role,
    pub group: Option<Arc<str>>,
    pub state: Option<Box<str>>,
    pub country: Option<Box<str>>,
    pub time_zone: Option<Tz>,
    pub address_time_zone: Option<Tz>,
    pub phones: Box<[PhoneProfile]>,
}

/// A number as a decision reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhoneProfile {
    pub number: PhoneNumber,
    pub time_zone: Option<Tz>,
    pub sms_authorized_at_ms: Option<i64>,
}

impl Profile {
    pub fn of(consumer: &Consumer) -> Profile {
        Profile {
            role: consumer.role,
            group: consumer.group_id.as_deref().map(Arc::from),
            state: consumer.state.as_deref().map(Box::from),
            country: consumer.country.as_deref().map(Box::from),
            time_zone: consumer.time_zone,
            address_time_zone: consumer.address_time_zone,
            phones: consumer
                .phones
                .iter()
                .map(|p| PhoneProfile {
                    number: p.number,
                    time_zone: p.time_zone,
                    sms_authorized_at_ms: p.sms_authorized_at.map(|t| t.timestamp_millis()),
                })
                .collect(),
        }
    }

    /// The zone whose calendar days the counting periods use: the consumer's, else UTC.
    pub fn day_zone(&self) -> Tz {
        self.time_zone.unwrap_or(Tz::UTC)
    }

    pub fn phone(&self, number: PhoneNumber) -> Option<&PhoneProfile> {
        self.phones.iter().find(|p| p.number == number)
    }
}
