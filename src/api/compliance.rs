//! `predial.v1.Compliance`: report-writer queries. Not built yet: UNIMPLEMENTED.

use tonic::{Request, Response, Status};

use super::not_yet;
use crate::proto::v1::{self as pb, compliance_server::Compliance};
use crate::state::Engine;

pub struct ComplianceService {
    _engine: Engine,
}

impl ComplianceService {
    pub fn new(engine: Engine) -> Self {
        Self { _engine: engine }
    }
}

#[tonic::async_trait]
impl Compliance for ComplianceService {
    async fn query(&self, _: Request<pb::ComplianceQuery>) -> Result<Response<pb::ComplianceAnswer>, Status> {
        Err(not_yet("Query"))
    }
}
