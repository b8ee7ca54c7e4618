//! Places finer than a state: a consumer's postal code and county, and the postal-code
//! prefixes and counties a rule binds (New York City's boroughs, the counties a governor's
//! emergency order names).
//!
//! A county is matched by name as written on both sides, normalised (upper case, single
//! spaces, a trailing "COUNTY" dropped: "Kings County" is "KINGS"), or by FIPS code when
//! both sides give one; it is kept as a 64-bit hash of that form, so a consumer carries 8
//! bytes for it and a comparison is one integer's.

use std::num::{NonZeroU32, NonZeroU64};

use super::error::FieldError;

/// A five-digit US postal code (a ZIP+4's first five digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PostalCode(NonZeroU32);

impl PostalCode {
    /// `02134` or `02134-1234`.
    pub fn parse(text: &str) -> Result<PostalCode, String> {
        let t = text.trim();
        let five = match t.split_once('-') {
            Some((five, four)) if four.len() == 4 && four.bytes().all(|b| b.is_ascii_digit()) => five,
            Some(_) => return Err(format!("{t:?} is not a five-digit postal code (or ZIP+4)")),
            None => t,
        };
        if five.len() != 5 || !five.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{t:?} is not a five-digit postal code (or ZIP+4)"));
        }
        let digits: u32 = five.parse().expect("five digits");
        Ok(PostalCode(NonZeroU32::new(digits + 1).expect("+1")))
    }

    pub fn digits(self) -> u32 {
        self.0.get() - 1
    }
}

impl std::fmt::Display for PostalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:05}", self.digits())
    }
}

/// The leading digits of postal codes a rule binds: `112` is every code from 11200 to
/// 11299; five digits is one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostalPrefix {
    digits: u32,
    len: u8,
}

impl PostalPrefix {
    pub fn parse(text: &str) -> Result<PostalPrefix, String> {
        let t = text.trim();
        if t.is_empty() || t.len() > 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{t:?} is not a postal code or its first digits (1 to 5 digits)"
            ));
        }
        Ok(PostalPrefix {
            digits: t.parse().expect("digits"),
            len: t.len() as u8,
        })
    }

    pub fn matches(self, code: PostalCode) -> bool {
        code.digits() / 10u32.pow(5 - u32::from(self.len)) == self.digits
    }
}

/// A county, by normalised name or FIPS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct County(NonZeroU64);

impl County {
    /// `None` for an empty name.
    pub fn new(name: &str) -> Option<County> {
        let upper = name.trim().to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let words = match words.as_slice() {
            [rest @ .., "COUNTY"] if !rest.is_empty() => rest,
            all => all,
        };
        if words.is_empty() {
            return None;
        }
        // FNV-1a: stable across builds and machines, so stored hashes stay comparable.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                hash = (hash ^ u64::from(b' ')).wrapping_mul(0x0100_0000_01b3);
            }
            for b in word.bytes() {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        Some(County(NonZeroU64::new(hash).unwrap_or(NonZeroU64::MIN)))
    }
}

/// The places a rule binds: postal-code prefixes and counties, each list empty for
/// anywhere; a consumer must match one of every list that is not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Places {
    pub postal_codes: Vec<PostalPrefix>,
    pub counties: Vec<County>,
}

impl Places {
    /// Whether a consumer with this postal code and county is in them.
    pub fn binds(&self, postal_code: Option<PostalCode>, county: Option<County>) -> bool {
        (self.postal_codes.is_empty() || postal_code.is_some_and(|c| self.postal_codes.iter().any(|p| p.matches(c))))
            && (self.counties.is_empty() || county.is_some_and(|c| self.counties.contains(&c)))
    }

    pub fn is_empty(&self) -> bool {
        self.postal_codes.is_empty() && self.counties.is_empty()
    }
}

impl Places {
    /// Reads a rule's `postal_codes` and `counties`, naming each one that is wrong
    /// (`postal_codes[1]`).
    pub fn parse(postal_codes: &[String], counties: &[String]) -> Result<Places, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut places = Places::default();
        for (i, p) in postal_codes.iter().enumerate() {
            match PostalPrefix::parse(p) {
                Ok(prefix) => places.postal_codes.push(prefix),
                Err(m) => errors.push(FieldError::new(format!("postal_codes[{i}]"), m)),
            }
        }
        for (i, c) in counties.iter().enumerate() {
            match County::new(c) {
                Some(county) => places.counties.push(county),
                None => errors.push(FieldError::new(format!("counties[{i}]"), "is empty")),
            }
        }
        if errors.is_empty() { Ok(places) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(s: &str) -> PostalCode {
        PostalCode::parse(s).unwrap()
    }

    #[test]
    fn a_prefix_binds_the_codes_it_begins() {
        let brooklyn = PostalPrefix::parse("112").unwrap();
        assert!(brooklyn.matches(zip("11201")));
        assert!(!brooklyn.matches(zip("11001")));
        assert!(PostalPrefix::parse("11004").unwrap().matches(zip("11004-2233")));
        assert!(PostalPrefix::parse("0").unwrap().matches(zip("02134")));
        for bad in ["", "11a", "123456", "-1"] {
            assert!(PostalPrefix::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PostalCode::parse("1234").is_err() && PostalCode::parse("12345-12").is_err());
        assert_eq!(zip("00501").to_string(), "00501");
    }

    #[test]
    fn a_county_is_its_name_however_it_is_written() {
        assert_eq!(County::new("Kings County"), County::new(" kings "));
        assert_eq!(County::new("St.  Lucie"), County::new("ST. LUCIE COUNTY"));
        assert_ne!(County::new("Kings"), County::new("Queens"));
        assert_eq!(County::new("  "), None);
        assert_eq!(
            County::new("County"),
            County::new("COUNTY"),
            "a county named County is kept"
        );
    }

    #[test]
    fn a_consumer_must_match_every_list_a_rule_gives() {
        let places = Places {
            postal_codes: vec![PostalPrefix::parse("112").unwrap()],
            counties: vec![County::new("Kings").unwrap()],
        };
        let at = |zip_code: &str, county: &str| (PostalCode::parse(zip_code).ok(), County::new(county));
        let binds = |p: &Places, (zip_code, county)| p.binds(zip_code, county);
        assert!(binds(&places, at("11201", "Kings")));
        assert!(!binds(&places, at("11201", "Queens")));
        assert!(!binds(&places, at("", "Kings")), "no postal code matches no prefix");
        assert!(binds(&Places::default(), at("", "")));
    }
}
