//! Calling programs, their numbers, and telemarketing consent.

use chrono::{DateTime, Utc};

use super::engine::{Engine, EngineError};
use crate::domain::programs::{Program, ProgramNumber, RowError, parse_numbers_csv};
use crate::domain::{FieldError, PhoneNumber};
use crate::store::WriteOp;

/// What adding numbers to a program did: all of them, or none and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumbersAdded {
    pub added: u32,
    pub errors: Vec<RowError>,
}

impl Engine {
    /// Creates or replaces a program.
    pub async fn create_program(&self, program: Program) -> Result<Program, EngineError> {
        self.commit(vec![WriteOp::PutProgram(program.clone())]).await?;
        Ok(program)
    }

    pub fn program(&self, id: &str) -> Result<Program, EngineError> {
        self.inner
            .registry
            .program(id)
            .ok_or_else(|| EngineError::NotFound(format!("no program {id:?}")))
    }

    pub fn programs(&self) -> Vec<Program> {
        self.inner.registry.programs()
    }

    /// Registers numbers with a program — all of them, or none when any row is bad
    /// (`rows`: each number, or the message of a row that did not parse).
    pub async fn add_numbers(
        &self,
        program_id: &str,
        rows: Vec<Result<ProgramNumber, RowError>>,
    ) -> Result<NumbersAdded, EngineError> {
        self.program(program_id)?;
        let (numbers, errors): (Vec<_>, Vec<_>) = rows.into_iter().partition(Result::is_ok);
        if !errors.is_empty() {
            return Ok(NumbersAdded {
                added: 0,
                errors: errors.into_iter().filter_map(Result::err).collect(),
            });
        }
        let numbers: Vec<ProgramNumber> = numbers.into_iter().filter_map(Result::ok).collect();
        let added = numbers.len() as u32;
        self.commit(vec![WriteOp::AddProgramNumbers {
            program_id: program_id.to_string(),
            numbers,
        }])
        .await?;
        Ok(NumbersAdded {
            added,
            errors: Vec::new(),
        })
    }

    /// Imports a program's numbers from CSV (two columns, no header, at most 500 rows).
    pub async fn import_numbers_csv(&self, program_id: &str, csv: &[u8]) -> Result<NumbersAdded, EngineError> {
        self.program(program_id)?;
        match parse_numbers_csv(csv) {
            Ok(numbers) => {
                self.add_numbers(program_id, numbers.into_iter().map(Ok).collect())
                    .await
            }
            Err(errors) if errors.len() == 1 && errors[0].message.contains("more than") => Err(EngineError::Invalid(
                FieldError::new("csv", errors[0].message.clone()).into(),
            )),
            Err(errors) => Ok(NumbersAdded { added: 0, errors }),
        }
    }

    /// Records (or withdraws) a consumer's prior express consent to telemarketing calls.
    pub async fn set_consent(
        &self,
        consumer_id: &str,
        phone: PhoneNumber,
        telemarketing: bool,
        at: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        if !self.inner.book.exists(consumer_id) {
            return Err(EngineError::NotFound(format!("no consumer {consumer_id:?}")));
        }
        let op = WriteOp::SetConsent {
            consumer_id: consumer_id.to_string(),
            phone,
            telemarketing,
            at,
        };
        self.commit(vec![op]).await?;
        Ok(())
    }
}
