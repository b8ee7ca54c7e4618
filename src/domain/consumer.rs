//! Consumers — debtors and cosigners — as the API gives them ([`Consumer`]) and as the
//! decision needs them ([`Profile`]: only what a decision reads, kept compact in memory).

use compact_str::CompactString;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use nonmax::NonMaxI64;

use super::error::FieldError;
use super::kinds::Role;
use super::phone::PhoneNumber;
use super::place::{County, PostalCode};

/// One of a consumer's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    pub number: PhoneNumber,
    /// Where the number rings, when it differs from the consumer's zone (a roaming mobile).
    pub time_zone: Option<Tz>,
    /// When the consumer last authorised texts to this number.
    pub sms_authorized_at: Option<DateTime<Utc>>,
    /// When the consumer gave this number (consent to call it): what the Reassigned
    /// Numbers Database's answers are read against.
    pub consent_at: Option<DateTime<Utc>>,
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
    pub postal_code: Option<PostalCode>,
    /// As given (trimmed): what the API answers.
    pub county: Option<String>,
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

/// A state or country code as a profile keeps it: up to three ASCII letters, upper case,
/// in four bytes (with its `Option`), compared without a pointer to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region([u8; 3]);

impl Region {
    /// `None` unless `code` is one to three ASCII letters (what [`validate_region`] lets in).
    pub fn new(code: &str) -> Option<Region> {
        let bytes = code.as_bytes();
        if !(1..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let mut region = [0u8; 3];
        for (slot, b) in region.iter_mut().zip(bytes) {
            *slot = b.to_ascii_uppercase();
        }
        Some(Region(region))
    }

    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(3);
        std::str::from_utf8(&self.0[..len]).expect("ASCII letters")
    }
}

/// Where a consumer is, as rules ask it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Whereabouts {
    pub state: Option<Region>,
    pub country: Option<Region>,
    pub postal_code: Option<PostalCode>,
    pub county: Option<County>,
}

/// A consumer as a decision reads it: no emails, no SSN hash, zones resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub role: Role,
    /// Short strings are kept inline (up to 24 bytes): no allocation of their own, and no
    /// pointer to chase when a decision compares them.
    pub group: Option<CompactString>,
    pub state: Option<Region>,
    pub country: Option<Region>,
    pub time_zone: Option<Tz>,
    pub address_time_zone: Option<Tz>,
    pub phones: Box<[PhoneProfile]>,
    pub postal_code: Option<PostalCode>,
    pub county: Option<County>,
}

/// A number as a decision reads it, in 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhoneProfile {
    pub number: PhoneNumber,
    pub time_zone: Option<Tz>,
    /// Milliseconds. No instant chrono can represent is `i64::MAX` ms, so the `Option`
    /// takes no room of its own.
    sms_authorized_at: Option<NonMaxI64>,
    /// The day of `Phone.consent_at` in the consumer's day zone (what the Reassigned
    /// Numbers Database's answers are compared with): four bytes in what was padding.
    pub consent_day: Option<NaiveDate>,
}

impl PhoneProfile {
    pub fn new(number: PhoneNumber, time_zone: Option<Tz>, sms_authorized_at_ms: Option<i64>) -> PhoneProfile {
        PhoneProfile {
            number,
            time_zone,
            sms_authorized_at: sms_authorized_at_ms.and_then(NonMaxI64::new),
            consent_day: None,
        }
    }

    /// When the consumer last authorised texts to this number (ms).
    pub fn sms_authorized_at_ms(&self) -> Option<i64> {
        self.sms_authorized_at.map(|ms| ms.get())
    }
}

impl Profile {
    pub fn of(consumer: &Consumer) -> Profile {
        Profile {
            role: consumer.role,
            group: consumer.group_id.as_deref().map(CompactString::from),
            state: consumer.state.as_deref().and_then(Region::new),
            country: consumer.country.as_deref().and_then(Region::new),
            time_zone: consumer.time_zone,
            address_time_zone: consumer.address_time_zone,
            phones: consumer
                .phones
                .iter()
                .map(|p| PhoneProfile {
                    consent_day: p
                        .consent_at
                        .map(|t| t.with_timezone(&consumer.time_zone.unwrap_or(Tz::UTC)).date_naive()),
                    ..PhoneProfile::new(p.number, p.time_zone, p.sms_authorized_at.map(|t| t.timestamp_millis()))
                })
                .collect(),
            postal_code: consumer.postal_code,
            county: consumer.county.as_deref().and_then(County::new),
        }
    }

    /// Where the consumer is, as rules ask it.
    pub fn whereabouts(&self) -> Whereabouts {
        Whereabouts {
            state: self.state,
            country: self.country,
            postal_code: self.postal_code,
            county: self.county,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_keeps_up_to_three_letters_upper_case_in_four_bytes() {
        assert_eq!(Region::new("ma").unwrap().as_str(), "MA");
        assert_eq!(Region::new("NYC").unwrap().as_str(), "NYC");
        assert_eq!(Region::new("abcd"), None);
        assert_eq!(Region::new("M1"), None);
        assert_eq!(Region::new(""), None);
        assert_eq!(std::mem::size_of::<Option<Region>>(), 4);
    }

    #[test]
    fn a_phone_profile_is_24_bytes_and_keeps_its_sms_authorization() {
        assert_eq!(std::mem::size_of::<PhoneProfile>(), 24);
        let n = PhoneNumber::parse("+15551234567").unwrap();
        assert_eq!(PhoneProfile::new(n, None, Some(-5)).sms_authorized_at_ms(), Some(-5));
        assert_eq!(PhoneProfile::new(n, None, None).sms_authorized_at_ms(), None);
    }
}
