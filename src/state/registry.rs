//! Calling programs, their caller-ID numbers, and the Do Not Call list, in memory.
//!
//! Like the book, read by decisions and written only by the commit thread.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Map;
use super::dnc::DoNotCallSet;

use crate::domain::programs::Program;
use crate::domain::{CallPurpose, CallerFacts, PhoneNumber};
use crate::store::WriteOp;

#[derive(Debug, Default)]
pub struct Registry {
    programs: Map<Arc<str>, Program>,
    /// Caller-ID number → its program and purpose.
    callers: Map<PhoneNumber, (Arc<str>, CallPurpose)>,
    /// Numbers on a Do Not Call list.
    do_not_call: DoNotCallSet,
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

    pub fn is_do_not_call(&self, number: PhoneNumber) -> bool {
        self.do_not_call.contains(number)
    }

    pub fn do_not_call_len(&self) -> usize {
        self.do_not_call.len()
    }

    /// Heap bytes of the Do Not Call set.
    pub fn do_not_call_bytes(&self) -> usize {
        self.do_not_call.heap_bytes()
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

    /// Applies a durable write to memory. Commit thread (or start-up) only.
    pub fn apply(&self, op: &WriteOp) {
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
            WriteOp::AddDoNotCall(numbers) => self.do_not_call.extend(numbers),
            _ => {}
        }
    }
}
