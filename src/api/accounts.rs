//! `predial.v1.Accounts`: consumers (exclusions and audit notes arrive with their issue).

use tonic::{Request, Response, Status};

use super::{engine_error, invalid, not_yet};
use crate::domain::consumer::validate_id;
use crate::proto::convert::{consumer_from, consumer_to};
use crate::proto::v1::{self as pb, accounts_server::Accounts};
use crate::state::Engine;

pub struct AccountsService {
    engine: Engine,
}

impl AccountsService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn upsert_consumer(&self, request: Request<pb::Consumer>) -> Result<Response<pb::Consumer>, Status> {
        let consumer = consumer_from(request.get_ref()).map_err(invalid)?;
        let stored = self.engine.upsert_consumer(consumer).await.map_err(engine_error)?;
        Ok(Response::new(consumer_to(&stored)))
    }

    async fn get_consumer(&self, request: Request<pb::GetConsumerRequest>) -> Result<Response<pb::Consumer>, Status> {
        let id = validate_id(&request.get_ref().id, "id").map_err(invalid)?;
        match self.engine.consumer(id).map_err(engine_error)? {
            Some(c) => Ok(Response::new(consumer_to(&c))),
            None => Err(Status::not_found(format!("no consumer {id:?}"))),
        }
    }

    async fn set_exclusions(
        &self,
        _: Request<pb::SetExclusionsRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        Err(not_yet("SetExclusions"))
    }

    async fn exclude_phone(
        &self,
        _: Request<pb::ExcludePhoneRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        Err(not_yet("ExcludePhone"))
    }

    async fn inbound_text(
        &self,
        _: Request<pb::InboundTextRequest>,
    ) -> Result<Response<pb::InboundTextResponse>, Status> {
        Err(not_yet("InboundText"))
    }

    async fn get_exclusion_status(
        &self,
        _: Request<pb::GetConsumerRequest>,
    ) -> Result<Response<pb::ExclusionStatus>, Status> {
        Err(not_yet("GetExclusionStatus"))
    }

    async fn list_audit_notes(
        &self,
        _: Request<pb::ListAuditNotesRequest>,
    ) -> Result<Response<pb::ListAuditNotesResponse>, Status> {
        Err(not_yet("ListAuditNotes"))
    }
}
