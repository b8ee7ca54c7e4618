//! Reading the key-value layout back: what the [`Store`](crate::store::Store) trait's reads
//! answer, for any backend that can get a key and scan a prefix in key order ([`Kv`]).

use chrono::{DateTime, Utc};

use super::Kv;
use super::keys::*;
use super::leases::{lease_at, packed_ids, unsettled_of};
use crate::domain::audit::AuditNote;
use crate::domain::callback::Callback;
use crate::domain::do_not_call::{DEFAULT_LIST, ImportRef, StoredList};
use crate::domain::lease::{AttemptId, Lease, LeaseState};
use crate::domain::programs::{Program, ProgramNumber};
use crate::domain::prompt::Prompt;
use crate::domain::{Consumer, Contact, Exclusions, History, PhoneNumber, RuleSet};
use crate::proto::convert::{consumer_from, contact_from, program_from, required_enum, rule_set_from_record};
use crate::proto::v1 as pb;
use crate::store::StoreError;
use crate::store::records::{
    CallbackRecord, ConsentRecord, DncListRecord, ExclusionRecord, NoteRecord, OptOutRecord, ProgramNumberRecord,
    PromptRecord,
};

/// A point read of `kv`, as the lease helpers take it.
fn getter<K: Kv>(kv: &K) -> impl Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError> + '_ {
    move |k| Ok(kv.get(k)?.map(|v| v.as_ref().to_vec()))
}

pub fn consumer<K: Kv>(kv: &K, id: &str) -> Result<Option<Consumer>, StoreError> {
    let k = key(CONSUMER, id);
    let Some(v) = kv.get(&k)? else { return Ok(None) };
    consumer_from(&decode::<pb::Consumer>(&k, v.as_ref())?)
        .map(Some)
        .map_err(|e| corrupt(&k, e))
}

pub fn for_each_consumer<K: Kv>(kv: &K, f: &mut dyn FnMut(Consumer)) -> Result<(), StoreError> {
    kv.scan(&[CONSUMER], &mut |k, v| {
        f(consumer_from(&decode::<pb::Consumer>(k.as_ref(), v.as_ref())?).map_err(|e| corrupt(k.as_ref(), e))?);
        Ok(())
    })
}

/// A page of consumers in id order (bytewise) after the id `after` (none: from the
/// first), those `keep` admits, at most `limit`.
pub fn consumers_page<K: Kv>(
    kv: &K,
    after: Option<&str>,
    limit: usize,
    keep: &dyn Fn(&Consumer) -> bool,
) -> Result<Vec<Consumer>, StoreError> {
    let mut from = vec![CONSUMER];
    if let Some(after) = after {
        // The first key past `after`'s: the same bytes and a zero.
        from.extend_from_slice(after.as_bytes());
        from.push(0);
    }
    let mut page = Vec::new();
    if limit == 0 {
        return Ok(page);
    }
    kv.scan_from(&[CONSUMER], &from, &mut |k, v| {
        let c = consumer_from(&decode::<pb::Consumer>(k.as_ref(), v.as_ref())?).map_err(|e| corrupt(k.as_ref(), e))?;
        if keep(&c) {
            page.push(c);
        }
        Ok(page.len() < limit)
    })?;
    Ok(page)
}

