//! What several benches share: the process's resident set, a spread of NANP numbers, and
//! a consumer in New York with one number.

#![allow(dead_code)] // each bench uses its part

use predial::domain::{Consumer, Phone, PhoneNumber, Role};

/// The process's resident set, from `/proc/self/statm` (Linux).
pub fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// `count` NANP numbers from `seed`: area codes 201–989, pseudo-random suffixes.
pub fn numbers(count: usize, seed: u64) -> impl Iterator<Item = PhoneNumber> {
    let mut x = seed | 1;
    (0..count).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let area = 201 + (x % 789);
        let suffix = (x >> 20) % 10_000_000;
        PhoneNumber::from_u64(10_000_000_000 + area * 10_000_000 + suffix)
    })
}

/// A debtor in New York (its zone, no group) with one number.
pub fn new_yorker(id: String, number: PhoneNumber) -> Consumer {
    Consumer {
        id,
        role: Role::Debtor,
        group_id: None,
        state: Some("NY".into()),
        country: Some("US".into()),
        time_zone: Some(chrono_tz::America::New_York),
        address_time_zone: None,
        phones: vec![Phone {
            number,
            time_zone: None,
            sms_authorized_at: None,
            consent_at: None,
        }],
        emails: vec![],
        ssn_hash: None,
        postal_code: None,
        county: None,
    }
}
