//! Phone numbers: E.164, held as one `u64`.
//!
//! Clients send `+15551234567`; the server also takes the common US forms
//! (`(555) 123-4567`, `555-123-4567`, `15551234567`, with spaces, dots or dashes) and
//! rejects anything without an area code. Only the syntax is checked: carrier metadata
//! libraries (libphonenumber and its ports) call the 555 numbers that every dialer sandbox
//! and test plan uses "invalid", and a pre-dial check must not refuse a number the dialer
//! will dial anyway. Numbers outside the NANP are accepted in `+` form, 8 to 15 digits.

use std::fmt;
use std::str::FromStr;

use super::error::FieldError;

/// An E.164 number: its digits, country code first, as an integer (at most 15 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(u64);

impl PhoneNumber {
    /// Parses and normalises `text`; the error message says what is wrong, without the field.
    ///
    /// Allocation-free unless it fails: the digits are read straight into the number.
    pub fn parse(text: &str) -> Result<PhoneNumber, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("is empty".into());
        }
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let (mut value, mut len, mut first) = (0u64, 0usize, 0u8);
        for b in rest.bytes() {
            match b {
                b'0'..=b'9' => {
                    if len == 0 {
                        first = b;
                    }
                    len += 1;
                    if len > 15 {
                        return Err(format!("{trimmed:?} is not a phone number"));
                    }
                    value = value * 10 + u64::from(b - b'0');
                }
                b' ' | b'-' | b'.' | b'(' | b')' => {}
                _ => return Err(format!("{trimmed:?} is not a phone number")),
            }
        }
        let e164 = if plus {
            if first == b'1' && len != 11 {
                return Err(format!("{trimmed:?}: a +1 number has a 3-digit area code and 7 digits"));
            }
            if !(8..=15).contains(&len) || first == b'0' {
                return Err(format!("{trimmed:?} is not an E.164 number"));
            }
            value
        } else {
            match len {
                10 => 10_000_000_000 + value,
                11 if first == b'1' => value,
                7 => return Err(format!("{trimmed:?} has no area code")),
                _ => return Err(format!("{trimmed:?} is not a phone number with an area code")),
            }
        };
        // NANP area codes never start with 0 or 1.
        if (10_000_000_000..20_000_000_000).contains(&e164) && (e164 / 1_000_000_000) % 10 < 2 {
            return Err(format!("{trimmed:?} has no valid area code"));
        }
        Ok(PhoneNumber(e164))
    }

    /// Parses `text`, naming `field` on error.
    pub fn parse_field(text: &str, field: &str) -> Result<PhoneNumber, FieldError> {
        Self::parse(text).map_err(|m| FieldError::new(field, m))
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    pub fn from_u64(digits: u64) -> PhoneNumber {
        PhoneNumber(digits)
    }

    /// The NANP area code (`555` of `+15551234567`, always 200–999), when this is a +1
    /// number. [`PhoneNumber::parse`] refuses a +1 number whose area code begins with 0 or
    /// 1; one made otherwise ([`PhoneNumber::from_u64`]) has none, so the tables indexed
    /// by area code (Do Not Call lists, reassigned-number answers) never see one.
    pub fn nanp_area_code(self) -> Option<u16> {
        let area = ((self.0 / 10_000_000) % 1000) as u16;
        ((10_000_000_000..20_000_000_000).contains(&self.0) && area >= 200).then_some(area)
    }

    /// A 16-bit tag of the number, kept with each recorded contact to tell a consumer's
    /// numbers apart without storing them again (a consumer has a handful of numbers).
    pub fn tag(self) -> u16 {
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (x >> 48) as u16
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        PhoneNumber::parse(s).unwrap().to_string()
    }

    #[test]
    fn common_us_forms_normalise_to_e164() {
        for form in [
            "+15551234567",
            "(555) 123-4567",
            "555-123-4567",
            "15551234567",
            "5551234567",
            "555.123.4567",
            " +1 (555) 123-4567 ",
        ] {
            assert_eq!(norm(form), "+15551234567", "{form}");
        }
    }

    #[test]
    fn international_numbers_are_kept_in_e164() {
        assert_eq!(norm("+442071838750"), "+442071838750");
    }

    #[test]
    fn numbers_without_an_area_code_are_rejected() {
        let err = PhoneNumber::parse("123-4567").unwrap_err();
        assert!(err.contains("no area code"), "{err}");
        assert!(PhoneNumber::parse("(055) 123-4567").is_err());
        assert!(PhoneNumber::parse("+1555123456").is_err());
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in ["", "abc", "+", "555-CALL-NOW", "+0123456789", "1234567890123456789"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn area_code_is_read_from_nanp_numbers_only() {
        assert_eq!(PhoneNumber::parse("+12125550100").unwrap().nanp_area_code(), Some(212));
        assert_eq!(PhoneNumber::parse("+442071838750").unwrap().nanp_area_code(), None);
        assert_eq!(PhoneNumber::from_u64(11_005_550_123).nanp_area_code(), None);
    }
}