/// Every consumer with contacts, once, with the history memory keeps of it.
///
/// Keys sort by consumer, then time: one consumer's contacts are contiguous and oldest
/// first. A forward scan keeps the run's raw values until its newest contact sets the
/// reach, then decodes only those within it.
pub fn for_each_recent_history<K: Kv>(
    kv: &K,
    reach_ms: i64,
    f: &mut dyn FnMut(&str, History),
) -> Result<(), StoreError> {
    let mut prefix: Vec<u8> = Vec::new();
    let mut run: Vec<(i64, K::Bytes, K::Bytes)> = Vec::new();
    let hand_over = |prefix: &[u8], run: &mut Vec<(i64, K::Bytes, K::Bytes)>, f: &mut dyn FnMut(&str, History)| {
        let Some(newest) = run.last().map(|(at, ..)| *at) else {
            return Ok(());
        };
        let horizon = newest.saturating_sub(reach_ms);
        let first = run.partition_point(|(at, ..)| *at < horizon);
        let mut recs = Vec::with_capacity(run.len() - first);
        for (at, k, v) in &run[first..] {
            recs.push(contact_rec(*at, k.as_ref(), v.as_ref())?);
        }
        let complete_from = if first > 0 { horizon } else { i64::MIN };
        f(
            &String::from_utf8_lossy(&prefix[3..]),
            History::from_unsorted(recs, complete_from),
        );
        run.clear();
        Ok::<(), StoreError>(())
    };
    kv.scan(&[HISTORY], &mut |k, v| {
        let key_bytes = k.as_ref();
        let at = history_key_time(key_bytes).ok_or_else(|| corrupt(key_bytes, "malformed history key"))?;
        let prefix_len = 3 + u16::from_be_bytes([key_bytes[1], key_bytes[2]]) as usize;
        if prefix.as_slice() != &key_bytes[..prefix_len] {
            hand_over(&prefix, &mut run, f)?;
            prefix.clear();
            prefix.extend_from_slice(&key_bytes[..prefix_len]);
        }
        run.push((at, k, v));
        Ok(())
    })?;
    hand_over(&prefix, &mut run, f)
}

pub fn contacts_of<K: Kv>(kv: &K, consumer_id: &str, f: &mut dyn FnMut(Contact)) -> Result<(), StoreError> {
    kv.scan(&history_prefix(consumer_id), &mut |k, v| {
        let event = decode::<pb::ContactEvent>(k.as_ref(), v.as_ref())?;
        f(contact_from(&event, Utc::now()).map_err(|e| corrupt(k.as_ref(), e))?);
        Ok(())
    })
}

/// Every rule-set version ever put, compiled, in version order.
pub fn for_each_rule_set<K: Kv>(kv: &K, f: &mut dyn FnMut(RuleSet)) -> Result<(), StoreError> {
    kv.scan(&[RULES], &mut |k, v| {
        let stored = decode::<pb::RuleSet>(k.as_ref(), v.as_ref())?;
        f(rule_set_from_record(&stored).map_err(|e| corrupt(k.as_ref(), e))?);
        Ok(())
    })
}

pub fn for_each_exclusions<K: Kv>(kv: &K, f: &mut dyn FnMut(String, Exclusions)) -> Result<(), StoreError> {
    kv.scan(&[EXCLUSIONS], &mut |k, v| {
        let record: ExclusionRecord = decode(k.as_ref(), v.as_ref())?;
        f(
            String::from_utf8_lossy(&k.as_ref()[1..]).into_owned(),
            record.to_domain(),
        );
        Ok(())
    })
}

pub fn for_each_opt_out<K: Kv>(
    kv: &K,
    f: &mut dyn FnMut(PhoneNumber, crate::domain::OptOut),
) -> Result<(), StoreError> {
    kv.scan(&[OPT_OUT], &mut |k, v| {
        let number = key_number(k.as_ref(), 1)?;
        let record: OptOutRecord = decode(k.as_ref(), v.as_ref())?;
        f(number, record.to_domain());
        Ok(())
    })
}

pub fn for_each_callback<K: Kv>(kv: &K, f: &mut dyn FnMut(Callback)) -> Result<(), StoreError> {
    kv.scan(&[CALLBACK], &mut |k, v| {
        f(decode::<CallbackRecord>(k.as_ref(), v.as_ref())?.to_domain());
        Ok(())
    })
}

pub fn for_each_program<K: Kv>(kv: &K, f: &mut dyn FnMut(Program)) -> Result<(), StoreError> {
    kv.scan(&[PROGRAM], &mut |k, v| {
        f(program_from(&decode::<pb::Program>(k.as_ref(), v.as_ref())?).map_err(|e| corrupt(k.as_ref(), e))?);
        Ok(())
    })
}

