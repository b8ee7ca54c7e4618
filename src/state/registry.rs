//! Calling programs, their caller-ID numbers, and the Do Not Call lists, in memory.
//!
//! Like the book, read by decisions and written only by the commit thread (or, for a
//! cluster, the thread that follows the other nodes' writes). A list's set is swapped
//! whole when an import commits: the importing node built it beforehand
//! ([`Registry::prepare`]); a node that follows builds it from the store. The Reassigned
//! Numbers Database's answers are merged in as each chunk lands, on every node alike.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use chrono::{DateTime, Utc};

use super::Map;
use super::dnc::{Builder, DoNotCallSet};
use crate::domain::do_not_call::StoredList;
use crate::store::{Store, StoreError};

use crate::domain::programs::Program;
use crate::domain::{CallPurpose, CallerFacts, PhoneNumber};
use crate::store::WriteOp;

#[derive(Debug, Default)]
pub struct Registry {
    programs: Map<Arc<str>, Program>,
    /// Caller-ID number → its program and purpose.
    callers: Map<PhoneNumber, (Arc<str>, CallPurpose)>,
    /// Every Do Not Call list, by name.
    lists: RwLock<BTreeMap<&'static str, Listed>>,
    /// Sets imports built, until their commit swaps them in (by import id).
    prepared: Mutex<HashMap<u64, Arc<DoNotCallSet>>>,
    /// The Reassigned Numbers Database's answers.
    pub reassigned: super::reassigned::ReassignedAnswers,
}

/// A list as decisions read it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub set: Arc<DoNotCallSet>,
    pub updated_at: DateTime<Utc>,
}

/// A list's name, for as long as the process runs: decisions carry it by reference (a
/// reason names the list) without an allocation. Lists are few; each name is kept once.
pub fn list_name(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES.get_or_init(Mutex::default).lock().expect("list names lock");
    if let Some(known) = names.get(name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(kept);
    kept
}

/// Builds a list's set from the store: what was stored before lists had names, its last
/// REPLACE, and every ADD and REMOVE since, in order.
pub fn build_list(store: &dyn Store, list: &StoredList) -> Result<DoNotCallSet, StoreError> {
    let mut builder = Builder::default();
    if list.legacy {
        store.do_not_call_numbers(None, &mut |numbers| numbers.iter().for_each(|n| builder.push(*n)))?;
    }
    for import in list.imports() {
        if import.remove {
            store.do_not_call_numbers(Some(*import), &mut |numbers| {
                numbers.iter().for_each(|n| builder.remove(*n))
            })?;
        } else {
            builder.settle();
            store.do_not_call_numbers(Some(*import), &mut |numbers| {
                numbers.iter().for_each(|n| builder.push(*n))
            })?;
        }
    }
    Ok(builder.build())
}

impl Registry {
    /// What the programs know of `caller` at `at`; `None` when it is no program's number.
    pub fn caller_facts(&self, caller: PhoneNumber, at: DateTime<Utc>) -> Option<CallerFacts> {
        let (program_id, purpose) = self.callers.get(&caller).map(|c| c.clone())?;
        let program_active = self.programs.get(&program_id).is_some_and(|p| p.is_active(at));
        Some(CallerFacts {
            purpose,
            program_active,
        })
    }

    /// The first list (by name) that has `number`.
    pub fn do_not_call_listing(&self, number: PhoneNumber) -> Option<&'static str> {
        let lists = self.lists.read().expect("lists lock");
        lists
            .iter()
            .find(|(_, l)| l.set.contains(number))
            .map(|(name, _)| *name)
    }

    /// Every list, by name.
    pub fn do_not_call_lists(&self) -> Vec<(&'static str, Listed)> {
        let lists = self.lists.read().expect("lists lock");
        lists.iter().map(|(name, l)| (*name, l.clone())).collect()
    }

    pub fn do_not_call_list(&self, name: &str) -> Option<Listed> {
        self.lists.read().expect("lists lock").get(name).cloned()
    }

    /// Numbers on every list (one number on two lists counts twice).
    pub fn do_not_call_len(&self) -> usize {
        self.do_not_call_lists().iter().map(|(_, l)| l.set.len()).sum()
    }

    /// Heap bytes of the Do Not Call lists.
    pub fn do_not_call_bytes(&self) -> usize {
        self.do_not_call_lists().iter().map(|(_, l)| l.set.heap_bytes()).sum()
    }

    /// Holds the set an import built until its commit swaps it in.
    pub fn prepare(&self, import_id: u64, set: Arc<DoNotCallSet>) {
        self.prepared.lock().expect("prepared lock").insert(import_id, set);
    }

    /// Drops the set of an import that did not commit.
    pub fn discard(&self, import_id: u64) {
        self.prepared.lock().expect("prepared lock").remove(&import_id);
    }

    /// Installs a list's set (start-up, and a committed import).
    pub fn install_list(&self, name: &str, set: Arc<DoNotCallSet>, updated_at: DateTime<Utc>) {
        let listed = Listed { set, updated_at };
        self.lists.write().expect("lists lock").insert(list_name(name), listed);
    }

    pub fn program(&self, id: &str) -> Option<Program> {
        self.programs.get(id).map(|p| p.clone())
    }

    /// Every program, by id.
    pub fn programs(&self) -> Vec<Program> {
        let mut all: Vec<Program> = self.programs.iter().map(|p| p.clone()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Applies a durable write to memory. Commit thread (or start-up) only. A committed
    /// import swaps in the set it prepared, or (written by another node) one built from
    /// `store`.
    pub fn apply(&self, op: &WriteOp, store: &dyn Store) -> Result<(), StoreError> {
        match op {
            WriteOp::PutProgram(p) => {
                self.programs.insert(Arc::from(p.id.as_str()), p.clone());
            }
            WriteOp::AddProgramNumbers { program_id, numbers } => {
                let id: Arc<str> = Arc::from(program_id.as_str());
                for n in numbers {
                    self.callers.insert(n.number, (id.clone(), n.purpose));
                }
            }
            WriteOp::CommitDoNotCall { list, import, at, .. } => {
                let prepared = self.prepared.lock().expect("prepared lock").remove(&import.import_id);
                let set = match prepared {
                    Some(set) => set,
                    None => {
                        let stored = store.do_not_call_lists()?.into_iter().find(|l| &l.name == list);
                        match stored {
                            Some(stored) => Arc::new(build_list(store, &stored)?),
                            None => return Ok(()),
                        }
                    }
                };
                self.install_list(list, set, *at);
            }
            WriteOp::PutReassigned(answers) => self.reassigned.merge(answers),
            _ => {}
        }
        Ok(())
    }
}
