//! `predial.v1.Compliance`: report-writer queries.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::{engine_error, invalid};
use crate::domain::FieldError;
use crate::domain::consumer::validate_id;
use crate::proto::convert::{opt_phone, opt_timestamp_from};
use crate::proto::v1::{self as pb, compliance_server::Compliance};
use crate::state::{ComplianceKind, Engine};

pub struct ComplianceService {
    engine: Engine,
}

impl ComplianceService {
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

fn kind_from(value: i32) -> Result<ComplianceKind, FieldError> {
    use pb::ComplianceKind as K;
    Ok(match K::try_from(value) {
        Ok(K::CallOk) => ComplianceKind::CallOk,
        Ok(K::TextOk) => ComplianceKind::TextOk,
        Ok(K::LetterOk) => ComplianceKind::LetterOk,
        Ok(K::EmailOk) => ComplianceKind::EmailOk,
        Ok(K::SmsOk) => ComplianceKind::SmsOk,
        Ok(K::TzCallOk) => ComplianceKind::TzCallOk,
        Ok(K::ValidationDate) => ComplianceKind::ValidationDate,
        Ok(K::Attempts) => ComplianceKind::Attempts,
        Ok(K::Rpcs) => ComplianceKind::Rpcs,
        Ok(K::Unspecified) => return Err(FieldError::new("kind", "is required")),
        Err(_) => {
            return Err(FieldError::new(
                "kind",
                format!("{value} is not a ComplianceKind value"),
            ));
        }
    })
}

#[tonic::async_trait]
impl Compliance for ComplianceService {
    /// `as_of` defaults to the server's clock; `phone` to the consumer's first number.
    async fn query(&self, request: Request<pb::ComplianceQuery>) -> Result<Response<pb::ComplianceAnswer>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let phone = opt_phone(&r.phone, "phone").map_err(invalid)?;
        let kind = kind_from(r.kind).map_err(invalid)?;
        let as_of = opt_timestamp_from(&r.as_of, "as_of")
            .map_err(invalid)?
            .unwrap_or_else(Utc::now);
        let answer = self
            .engine
            .compliance(
                consumer_id,
                phone,
                kind,
                as_of,
                opt_timestamp_from(&r.rules_as_of, "rules_as_of").map_err(invalid)?,
            )
            .map_err(engine_error)?;
        Ok(Response::new(pb::ComplianceAnswer {
            ok: answer.ok,
            count: answer.count,
            date: answer
                .date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        }))
    }
}