pub fn for_each_program_number<K: Kv>(kv: &K, f: &mut dyn FnMut(String, ProgramNumber)) -> Result<(), StoreError> {
    kv.scan(&[PROGRAM_NUMBER], &mut |k, v| {
        let number = key_number(k.as_ref(), 1)?;
        let record: ProgramNumberRecord = decode(k.as_ref(), v.as_ref())?;
        let purpose = required_enum(record.call_purpose, "call_purpose").map_err(|e| corrupt(k.as_ref(), e))?;
        f(record.program_id, ProgramNumber { number, purpose });
        Ok(())
    })
}

/// Every Do Not Call list; the numbers stored before lists had names are the default
/// list's, until a REPLACE of it.
pub fn do_not_call_lists<K: Kv>(kv: &K) -> Result<Vec<StoredList>, StoreError> {
    let mut lists = Vec::new();
    kv.scan(&[DNC_LIST], &mut |k, v| {
        lists.push(decode::<DncListRecord>(k.as_ref(), v.as_ref())?.to_domain());
        Ok(())
    })?;
    let legacy = kv.get(&key(META, LEGACY_DNC_SEQ))?.is_some();
    if legacy && !lists.iter().any(|l| l.name == DEFAULT_LIST) {
        lists.push(StoredList {
            name: DEFAULT_LIST.to_string(),
            base: None,
            deltas: Vec::new(),
            legacy: true,
            numbers: 0,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        });
        lists.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(lists)
}

/// The numbers of one import (`None`: the chunks stored before lists had names).
pub fn do_not_call_numbers<K: Kv>(
    kv: &K,
    import: Option<ImportRef>,
    f: &mut dyn FnMut(&[PhoneNumber]),
) -> Result<(), StoreError> {
    match import {
        Some(import) => {
            for chunk in 0..import.chunks {
                let k = dnc_chunk_key(import.import_id, chunk);
                let v = kv
                    .get(&k)?
                    .ok_or_else(|| corrupt(&k, "a chunk of a committed import is missing"))?;
                f(&dnc_numbers(&k, v.as_ref())?);
            }
            Ok(())
        }
        None => kv.scan(&[DO_NOT_CALL], &mut |k, v| {
            if k.as_ref().len() == 9 {
                f(&dnc_numbers(k.as_ref(), v.as_ref())?);
            }
            Ok(())
        }),
    }
}

pub fn for_each_consent<K: Kv>(kv: &K, f: &mut dyn FnMut(String, PhoneNumber)) -> Result<(), StoreError> {
    kv.scan(&[CONSENT], &mut |k, v| {
        let k = k.as_ref();
        let record: ConsentRecord = decode(k, v.as_ref())?;
        let len = u16::from_be_bytes([k[1], k[2]]) as usize;
        let number = key_number(k, 3 + len)?;
        if record.telemarketing {
            f(String::from_utf8_lossy(&k[3..3 + len]).into_owned(), number);
        }
        Ok(())
    })
}

pub fn for_each_unsettled_lease<K: Kv>(kv: &K, f: &mut dyn FnMut(Lease)) -> Result<(), StoreError> {
    let get = getter(kv);
    kv.scan(&[UNSETTLED], &mut |k, v| {
        // Validate the packed list before following it.
        packed_ids(k.as_ref(), v.as_ref())?;
        for lease in unsettled_of(&get, &String::from_utf8_lossy(&k.as_ref()[1..]))? {
            f(lease);
        }
        Ok(())
    })
}

pub fn unsettled_leases_of<K: Kv>(kv: &K, consumer_id: &str) -> Result<Vec<Lease>, StoreError> {
    unsettled_of(&getter(kv), consumer_id)
}

pub fn lease<K: Kv>(kv: &K, id: AttemptId) -> Result<Option<(Lease, LeaseState)>, StoreError> {
    lease_at(&getter(kv), id)
}

pub fn consumers_with<K: Kv>(kv: &K, phone: PhoneNumber) -> Result<Vec<String>, StoreError> {
    let prefix = number_key(NUMBER_INDEX, phone);
    let mut ids = Vec::new();
    kv.scan(&prefix, &mut |k, _| {
        ids.push(String::from_utf8_lossy(&k.as_ref()[prefix.len()..]).into_owned());
        Ok(())
    })?;
    Ok(ids)
}

pub fn prompt<K: Kv>(kv: &K, token: &str) -> Result<Option<Prompt>, StoreError> {
    let k = key(PROMPT, token);
    Ok(match kv.get(&k)? {
        Some(v) => Some(
            decode::<PromptRecord>(&k, v.as_ref())?
                .to_domain()
                .ok_or_else(|| corrupt(&k, "a prompt record is not whole"))?,
        ),
        None => None,
    })
}

pub fn notes_of<K: Kv>(kv: &K, consumer_id: &str) -> Result<Vec<AuditNote>, StoreError> {
    let mut notes = Vec::new();
    kv.scan(&length_prefixed(NOTE, consumer_id), &mut |k, v| {
        let record: NoteRecord = decode(k.as_ref(), v.as_ref())?;
        notes.push(
            record
                .to_domain()
                .ok_or_else(|| corrupt(k.as_ref(), "unknown note kind"))?,
        );
        Ok(())
    })?;
    Ok(notes)
}

/// A page of notes in id order after note `after`: one consumer's, or (none) every note;
/// those `keep` admits, at most `limit`. Ids only grow, so a page that starts after the
/// last id of the one before sees no note twice and skips none, whatever is written
/// meanwhile.
pub fn notes_page<K: Kv>(
    kv: &K,
    consumer_id: Option<&str>,
    after: u64,
    limit: usize,
    keep: &dyn Fn(&AuditNote) -> bool,
) -> Result<Vec<AuditNote>, StoreError> {
    let prefix = match consumer_id {
        Some(id) => length_prefixed(NOTE, id),
        None => vec![NOTE_LOG],
    };
    let mut from = prefix.clone();
    from.extend_from_slice(&after.saturating_add(1).to_be_bytes());
    let mut notes = Vec::new();
    if limit == 0 {
        return Ok(notes);
    }
    kv.scan_from(&prefix, &from, &mut |k, v| {
        let record: NoteRecord = decode(k.as_ref(), v.as_ref())?;
        let note = record
            .to_domain()
            .ok_or_else(|| corrupt(k.as_ref(), "unknown note kind"))?;
        if keep(&note) {
            notes.push(note);
        }
        Ok(notes.len() < limit)
    })?;
    Ok(notes)
}

/// The [`Store`](crate::store::Store) trait's reads, answered from the layout through `self.$kv()`
/// (a method giving a [`Kv`]): every key-value backend's readers are these, word for word.
macro_rules! kv_reads {
    ($kv:ident) => {
        fn consumer(&self, id: &str) -> Result<Option<$crate::domain::Consumer>, $crate::store::StoreError> {
            $crate::store::kv::reads::consumer(self.$kv(), id)
        }
        fn for_each_consumer(
            &self,
            f: &mut dyn FnMut($crate::domain::Consumer),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_consumer(self.$kv(), f)
        }
        fn for_each_recent_history(
            &self,
            reach_ms: i64,
            f: &mut dyn FnMut(&str, $crate::domain::History),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_recent_history(self.$kv(), reach_ms, f)
        }
        fn contacts_of(
            &self,
            consumer_id: &str,
            f: &mut dyn FnMut($crate::domain::Contact),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::contacts_of(self.$kv(), consumer_id, f)
        }
        fn for_each_rule_set(
            &self,
            f: &mut dyn FnMut($crate::domain::RuleSet),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_rule_set(self.$kv(), f)
        }
        fn for_each_exclusions(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::Exclusions),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_exclusions(self.$kv(), f)
        }
        fn for_each_opt_out(
            &self,
            f: &mut dyn FnMut($crate::domain::PhoneNumber, $crate::domain::OptOut),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_opt_out(self.$kv(), f)
        }
        fn for_each_callback(
            &self,
            f: &mut dyn FnMut($crate::domain::callback::Callback),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_callback(self.$kv(), f)
        }
        fn for_each_program(
            &self,
            f: &mut dyn FnMut($crate::domain::programs::Program),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_program(self.$kv(), f)
        }
        fn for_each_program_number(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::programs::ProgramNumber),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_program_number(self.$kv(), f)
        }
        fn do_not_call_lists(
            &self,
        ) -> Result<Vec<$crate::domain::do_not_call::StoredList>, $crate::store::StoreError> {
            $crate::store::kv::reads::do_not_call_lists(self.$kv())
        }
        fn do_not_call_numbers(
            &self,
            import: Option<$crate::domain::do_not_call::ImportRef>,
            f: &mut dyn FnMut(&[$crate::domain::PhoneNumber]),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::do_not_call_numbers(self.$kv(), import, f)
        }
        fn for_each_consent(
            &self,
            f: &mut dyn FnMut(String, $crate::domain::PhoneNumber),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_consent(self.$kv(), f)
        }
        fn for_each_reassigned(
            &self,
            f: &mut dyn FnMut(&[$crate::domain::reassigned::ReassignedAnswer]),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reassigned::for_each(self.$kv(), f)
        }
        fn for_each_unsettled_lease(
            &self,
            f: &mut dyn FnMut($crate::domain::lease::Lease),
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::reads::for_each_unsettled_lease(self.$kv(), f)
        }
        fn unsettled_leases_of(
            &self,
            consumer_id: &str,
        ) -> Result<Vec<$crate::domain::lease::Lease>, $crate::store::StoreError> {
            $crate::store::kv::reads::unsettled_leases_of(self.$kv(), consumer_id)
        }
        fn lease(
            &self,
            id: $crate::domain::lease::AttemptId,
        ) -> Result<
            Option<($crate::domain::lease::Lease, $crate::domain::lease::LeaseState)>,
            $crate::store::StoreError,
        > {
            $crate::store::kv::reads::lease(self.$kv(), id)
        }
        fn consumers_with(&self, phone: $crate::domain::PhoneNumber) -> Result<Vec<String>, $crate::store::StoreError> {
            $crate::store::kv::reads::consumers_with(self.$kv(), phone)
        }
        fn prompt(&self, token: &str) -> Result<Option<$crate::domain::prompt::Prompt>, $crate::store::StoreError> {
            $crate::store::kv::reads::prompt(self.$kv(), token)
        }
        fn notes_of(
            &self,
            consumer_id: &str,
        ) -> Result<Vec<$crate::domain::audit::AuditNote>, $crate::store::StoreError> {
            $crate::store::kv::reads::notes_of(self.$kv(), consumer_id)
        }
        fn consumers_page(
            &self,
            after: Option<&str>,
            limit: usize,
            keep: &dyn Fn(&$crate::domain::Consumer) -> bool,
        ) -> Result<Vec<$crate::domain::Consumer>, $crate::store::StoreError> {
            $crate::store::kv::reads::consumers_page(self.$kv(), after, limit, keep)
        }
        fn sweep_batch(
            &self,
            space: $crate::store::kv::sweep::SweepSpace,
            before_ms: i64,
            from: &[u8],
            limit: usize,
        ) -> Result<$crate::store::kv::sweep::SweepBatch, $crate::store::StoreError> {
            $crate::store::kv::sweep::sweep_batch(self.$kv(), space, before_ms, from, limit)
        }
        fn notes_page(
            &self,
            consumer_id: Option<&str>,
            after: u64,
            limit: usize,
            keep: &dyn Fn(&$crate::domain::audit::AuditNote) -> bool,
        ) -> Result<Vec<$crate::domain::audit::AuditNote>, $crate::store::StoreError> {
            $crate::store::kv::reads::notes_page(self.$kv(), consumer_id, after, limit, keep)
        }
        fn evidence(
            &self,
            consumer_id: Option<&str>,
            from_ms: Option<i64>,
            f: &mut dyn FnMut($crate::domain::evidence::Evidence) -> Result<bool, $crate::store::StoreError>,
        ) -> Result<(), $crate::store::StoreError> {
            $crate::store::kv::evidence::scan(self.$kv(), consumer_id, from_ms, f)
        }
    };
}
pub(crate) use kv_reads;
