//! What several benches share: the process's resident set, and a spread of NANP numbers.

#![allow(dead_code)] // each bench uses its part

use predial::domain::PhoneNumber;

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
