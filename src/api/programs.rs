//! `predial.v1.Programs`: calling programs, their caller-ID numbers, the Do Not Call list
//! and telemarketing consent.

use chrono::Utc;
use futures_util::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::{engine_error, invalid};
use crate::domain::consumer::validate_id;
use crate::domain::programs::{ProgramNumber, RowError};
use crate::domain::{FieldError, PhoneNumber};
use crate::proto::convert::{opt_timestamp_from, program_from, program_to, required_enum};
use crate::proto::v1::{self as pb, programs_server::Programs};
use crate::state::{Engine, NumbersAdded};

pub struct ProgramsService {
    engine: Engine,
}

impl ProgramsService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
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

/// Most Do Not Call numbers one import may hold in memory before it is written.
const MAX_DNC_IMPORT: usize = 50_000_000;

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
    async fn import_do_not_call(
        &self,
        request: Request<Streaming<pb::DoNotCallChunk>>,
    ) -> Result<Response<pb::ImportSummary>, Status> {
        let mut chunks = request.into_inner();
        let mut numbers = Vec::new();
        let mut chunk_index = 0usize;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            for (i, n) in chunk.numbers.iter().enumerate() {
                let field = format!("chunks[{chunk_index}].numbers[{i}]");
                numbers.push(PhoneNumber::parse_field(n, &field).map_err(invalid)?);
            }
            if numbers.len() > MAX_DNC_IMPORT {
                return Err(invalid(FieldError::new(
                    "numbers",
                    format!("more than {MAX_DNC_IMPORT} in one import"),
                )));
            }
            chunk_index += 1;
        }
        let imported = self.engine.import_do_not_call(numbers).await.map_err(engine_error)?;
        Ok(Response::new(pb::ImportSummary { imported }))
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
