//! `predial.v1.Programs`: calling programs, Do Not Call lists and consent. Not built yet:
//! every RPC answers UNIMPLEMENTED.

use tonic::{Request, Response, Status, Streaming};

use super::not_yet;
use crate::proto::v1::{self as pb, programs_server::Programs};
use crate::state::Engine;

pub struct ProgramsService {
    _engine: Engine,
}

impl ProgramsService {
    pub fn new(engine: Engine) -> Self {
        Self { _engine: engine }
    }
}

#[tonic::async_trait]
impl Programs for ProgramsService {
    async fn create_program(&self, _: Request<pb::Program>) -> Result<Response<pb::Program>, Status> {
        Err(not_yet("CreateProgram"))
    }
    async fn add_numbers(&self, _: Request<pb::AddNumbersRequest>) -> Result<Response<pb::AddNumbersResponse>, Status> {
        Err(not_yet("AddNumbers"))
    }
    async fn import_numbers_csv(
        &self,
        _: Request<pb::ImportNumbersCsvRequest>,
    ) -> Result<Response<pb::AddNumbersResponse>, Status> {
        Err(not_yet("ImportNumbersCsv"))
    }
    async fn list_programs(
        &self,
        _: Request<pb::ListProgramsRequest>,
    ) -> Result<Response<pb::ListProgramsResponse>, Status> {
        Err(not_yet("ListPrograms"))
    }
    async fn get_program(&self, _: Request<pb::GetProgramRequest>) -> Result<Response<pb::Program>, Status> {
        Err(not_yet("GetProgram"))
    }
    async fn import_do_not_call(
        &self,
        _: Request<Streaming<pb::DoNotCallChunk>>,
    ) -> Result<Response<pb::ImportSummary>, Status> {
        Err(not_yet("ImportDoNotCall"))
    }
    async fn set_consent(&self, _: Request<pb::SetConsentRequest>) -> Result<Response<pb::SetConsentResponse>, Status> {
        Err(not_yet("SetConsent"))
    }
}
