//! `predial.v1.Compliance`: report-writer queries, and the evidence export.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::{engine_error, invalid};
use crate::domain::FieldError;
use crate::domain::consumer::validate_id;
use crate::domain::evidence::ExportQuery;
use crate::proto::convert::{evidence_to, opt_phone, opt_timestamp_from};
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

/// Records queued between the store's scan and the client: enough to keep the stream
/// busy, few enough that a slow reader holds the scan back instead of filling memory.
const EXPORT_BUFFER: usize = 256;

/// An export request, checked.
pub fn export_query(r: &pb::ExportRequest) -> Result<ExportQuery, FieldError> {
    let consumer_id = match r.consumer_id.trim() {
        "" => None,
        _ => Some(validate_id(&r.consumer_id, "consumer_id")?.to_string()),
    };
    ExportQuery::new(
        consumer_id,
        opt_timestamp_from(&r.from, "from")?,
        opt_timestamp_from(&r.to, "to")?,
        &r.kinds,
    )
}

#[tonic::async_trait]
impl Compliance for ComplianceService {
    type ExportStream = tokio_stream::wrappers::ReceiverStream<Result<pb::EvidenceRecord, Status>>;

    /// Streams from a blocking scan of the store through a small bounded queue: the scan
    /// waits for the client, and stops when the client goes away.
    async fn export(&self, request: Request<pb::ExportRequest>) -> Result<Response<Self::ExportStream>, Status> {
        let query = export_query(request.get_ref()).map_err(invalid)?;
        let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let sent = engine.export(&query, &mut |e| tx.blocking_send(Ok(evidence_to(&e))).is_ok());
            if let Err(e) = sent {
                let _ = tx.blocking_send(Err(engine_error(e)));
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

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
