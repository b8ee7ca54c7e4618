//! Answers of the Reassigned Numbers Database in the layout: one record per chunk of an
//! import (`f` + sequence number, see [`keys`](super::keys)), its answers packed 21 bytes
//! each — number (8), day asked (4, days from 1970), answer (1: 1 YES, 2 NO, 3 NO_DATA),
//! when checked (8, ms) — so an import of ten million answers is two hundred writes, not
//! ten million keys for the store to index and cache.
//!
//! Chunks are never rewritten: which answer stands for a number and day asked (the one
//! checked last; of two checked at the same instant, the one written last) is decided
//! when memory merges them — as each chunk lands, and at start-up over every chunk in the
//! order written — by the same rule both times.

use chrono::{DateTime, Days, NaiveDate};

use super::Kv;
use super::keys::{META, REASSIGNED, corrupt, key};
use super::staging::Staging;
use crate::domain::PhoneNumber;
use crate::domain::reassigned::{Answer, AnswerKind, ReassignedAnswer};
use crate::store::StoreError;

/// The counter that numbers the chunks.
pub(crate) const REASSIGNED_SEQ: &str = "reassigned-seq";

/// Bytes an answer takes in a chunk.
const PACKED: usize = 21;

fn unix_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")
}

/// A chunk's answers, 21 bytes each (the store's record, and the change feed's).
pub(crate) fn pack(answers: &[ReassignedAnswer]) -> Vec<u8> {
    let mut v = Vec::with_capacity(answers.len() * PACKED);
    for a in answers {
        v.extend_from_slice(&a.number.as_u64().to_be_bytes());
        v.extend_from_slice(&((a.answer.as_of - unix_day()).num_days() as u32).to_be_bytes());
        v.push(match a.answer.kind {
            AnswerKind::Yes => 1,
            AnswerKind::No => 2,
            AnswerKind::NoData => 3,
        });
        v.extend_from_slice(&a.answer.checked_at.timestamp_millis().to_be_bytes());
    }
    v
}

/// A chunk's answers; `k` names the record in an error.
pub(crate) fn unpack(k: &[u8], v: &[u8]) -> Result<Vec<ReassignedAnswer>, StoreError> {
    if v.len() % PACKED != 0 {
        return Err(corrupt(k, "a chunk of answers is not whole"));
    }
    v.chunks_exact(PACKED)
        .map(|a| {
            let number = PhoneNumber::from_u64(u64::from_be_bytes(a[0..8].try_into().expect("8 bytes")));
            let day = u32::from_be_bytes(a[8..12].try_into().expect("4 bytes"));
            let as_of = unix_day()
                .checked_add_days(Days::new(u64::from(day)))
                .ok_or_else(|| corrupt(k, "a day out of range"))?;
            let kind = match a[12] {
                1 => AnswerKind::Yes,
                2 => AnswerKind::No,
                3 => AnswerKind::NoData,
                _ => return Err(corrupt(k, "an unknown answer")),
            };
            let ms = i64::from_be_bytes(a[13..21].try_into().expect("8 bytes"));
            let checked_at = DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(k, "a bad time"))?;
            Ok(ReassignedAnswer {
                number,
                answer: Answer {
                    as_of,
                    kind,
                    checked_at,
                },
            })
        })
        .collect()
}

/// Stages a chunk of answers as the next record.
pub fn stage(answers: &[ReassignedAnswer], st: &mut Staging) -> Result<(), StoreError> {
    let seq = st.next_counter(key(META, REASSIGNED_SEQ))?;
    let mut k = vec![REASSIGNED];
    k.extend_from_slice(&seq.to_be_bytes());
    st.put(k, pack(answers));
    Ok(())
}

/// Every chunk, in the order written.
pub fn for_each<K: Kv>(kv: &K, f: &mut dyn FnMut(&[ReassignedAnswer])) -> Result<(), StoreError> {
    kv.scan(&[REASSIGNED], &mut |k, v| {
        f(&unpack(k.as_ref(), v.as_ref())?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_reads_back_as_written() {
        let answers: Vec<ReassignedAnswer> = [(AnswerKind::Yes, "2025-03-01"), (AnswerKind::NoData, "2021-11-01")]
            .iter()
            .enumerate()
            .map(|(i, (kind, day))| ReassignedAnswer {
                number: PhoneNumber::from_u64(12_015_550_123 + i as u64),
                answer: Answer {
                    as_of: day.parse().unwrap(),
                    kind: *kind,
                    checked_at: DateTime::from_timestamp_millis(1_795_183_380_123).unwrap(),
                },
            })
            .collect();
        let packed = pack(&answers);
        assert_eq!(packed.len(), 2 * PACKED);
        assert_eq!(unpack(b"f", &packed).unwrap(), answers);
        assert!(unpack(b"f", &packed[1..]).is_err());
    }
}
