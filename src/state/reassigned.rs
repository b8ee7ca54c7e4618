//! The Reassigned Numbers Database's answers in memory: twelve bytes an answer.
//!
//! The database covers NANP numbers only, so, as for a Do Not Call list, answers are kept
//! per area code (200–999): one sorted `Box<[u64]>` of keys — the number's seven-digit
//! suffix (24 bits), the day asked (16 bits, days from 2000) and the answer (8 bits) — and
//! beside it a `Box<[u32]>` of when each was checked (seconds from 2000). A number's
//! answers sit together, by date asked; a lookup is a binary search in its area code.
//!
//! Each area code's answers are swapped whole ([`ArcSwap`]) when a chunk of an import is
//! merged in — by the commit thread, on every node, as the write lands — so a decision
//! reads without a lock, and memory holds each answer once (plus, while one area code is
//! merged, that area code's answers twice).

use arc_swap::ArcSwap;
use chrono::{Days, NaiveDate};
use smallvec::SmallVec;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::PhoneNumber;
use crate::domain::reassigned::{Answer, AnswerKind, EPOCH, ReassignedAnswer, checked_instant, checked_seconds};

const FIRST_AREA: u16 = 200;
const AREAS: usize = 800;

/// The answers a lookup finds for one number: inline up to two (no allocation).
pub type Found = SmallVec<[Answer; 2]>;

/// One area code's answers, sorted by key.
#[derive(Debug, Default)]
struct Bucket {
    keys: Box<[u64]>,
    checked: Box<[u32]>,
}

/// Every answer kept.
#[derive(Debug)]
pub struct ReassignedAnswers {
    buckets: Box<[ArcSwap<Bucket>]>,
    len: AtomicUsize,
}

impl Default for ReassignedAnswers {
    fn default() -> Self {
        ReassignedAnswers {
            buckets: (0..AREAS).map(|_| ArcSwap::from_pointee(Bucket::default())).collect(),
            len: AtomicUsize::new(0),
        }
    }
}

/// (bucket, suffix) of a NANP number.
fn split(number: PhoneNumber) -> Option<(usize, u64)> {
    let area = number.nanp_area_code()?;
    Some(((area - FIRST_AREA) as usize, number.as_u64() % 10_000_000))
}

fn kind_code(kind: AnswerKind) -> u64 {
    match kind {
        AnswerKind::Yes => 1,
        AnswerKind::No => 2,
        AnswerKind::NoData => 3,
    }
}

/// An answer's key: suffix, day asked, answer — in that order, so keys sort by number and
/// then by date asked.
fn pack(suffix: u64, answer: &Answer) -> u64 {
    let day = (answer.as_of - EPOCH).num_days().clamp(0, u16::MAX as i64) as u64;
    suffix << 40 | day << 8 | kind_code(answer.kind)
}

/// The number and date asked a key is about: two keys with the same identity are answers
/// to the same question, and the later replaces the earlier.
fn identity(key: u64) -> u64 {
    key >> 8
}

fn unpack(key: u64, checked: u32) -> Answer {
    let day = (key >> 8) & 0xFFFF;
    Answer {
        as_of: EPOCH.checked_add_days(Days::new(day)).unwrap_or(NaiveDate::MAX),
        kind: match key & 0xFF {
            1 => AnswerKind::Yes,
            2 => AnswerKind::No,
            _ => AnswerKind::NoData,
        },
        checked_at: checked_instant(checked),
    }
}

