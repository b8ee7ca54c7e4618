//! Asking memory early for what a decision is about to read.
//!
//! A dialer asks about a different consumer each time, in a book far bigger than the
//! caches, so a decision's cost at scale is mostly waiting for memory: the map's slot, then
//! the entry it points to, then the consumer's numbers and contacts behind the entry's own
//! pointers. Followed one after another, each of those waits for the one before it. Once
//! the entry's address is known, every other address is a single load away, so the book
//! asks for all of them at once ([`Book::with_subject`](super::Book::with_subject)), and
//! their waits overlap instead of adding up.
//!
//! Within one decision that still leaves a chain: the map's slot, then the entry, then
//! what is behind it. Across decisions there is none, so requests that arrive together
//! (a CanDial stream's burst, a CheckBatch) are prefetched together first
//! ([`Book::prefetch`](super::Book::prefetch)): every entry, then everything behind the
//! entries, and then they are decided one by one, each finding its memory on the way or
//! already there.
//!
//! Measured by `cargo bench --bench decision -- decision_across_book` (BENCHMARKS.md):
//! `any_consumer` one at a time, `sixteen_together` in bursts.

/// Starts loading the cache line holding `p` into every cache level, and returns at once.
///
/// Only a hint: it never faults, whatever `p` is, and reads nothing into the program. A
/// no-op off x86-64.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` is a hint the processor may ignore; it does not fault on any
    // address and has no effect the program can observe but timing. The only requirement of
    // the intrinsic is SSE, which every x86-64 processor has.
    #[allow(unsafe_code)]
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Starts loading every cache line of `*value`: a value smaller than a line may still
/// straddle two.
#[inline(always)]
pub fn prefetch_all<T>(value: &T) {
    let start: *const u8 = (value as *const T).cast();
    let size = size_of::<T>();
    for offset in (0..size).step_by(LINE) {
        prefetch(start.wrapping_add(offset));
    }
    prefetch(start.wrapping_add(size.saturating_sub(1)));
}

/// The cache line size of every x86-64 and most other processors.
const LINE: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_any_address_is_harmless() {
        prefetch(std::ptr::null::<u64>());
        prefetch(usize::MAX as *const u8);
        prefetch_all(&());
        prefetch_all(&[0u8; 1000]);
    }
}
