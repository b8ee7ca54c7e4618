//! `predial.v1.Rules`: put a version (guarded), get one by number or instant, list them
//! all, and dry-run a put.

use tonic::{Request, Response, Status};

use super::auth::TokenHolder;
use super::paging;
use super::{engine_error, invalid};
use crate::domain::{FieldError, RuleSet, RuleSetDraft};
use crate::proto::convert::{opt_timestamp_from, rule_set_draft_from, rule_set_version_to, timestamp_to};
use crate::proto::v1::{self as pb, rules_server::Rules};
use crate::state::{Engine, PutRules};

/// The listing name page tokens of `ListRuleSetVersions` are checked against.
const VERSIONS: &str = "rule-set-versions";

pub struct RulesService {
    engine: Engine,
}

impl RulesService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

/// The rules and what the put says of itself; the operator is the request's, else the
/// name of the token that made it.
fn put_from(request: &Request<pb::RuleSet>) -> Result<(RuleSetDraft, PutRules), FieldError> {
    let r = request.get_ref();
    let draft = rule_set_draft_from(r)?;
    let operator_id = match r.operator_id.trim() {
        "" => request
            .extensions()
            .get::<TokenHolder>()
            .map(|h| h.0.to_string())
            .unwrap_or_default(),
        given => given.to_string(),
    };
    let put = PutRules {
        operator_id,
        change_reason: r.change_reason.trim().to_string(),
        effective_at: opt_timestamp_from(&r.effective_at, "effective_at")?,
        allow_uncontrolled_channels: r.allow_uncontrolled_channels,
    };
    Ok((draft, put))
}

fn summary(rules: &RuleSet) -> pb::RuleSetSummary {
    pb::RuleSetSummary {
        version: rules.version,
        operator_id: rules.meta.operator_id.clone(),
        change_reason: rules.meta.change_reason.clone(),
        effective_at: rules.meta.effective_at.map(timestamp_to),
        activated_at: Some(timestamp_to(rules.meta.activated_at)),
        controls: rules.controls.len() as u32,
    }
}

#[tonic::async_trait]
impl Rules for RulesService {
    async fn put_rule_set(&self, request: Request<pb::RuleSet>) -> Result<Response<pb::RuleSetVersion>, Status> {
        let (draft, put) = put_from(&request).map_err(invalid)?;
        let version = self.engine.put_rule_set(draft, put).await.map_err(engine_error)?;
        Ok(Response::new(pb::RuleSetVersion { version }))
    }

    /// `version` when given (NOT_FOUND when no such version was put), else the version in
    /// force at `at`, else the one in force now.
    async fn get_rule_set(&self, request: Request<pb::GetRuleSetRequest>) -> Result<Response<pb::RuleSet>, Status> {
        let r = request.get_ref();
        let at = opt_timestamp_from(&r.at, "at").map_err(invalid)?;
        let rules = match (r.version, at) {
            (0, None) => self.engine.rules(),
            (0, Some(at)) => self.engine.rules_at(at),
            (version, _) => self
                .engine
                .rule_set_version(version)
                .ok_or_else(|| Status::not_found(format!("version: no rule set version {version} was put")))?,
        };
        Ok(Response::new(rule_set_version_to(&rules)))
    }

    async fn validate_rule_set(
        &self,
        request: Request<pb::RuleSet>,
    ) -> Result<Response<pb::ValidateRuleSetResponse>, Status> {
        let errors = match put_from(&request) {
            Err(e) => vec![e.to_string()],
            Ok((draft, put)) => self.engine.validate_rule_set(draft, &put),
        };
        Ok(Response::new(pb::ValidateRuleSetResponse { errors }))
    }

    /// Newest first; a page token names the version the next page starts below.
    async fn list_rule_set_versions(
        &self,
        request: Request<pb::ListRuleSetVersionsRequest>,
    ) -> Result<Response<pb::ListRuleSetVersionsResponse>, Status> {
        let r = request.get_ref();
        let size = paging::page_size(r.page_size).map_err(invalid)?;
        let below = paging::start_number(VERSIONS, &r.page_token)
            .map_err(invalid)?
            .unwrap_or(u64::MAX);
        let mut page: Vec<_> = self
            .engine
            .rule_set_versions()
            .into_iter()
            .filter(|v| v.version < below)
            .take(size + 1)
            .collect();
        let next_page_token =
            paging::next_token(&mut page, size, |v| paging::token(VERSIONS, &v.version.to_be_bytes()));
        Ok(Response::new(pb::ListRuleSetVersionsResponse {
            versions: page.iter().map(|v| summary(v)).collect(),
            next_page_token,
        }))
    }
}