impl ReassignedAnswers {
    /// The answers kept about `number`, by date asked.
    pub fn of(&self, number: PhoneNumber) -> Found {
        let mut found = Found::new();
        // Nothing imported: no search (what most decisions see until a first import).
        // Acquire: a count the merge published after its area codes means they are seen.
        if self.len.load(Ordering::Acquire) == 0 {
            return found;
        }
        let Some((bucket, suffix)) = split(number) else {
            return found;
        };
        let b = self.buckets[bucket].load();
        let start = b.keys.partition_point(|k| k >> 40 < suffix);
        for (key, checked) in b.keys[start..].iter().zip(&b.checked[start..]) {
            if key >> 40 != suffix {
                break;
            }
            found.push(unpack(*key, *checked));
        }
        found
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes the answers hold.
    pub fn heap_bytes(&self) -> usize {
        let per_bucket = size_of::<ArcSwap<Bucket>>() + size_of::<Bucket>() + 2 * size_of::<usize>();
        self.buckets
            .iter()
            .map(|b| {
                let b = b.load();
                per_bucket + b.keys.len() * 8 + b.checked.len() * 4
            })
            .sum()
    }

    /// Merges answers in: one for a number and date not kept is added; one for a number
    /// and date kept replaces it unless the kept one was checked later. Commit thread (or
    /// start-up) only: two merges at once would lose one's answers.
    pub fn merge(&self, answers: &[ReassignedAnswer]) {
        let mut incoming: Vec<(usize, u64, u32)> = answers
            .iter()
            .filter_map(|a| {
                let (bucket, suffix) = split(a.number)?;
                Some((bucket, pack(suffix, &a.answer), checked_seconds(a.answer.checked_at)))
            })
            .collect();
        // By bucket and question, the latest check last (so it is the one kept).
        incoming.sort_unstable_by_key(|(bucket, key, checked)| (*bucket, identity(*key), *checked));
        incoming.dedup_by(|later, earlier| {
            let same = later.0 == earlier.0 && identity(later.1) == identity(earlier.1);
            if same {
                *earlier = *later;
            }
            same
        });
        let mut added = 0;
        for run in incoming.chunk_by(|a, b| a.0 == b.0) {
            let bucket = &self.buckets[run[0].0];
            let old = bucket.load_full();
            let (merged, new) = merge_bucket(&old, run);
            added += new;
            bucket.store(Arc::new(merged));
        }
        self.len.fetch_add(added, Ordering::Release);
    }
}

/// Every chunk read back at start-up, in the order written: each area code's answers
/// gathered, then sorted once and merged by the rule a live merge follows (the later
/// check stands; of two at the same instant, the one written later).
#[derive(Debug)]
pub struct Loader {
    answers: Vec<Vec<(u64, u32)>>,
}

impl Default for Loader {
    fn default() -> Self {
        Loader {
            answers: vec![Vec::new(); AREAS],
        }
    }
}

impl Loader {
    /// Adds a chunk written after every one pushed before.
    pub fn push(&mut self, answers: &[ReassignedAnswer]) {
        for a in answers {
            if let Some((bucket, suffix)) = split(a.number) {
                self.answers[bucket].push((pack(suffix, &a.answer), checked_seconds(a.answer.checked_at)));
            }
        }
    }
}

impl ReassignedAnswers {
    /// Replaces every answer with the loader's.
    pub fn install(&self, loader: Loader) {
        let mut len = 0;
        for (bucket, mut answers) in self.buckets.iter().zip(loader.answers) {
            // Stable: of two checks at the same instant the one written later stays later.
            answers.sort_by_key(|(key, checked)| (identity(*key), *checked));
            let mut keys = Vec::with_capacity(answers.len());
            let mut checked = Vec::with_capacity(answers.len());
            for (i, (key, at)) in answers.iter().enumerate() {
                let superseded = answers
                    .get(i + 1)
                    .is_some_and(|(next, _)| identity(*next) == identity(*key));
                if !superseded {
                    keys.push(*key);
                    checked.push(*at);
                }
            }
            len += keys.len();
            bucket.store(Arc::new(Bucket {
                keys: keys.into_boxed_slice(),
                checked: checked.into_boxed_slice(),
            }));
        }
        self.len.store(len, Ordering::Release);
    }
}

/// `old` with `incoming` (one bucket's, sorted by identity, one per identity) merged in;
/// and how many answers are new.
fn merge_bucket(old: &Bucket, incoming: &[(usize, u64, u32)]) -> (Bucket, usize) {
    let mut keys = Vec::with_capacity(old.keys.len() + incoming.len());
    let mut checked = Vec::with_capacity(keys.capacity());
    let (mut i, mut new) = (0, 0);
    for &(_, key, at) in incoming {
        while i < old.keys.len() && identity(old.keys[i]) < identity(key) {
            keys.push(old.keys[i]);
            checked.push(old.checked[i]);
            i += 1;
        }
        if i < old.keys.len() && identity(old.keys[i]) == identity(key) {
            // The same question: the later check stands (the incoming one on a tie).
            if old.checked[i] > at {
                keys.push(old.keys[i]);
                checked.push(old.checked[i]);
            } else {
                keys.push(key);
                checked.push(at);
            }
            i += 1;
        } else {
            keys.push(key);
            checked.push(at);
            new += 1;
        }
    }
    keys.extend_from_slice(&old.keys[i..]);
    checked.extend_from_slice(&old.checked[i..]);
    let bucket = Bucket {
        keys: keys.into_boxed_slice(),
        checked: checked.into_boxed_slice(),
    };
    (bucket, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn answer(number: &str, as_of: &str, kind: AnswerKind, checked: &str) -> ReassignedAnswer {
        ReassignedAnswer {
            number: PhoneNumber::parse(number).unwrap(),
            answer: Answer {
                as_of: as_of.parse().unwrap(),
                kind,
                checked_at: checked.parse::<DateTime<Utc>>().unwrap(),
            },
        }
    }

    #[test]
    fn a_number_finds_its_answers_by_date_asked_and_no_other_numbers() {
        let kept = ReassignedAnswers::default();
        kept.merge(&[
            answer("+12015550124", "2025-01-01", AnswerKind::No, "2026-11-01T00:00:00Z"),
            answer("+12015550123", "2025-06-01", AnswerKind::Yes, "2026-11-02T00:00:00Z"),
            answer("+12015550123", "2025-01-01", AnswerKind::No, "2026-10-01T00:00:00Z"),
            answer("+13015550123", "2025-01-01", AnswerKind::NoData, "2026-10-01T00:00:00Z"),
        ]);
        let found = kept.of(PhoneNumber::parse("+12015550123").unwrap());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].as_of.to_string(), "2025-01-01");
        assert_eq!(found[0].kind, AnswerKind::No);
        assert_eq!(found[1].kind, AnswerKind::Yes);
        assert_eq!(found[1].checked_at.to_rfc3339(), "2026-11-02T00:00:00+00:00");
        assert!(kept.of(PhoneNumber::parse("+12015550125").unwrap()).is_empty());
        assert_eq!(kept.len(), 4);
    }

