//! `predial.v1.Programs`: calling programs, their caller-ID numbers, the Do Not Call lists,
//! the Reassigned Numbers Database's answers (`reassigned.rs`) and telemarketing consent.

use chrono::Utc;
use futures_util::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::{engine_error, invalid};
use crate::domain::consumer::validate_id;
use crate::domain::do_not_call::ImportMode;
use crate::domain::programs::{ProgramNumber, RowError};
use crate::domain::{FieldError, PhoneNumber};
use crate::proto::convert::{opt_timestamp_from, program_from, program_to, required_enum, timestamp_to};
use crate::proto::v1::{self as pb, programs_server::Programs};
use crate::state::{DoNotCallImport, Engine, NumbersAdded};

pub struct ProgramsService {
    engine: Engine,
}

impl ProgramsService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

fn import_mode(value: i32) -> Result<ImportMode, FieldError> {
    use pb::ImportMode as M;
    match M::try_from(value) {
        Ok(M::Unspecified | M::Add) => Ok(ImportMode::Add),
        Ok(M::Replace) => Ok(ImportMode::Replace),
        Ok(M::Remove) => Ok(ImportMode::Remove),
        Err(_) => Err(FieldError::new("mode", format!("{value} is not an ImportMode value"))),
    }
}

/// A later chunk names its import's list and mode, or none.
fn same_import(
    chunk: &pb::DoNotCallChunk,
    (import, mode): &(DoNotCallImport, ImportMode),
    index: usize,
) -> Result<(), FieldError> {
    let list_differs = !chunk.list.trim().is_empty() && !chunk.list.trim().eq_ignore_ascii_case(import.list());
    if list_differs {
        return Err(FieldError::new(
            format!("chunks[{index}].list"),
            format!("the import is into {:?}; one import fills one list", import.list()),
        ));
    }
    if chunk.mode != 0 && import_mode(chunk.mode)? != *mode {
        return Err(FieldError::new(
            format!("chunks[{index}].mode"),
            "differs from the first chunk's; one import has one mode",
        ));
    }
    Ok(())
}

