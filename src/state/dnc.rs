//! The Do Not Call set: millions of numbers in about four bytes each.
//!
//! A NANP number is its area code (200–999) and seven more digits, so the set keeps one
//! sorted `Vec<u32>` of seven-digit suffixes per area code: 4 bytes a number, a binary search
//! to look one up. Imports arrive in chunks; each chunk is sorted and merged into the
//! buckets it touches. Numbers outside the NANP (rare on these lists) go to a plain hash set.

use std::collections::HashSet;
use std::sync::RwLock;

use crate::domain::PhoneNumber;

const FIRST_AREA: u16 = 200;
const AREAS: usize = 800;

pub struct DoNotCallSet {
    /// Index: area code − 200; sorted, without duplicates.
    nanp: Vec<RwLock<Vec<u32>>>,
    other: RwLock<HashSet<u64>>,
}

impl Default for DoNotCallSet {
    fn default() -> Self {
        DoNotCallSet {
            nanp: (0..AREAS).map(|_| RwLock::new(Vec::new())).collect(),
            other: RwLock::default(),
        }
    }
}

impl std::fmt::Debug for DoNotCallSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DoNotCallSet({} numbers)", self.len())
    }
}

/// (bucket, suffix) of a NANP number.
fn split(number: PhoneNumber) -> Option<(usize, u32)> {
    let area = number.nanp_area_code()?;
    let suffix = (number.as_u64() % 10_000_000) as u32;
    Some(((area - FIRST_AREA) as usize, suffix))
}

impl DoNotCallSet {
    pub fn contains(&self, number: PhoneNumber) -> bool {
        match split(number) {
            Some((bucket, suffix)) => self.nanp[bucket]
                .read()
                .expect("dnc lock")
                .binary_search(&suffix)
                .is_ok(),
            None => self.other.read().expect("dnc lock").contains(&number.as_u64()),
        }
    }

    /// Adds numbers (duplicates and numbers already present are fine).
    pub fn extend(&self, numbers: &[PhoneNumber]) {
        let mut by_bucket: Vec<Vec<u32>> = vec![Vec::new(); AREAS];
        let mut other = Vec::new();
        for n in numbers {
            match split(*n) {
                Some((bucket, suffix)) => by_bucket[bucket].push(suffix),
                None => other.push(n.as_u64()),
            }
        }
        for (bucket, mut new) in by_bucket.into_iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            new.sort_unstable();
            new.dedup();
            let merged = {
                let current = self.nanp[bucket].read().expect("dnc lock");
                merge(&current, &new)
            };
            *self.nanp[bucket].write().expect("dnc lock") = merged;
        }
        if !other.is_empty() {
            self.other.write().expect("dnc lock").extend(other);
        }
    }

    pub fn len(&self) -> usize {
        self.nanp
            .iter()
            .map(|b| b.read().expect("dnc lock").len())
            .sum::<usize>()
            + self.other.read().expect("dnc lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes the set holds.
    pub fn heap_bytes(&self) -> usize {
        let nanp: usize = self
            .nanp
            .iter()
            .map(|b| b.read().expect("dnc lock").capacity() * 4)
            .sum();
        let other = self.other.read().expect("dnc lock").capacity() * 9;
        nanp + other + AREAS * std::mem::size_of::<RwLock<Vec<u32>>>()
    }
}

/// The sorted union of two sorted, duplicate-free lists, sized exactly.
fn merge(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out.shrink_to_fit();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn numbers_added_in_chunks_are_found_and_others_are_not() {
        let set = DoNotCallSet::default();
        set.extend(&[n("+15551234567"), n("+12125550100"), n("+442071838750")]);
        set.extend(&[n("+15551234567"), n("+15550000000"), n("+19999999999")]);
        for listed in [
            "+15551234567",
            "+12125550100",
            "+442071838750",
            "+15550000000",
            "+19999999999",
        ] {
            assert!(set.contains(n(listed)), "{listed}");
        }
        for not in ["+15551234568", "+12125550101", "+442071838751", "+12005551234"] {
            assert!(!set.contains(n(not)), "{not}");
        }
        assert_eq!(set.len(), 5);
    }

    #[test]
    fn a_number_takes_about_four_bytes() {
        let set = DoNotCallSet::default();
        let numbers: Vec<PhoneNumber> = (0..200_000u64)
            .map(|i| PhoneNumber::from_u64(12_000_000_000 + i * 37_123))
            .collect();
        set.extend(&numbers);
        assert_eq!(set.len(), 200_000);
        let per_number = set.heap_bytes() as f64 / 200_000.0;
        assert!(per_number < 4.5, "{per_number} bytes a number");
    }
}