    #[test]
    fn a_later_check_of_the_same_question_replaces_an_earlier_one_and_never_the_reverse() {
        let kept = ReassignedAnswers::default();
        let n = PhoneNumber::parse("+12015550123").unwrap();
        kept.merge(&[answer(
            "+12015550123",
            "2025-01-01",
            AnswerKind::No,
            "2026-10-01T00:00:00Z",
        )]);
        kept.merge(&[answer(
            "+12015550123",
            "2025-01-01",
            AnswerKind::Yes,
            "2026-11-01T00:00:00Z",
        )]);
        assert_eq!(kept.of(n)[0].kind, AnswerKind::Yes);
        kept.merge(&[answer(
            "+12015550123",
            "2025-01-01",
            AnswerKind::No,
            "2026-09-01T00:00:00Z",
        )]);
        assert_eq!(
            kept.of(n)[0].kind,
            AnswerKind::Yes,
            "an older check does not replace a newer one"
        );
        // Within one chunk too, the later check wins, whatever the order sent.
        kept.merge(&[
            answer("+12015550123", "2025-01-01", AnswerKind::NoData, "2026-11-20T00:00:00Z"),
            answer("+12015550123", "2025-01-01", AnswerKind::No, "2026-11-10T00:00:00Z"),
        ]);
        assert_eq!(kept.of(n).as_slice().len(), 1);
        assert_eq!(kept.of(n)[0].kind, AnswerKind::NoData);
        assert_eq!(kept.len(), 1);
    }

    #[test]
    fn chunks_loaded_in_the_order_written_keep_what_merging_them_live_kept() {
        let answers = [
            answer("+13015550123", "2025-01-01", AnswerKind::NoData, "2026-10-01T00:00:00Z"),
            answer("+12015550123", "2025-06-01", AnswerKind::Yes, "2026-11-02T00:00:00Z"),
            answer("+12015550123", "2025-01-01", AnswerKind::No, "2026-10-01T00:00:00Z"),
            answer("+12015550124", "2025-01-01", AnswerKind::No, "2026-11-01T00:00:00Z"),
            // The same question again: an older check (stays replaced), a later one (replaces),
            // and one at the same instant written later (replaces too).
            answer("+12015550123", "2025-06-01", AnswerKind::No, "2026-09-02T00:00:00Z"),
            answer("+12015550124", "2025-01-01", AnswerKind::Yes, "2026-11-05T00:00:00Z"),
            answer("+13015550123", "2025-01-01", AnswerKind::No, "2026-10-01T00:00:00Z"),
        ];
        let (merged, loaded) = (ReassignedAnswers::default(), ReassignedAnswers::default());
        let mut loader = Loader::default();
        for chunk in answers.chunks(2) {
            merged.merge(chunk);
            loader.push(chunk);
        }
        loaded.install(loader);
        assert_eq!((loaded.len(), merged.len()), (4, 4));
        let n = |text: &str| PhoneNumber::parse(text).unwrap();
        assert_eq!(loaded.of(n("+12015550123"))[1].kind, AnswerKind::Yes);
        assert_eq!(loaded.of(n("+12015550124"))[0].kind, AnswerKind::Yes);
        assert_eq!(loaded.of(n("+13015550123"))[0].kind, AnswerKind::No);
        for a in &answers {
            assert_eq!(loaded.of(a.number), merged.of(a.number));
        }
    }

    #[test]
    fn an_answer_costs_twelve_bytes_and_a_little_per_area_code() {
        let kept = ReassignedAnswers::default();
        let empty = kept.heap_bytes();
        let answers: Vec<_> = (0..100_000u64)
            .map(|i| {
                let number = format!("+1{}", 2_005_550_000 + i * 7_919 % 7_999_999_999);
                answer(&number, "2025-01-01", AnswerKind::No, "2026-11-01T00:00:00Z")
            })
            .collect();
        kept.merge(&answers);
        assert_eq!(kept.heap_bytes() - empty, kept.len() * 12);
    }
}