fn added_to(a: NumbersAdded) -> pb::AddNumbersResponse {
    pb::AddNumbersResponse {
        added: a.added,
        errors: a
            .errors
            .into_iter()
            .map(|e| pb::RowError {
                row: e.row,
                message: e.message,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl Programs for ProgramsService {
    async fn create_program(&self, request: Request<pb::Program>) -> Result<Response<pb::Program>, Status> {
        let program = program_from(request.get_ref()).map_err(invalid)?;
        let stored = self.engine.create_program(program).await.map_err(engine_error)?;
        Ok(Response::new(program_to(&stored)))
    }

    /// Every number is checked first: with any bad one, nothing is added and each bad
    /// number is reported by its 1-based position.
    async fn add_numbers(
        &self,
        request: Request<pb::AddNumbersRequest>,
    ) -> Result<Response<pb::AddNumbersResponse>, Status> {
        let r = request.get_ref();
        let program_id = validate_id(&r.program_id, "program_id").map_err(invalid)?;
        let rows = r
            .numbers
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let row = i as u32 + 1;
                let number = PhoneNumber::parse(&n.number).map_err(|m| RowError {
                    row,
                    message: format!("number: {m}"),
                })?;
                let purpose = required_enum(n.call_purpose, "call_purpose").map_err(|e| RowError {
                    row,
                    message: e.to_string(),
                })?;
                Ok(ProgramNumber { number, purpose })
            })
            .collect();
        let added = self.engine.add_numbers(program_id, rows).await.map_err(engine_error)?;
        Ok(Response::new(added_to(added)))
    }

    async fn import_numbers_csv(
        &self,
        request: Request<pb::ImportNumbersCsvRequest>,
    ) -> Result<Response<pb::AddNumbersResponse>, Status> {
        let r = request.get_ref();
        let program_id = validate_id(&r.program_id, "program_id").map_err(invalid)?;
        let added = self
            .engine
            .import_numbers_csv(program_id, &r.csv)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(added_to(added)))
    }

    async fn list_programs(
        &self,
        _: Request<pb::ListProgramsRequest>,
    ) -> Result<Response<pb::ListProgramsResponse>, Status> {
        let programs = self.engine.programs().iter().map(program_to).collect();
        Ok(Response::new(pb::ListProgramsResponse { programs }))
    }

    async fn get_program(&self, request: Request<pb::GetProgramRequest>) -> Result<Response<pb::Program>, Status> {
        let id = validate_id(&request.get_ref().id, "id").map_err(invalid)?;
        Ok(Response::new(program_to(
            &self.engine.program(id).map_err(engine_error)?,
        )))
    }

    /// Reads the whole stream and checks every number before anything is written: a bad
    /// number rejects the import, naming its chunk and position.
    /// Chunk by chunk as they arrive (memory holds one chunk and the list being built);
    /// a number that is not one refuses the whole import, whatever its mode, and nothing
    /// changes.
    async fn import_do_not_call(
        &self,
        request: Request<Streaming<pb::DoNotCallChunk>>,
    ) -> Result<Response<pb::ImportSummary>, Status> {
        let mut chunks = request.into_inner();
        let mut import = None;
        let mut chunk_index = 0usize;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            let import = match &mut import {
                Some(import) => {
                    same_import(&chunk, import, chunk_index).map_err(invalid)?;
                    import
                }
                None => {
                    let mode = import_mode(chunk.mode).map_err(invalid)?;
                    let begun = self
                        .engine
                        .begin_do_not_call_import(&chunk.list, mode)
                        .map_err(engine_error)?;
                    import.insert((begun, mode))
                }
            };
            let mut numbers = Vec::with_capacity(chunk.numbers.len());
            for (i, n) in chunk.numbers.iter().enumerate().filter(|(_, n)| !n.trim().is_empty()) {
                let field = format!("chunks[{chunk_index}].numbers[{i}]");
                numbers.push(PhoneNumber::parse_field(n, &field).map_err(invalid)?);
            }
            import.0.add(&numbers).await.map_err(engine_error)?;
            chunk_index += 1;
        }
        let (import, _) = match import {
            Some(import) => import,
            None => (
                self.engine
                    .begin_do_not_call_import("", ImportMode::Add)
                    .map_err(engine_error)?,
                ImportMode::Add,
            ),
        };
        let done = import.finish().await.map_err(engine_error)?;
        Ok(Response::new(pb::ImportSummary {
            imported: done.imported,
            removed: done.removed,
            list: done.list,
            numbers: done.numbers,
        }))
    }

    async fn import_reassigned(
        &self,
        request: Request<Streaming<pb::ReassignedChunk>>,
    ) -> Result<Response<pb::ImportSummary>, Status> {
        super::reassigned::import(&self.engine, request).await
    }

    async fn list_do_not_call_lists(
        &self,
        _request: Request<pb::ListDoNotCallListsRequest>,
    ) -> Result<Response<pb::ListDoNotCallListsResponse>, Status> {
        let lists = self
            .engine
            .do_not_call_lists()
            .into_iter()
            .map(|(name, numbers, updated_at)| pb::DoNotCallList {
                name,
                numbers,
                updated_at: Some(timestamp_to(updated_at)),
            })
            .collect();
        Ok(Response::new(pb::ListDoNotCallListsResponse { lists }))
    }

    async fn set_consent(
        &self,
        request: Request<pb::SetConsentRequest>,
    ) -> Result<Response<pb::SetConsentResponse>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let phone = PhoneNumber::parse_field(&r.phone, "phone").map_err(invalid)?;
        let at = opt_timestamp_from(&r.at, "at")
            .map_err(invalid)?
            .unwrap_or_else(Utc::now);
        self.engine
            .set_consent(consumer_id, phone, r.telemarketing, at)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::SetConsentResponse {}))
    }
}
