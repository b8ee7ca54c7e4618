//! A Do Not Call list in memory: millions of numbers in about four bytes each.
//!
//! A NANP number is its area code (200–999) and seven more digits, so a set keeps one
//! sorted `Vec<u32>` of seven-digit suffixes per area code: 4 bytes a number, a binary search
//! to look one up. Numbers outside the NANP (rare on these lists) go to a plain hash set.
//!
//! A set never changes once built: an import builds the list's next set beside the one
//! decisions read ([`Builder`]: numbers pushed unsorted, then each bucket sorted once), and
//! the list swaps to it whole — a decision sees the old list or the new, never half.

use std::collections::HashSet;

use crate::domain::PhoneNumber;

const FIRST_AREA: u16 = 200;
const AREAS: usize = 800;

#[derive(Default)]
pub struct DoNotCallSet {
    /// Index: area code − 200; sorted, without duplicates (empty: no such bucket yet).
    nanp: Vec<Vec<u32>>,
    other: HashSet<u64>,
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
            Some((bucket, suffix)) => self.nanp.get(bucket).is_some_and(|b| b.binary_search(&suffix).is_ok()),
            None => self.other.contains(&number.as_u64()),
        }
    }

    pub fn len(&self) -> usize {
        self.nanp.iter().map(Vec::len).sum::<usize>() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes the set holds.
    pub fn heap_bytes(&self) -> usize {
        let nanp: usize = self.nanp.iter().map(|b| b.capacity() * 4).sum();
        nanp + self.other.capacity() * 9 + self.nanp.capacity() * std::mem::size_of::<Vec<u32>>()
    }

    /// How many numbers this set and `other` both have.
    pub fn common(&self, other: &DoNotCallSet) -> usize {
        let nanp: usize = self
            .nanp
            .iter()
            .zip(&other.nanp)
            .map(|(a, b)| {
                let (mut i, mut j, mut n) = (0, 0, 0);
                while i < a.len() && j < b.len() {
                    match a[i].cmp(&b[j]) {
                        std::cmp::Ordering::Less => i += 1,
                        std::cmp::Ordering::Greater => j += 1,
                        std::cmp::Ordering::Equal => {
                            n += 1;
                            i += 1;
                            j += 1;
                        }
                    }
                }
                n
            })
            .sum();
        nanp + self.other.intersection(&other.other).count()
    }

    /// A builder holding this set's numbers, to add to or take from.
    pub fn to_builder(&self) -> Builder {
        Builder {
            nanp: self.nanp.clone(),
            other: self.other.clone(),
            removed: None,
            counted: Vec::new(),
        }
    }
}

/// A set being built: numbers pushed in any order, sorted once at the end.
#[derive(Debug, Default)]
pub struct Builder {
    nanp: Vec<Vec<u32>>,
    other: HashSet<u64>,
    /// Numbers to take out when built (a REMOVE), sorted then.
    removed: Option<Box<Builder>>,
    /// Numbers counted per area code ([`Builder::count`]), to reserve before pushing.
    counted: Vec<usize>,
}

impl Builder {
    /// Counts numbers that will be pushed, per area code.
    pub fn count(&mut self, numbers: &[PhoneNumber]) {
        if self.counted.is_empty() {
            self.counted = vec![0; AREAS];
        }
        for n in numbers {
            if let Some((bucket, _)) = split(*n) {
                self.counted[bucket] += 1;
            }
        }
    }

    /// Grows each area code's vector once, to what it holds plus what was counted: pushing
    /// the counted numbers then never doubles a vector, so a list being built takes no
    /// more than its numbers.
    pub fn reserve_counted(&mut self) {
        if self.counted.is_empty() {
            return;
        }
        if self.nanp.len() < AREAS {
            self.nanp.resize_with(AREAS, Vec::new);
        }
        for (bucket, extra) in std::mem::take(&mut self.counted).into_iter().enumerate() {
            self.nanp[bucket].reserve_exact(extra);
        }
    }

    pub fn push(&mut self, number: PhoneNumber) {
        match split(number) {
            Some((bucket, suffix)) => {
                if self.nanp.len() <= bucket {
                    self.nanp.resize_with(AREAS, Vec::new);
                }
                self.nanp[bucket].push(suffix);
            }
            None => {
                self.other.insert(number.as_u64());
            }
        }
    }

    /// Marks a number to take out when the set is built.
    pub fn remove(&mut self, number: PhoneNumber) {
        self.removed.get_or_insert_with(Box::default).push(number);
    }

    /// Applies the removals gathered so far, so later pushes add back what they name.
    pub fn settle(&mut self) {
        let Some(removed) = self.removed.take() else { return };
        let removed = removed.build();
        self.sort();
        for (bucket, gone) in removed.nanp.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
            if let Some(numbers) = self.nanp.get_mut(bucket) {
                numbers.retain(|n| gone.binary_search(n).is_err());
            }
        }
        self.other.retain(|n| !removed.other.contains(n));
    }

    fn sort(&mut self) {
        for bucket in &mut self.nanp {
            bucket.sort_unstable();
            bucket.dedup();
            bucket.shrink_to_fit();
        }
    }

    pub fn build(mut self) -> DoNotCallSet {
        self.settle();
        self.sort();
        DoNotCallSet {
            nanp: self.nanp,
            other: self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn numbers_added_in_chunks_are_found_and_others_are_not() {
        let mut b = Builder::default();
        for s in ["+15551234567", "+12125550100", "+442071838750"] {
            b.push(n(s));
        }
        let mut b = b.build().to_builder();
        for s in ["+15551234567", "+15550000000", "+19999999999"] {
            b.push(n(s));
        }
        let set = b.build();
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
        let mut b = Builder::default();
        for i in 0..200_000u64 {
            b.push(PhoneNumber::from_u64(12_000_000_000 + i * 37_123));
        }
        let set = b.build();
        assert_eq!(set.len(), 200_000);
        let per_number = set.heap_bytes() as f64 / 200_000.0;
        assert!(per_number < 4.5, "{per_number} bytes a number");
    }

    #[test]
    fn removals_take_numbers_out_and_later_additions_put_them_back() {
        let mut b = Builder::default();
        for s in ["+15551234567", "+12125550100", "+442071838750"] {
            b.push(n(s));
        }
        let set = b.build();
        let mut b = set.to_builder();
        b.remove(n("+15551234567"));
        b.remove(n("+442071838750"));
        b.remove(n("+13135550000"));
        let smaller = b.build();
        assert!(!smaller.contains(n("+15551234567")));
        assert!(!smaller.contains(n("+442071838750")));
        assert!(smaller.contains(n("+12125550100")));
        assert_eq!(smaller.len(), 1);
        assert_eq!(set.len(), 3, "the set decisions read is untouched");
        let mut b = smaller.to_builder();
        b.remove(n("+12125550100"));
        b.settle();
        b.push(n("+12125550100"));
        assert!(b.build().contains(n("+12125550100")), "a later ADD puts it back");
    }

    #[test]
    fn numbers_counted_before_they_are_pushed_take_exactly_their_room() {
        let numbers: Vec<PhoneNumber> = (0..100_000u64)
            .map(|i| PhoneNumber::from_u64(12_000_000_000 + i * 37_123))
            .collect();
        let mut b = Builder::default();
        b.count(&numbers);
        b.reserve_counted();
        let reserved: usize = b.nanp.iter().map(Vec::capacity).sum();
        for n in &numbers {
            b.push(*n);
        }
        let used: usize = b.nanp.iter().map(Vec::capacity).sum();
        assert_eq!((reserved, used), (100_000, 100_000), "no vector grew while pushing");
    }
}
