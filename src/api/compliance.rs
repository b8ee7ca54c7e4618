//! `predial.v1.Compliance`: report-writer queries, and the evidence export.

use chrono::Utc;
use tonic::{Request, Response, Status};

use super::{engine_error, invalid};
use crate::domain::FieldError;
use crate::domain::PhoneNumber;
use crate::domain::consumer::validate_id;
use crate::domain::evidence::ExportQuery;
use crate::proto::convert::{WireEnum, evidence_to, opt_phone, opt_timestamp_from, timestamp_to};
use crate::proto::v1::{self as pb, compliance_server::Compliance};
use crate::state::{ComplianceKind, Engine, Standing};

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

fn ms(t: i64) -> Option<prost_types::Timestamp> {
    chrono::DateTime::from_timestamp_millis(t).map(timestamp_to)
}

fn standing_to(consumer_id: &str, s: &Standing) -> pb::Standing {
    pb::Standing {
        consumer_id: consumer_id.to_string(),
        at: Some(timestamp_to(s.at)),
        rule_set_version: s.rules.version,
        controls: s
            .controls
            .iter()
            .map(|c| {
                let control = &s.rules.controls[c.index];
                pb::ControlStanding {
                    control_id: control.id.to_string(),
                    description: control.description.clone(),
                    channel: control.channel.to_wire(),
                    period: control.period.to_wire(),
                    attempts: c.tally.attempts,
                    rpcs: c.tally.rpcs,
                    max_total_contacts: control.max_total_contacts,
                    window_from: ms(c.window_ms.0),
                    window_to: ms(c.window_ms.1),
                    held_until: c
                        .held_until
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default(),
                    apply_to_group: control.apply_to_group,
                }
            })
            .collect(),
        open_attempts: s
            .open_attempts
            .iter()
            .map(|l| pb::OpenAttempt {
                attempt_id: l.attempt_id.to_string(),
                channel: l.channel.to_wire(),
                phone: match l.phone {
                    0 => String::new(),
                    digits => PhoneNumber::from_u64(digits).to_string(),
                },
                at: ms(l.at_ms),
                expires_at: ms(l.at_ms + i64::from(l.held_ms)),
            })
            .collect(),
        callbacks: s
            .callbacks
            .iter()
            .map(|(phone, at)| pb::ScheduledCallback {
                phone: phone.to_string(),
                at: ms(*at),
            })
            .collect(),
        next_call_allowed_at: s.next_call_allowed_at.map(timestamp_to),
    }
}

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

    async fn get_standing(&self, request: Request<pb::GetStandingRequest>) -> Result<Response<pb::Standing>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let at = opt_timestamp_from(&r.at, "at")
            .map_err(invalid)?
            .unwrap_or_else(Utc::now);
        let s = self.engine.standing(consumer_id, at).map_err(engine_error)?;
        Ok(Response::new(standing_to(consumer_id, &s)))
    }

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
