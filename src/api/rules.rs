//! `predial.v1.Rules`: put, get and dry-run rule sets.

use tonic::{Request, Response, Status};

use super::{engine_error, invalid};
use crate::proto::convert::{rule_set_draft_from, rule_set_to};
use crate::proto::v1::{self as pb, rules_server::Rules};
use crate::state::Engine;

pub struct RulesService {
    engine: Engine,
}

impl RulesService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

#[tonic::async_trait]
impl Rules for RulesService {
    async fn put_rule_set(&self, request: Request<pb::RuleSet>) -> Result<Response<pb::RuleSetVersion>, Status> {
        let draft = rule_set_draft_from(request.get_ref()).map_err(invalid)?;
        let version = self.engine.put_rule_set(draft).await.map_err(engine_error)?;
        Ok(Response::new(pb::RuleSetVersion { version }))
    }

    async fn get_rule_set(&self, _: Request<pb::GetRuleSetRequest>) -> Result<Response<pb::RuleSet>, Status> {
        let rules = self.engine.rules();
        Ok(Response::new(rule_set_to(&rules.draft, rules.version)))
    }

    async fn validate_rule_set(
        &self,
        request: Request<pb::RuleSet>,
    ) -> Result<Response<pb::ValidateRuleSetResponse>, Status> {
        let errors = match rule_set_draft_from(request.get_ref()) {
            Err(e) => vec![e.to_string()],
            Ok(draft) => match self.engine.validate_rule_set(draft) {
                Ok(()) => vec![],
                Err(es) => es.0.iter().map(ToString::to_string).collect(),
            },
        };
        Ok(Response::new(pb::ValidateRuleSetResponse { errors }))
    }
}
