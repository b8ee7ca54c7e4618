//! `Programs.ImportReassigned`: answers of the Reassigned Numbers Database, read whole and
//! checked before anything is written — an answer that cannot be read refuses the import,
//! naming it (`chunks[i].answers[j].field`) — then kept.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::{engine_error, invalid};
use crate::domain::reassigned::{Answer, ReassignedAnswer};
use crate::domain::time::parse_date;
use crate::domain::{FieldError, PhoneNumber};
use crate::proto::convert::{opt_timestamp_from, required_enum};
use crate::proto::v1 as pb;
use crate::state::Engine;

/// One answer as sent, checked against `now` (a check may not be in the future).
fn answer_from(a: &pb::ReassignedAnswer, now: DateTime<Utc>) -> Result<ReassignedAnswer, FieldError> {
    let number = PhoneNumber::parse_field(&a.number, "number")?;
    let as_of = parse_date(&a.as_of).map_err(|m| FieldError::new("as_of", m))?;
    let kind = required_enum(a.answer, "answer")?;
    let checked_at =
        opt_timestamp_from(&a.checked_at, "checked_at")?.ok_or_else(|| FieldError::new("checked_at", "is required"))?;
    let answer = Answer {
        as_of,
        kind,
        checked_at,
    };
    ReassignedAnswer::new(number, answer, now)
}

/// Reads the stream whole, then imports it.
pub(super) async fn import(
    engine: &Engine,
    request: Request<Streaming<pb::ReassignedChunk>>,
) -> Result<Response<pb::ImportSummary>, Status> {
    let mut chunks = request.into_inner();
    let now = Utc::now();
    let mut answers = Vec::new();
    let mut index = 0usize;
    while let Some(chunk) = chunks.next().await {
        for (j, a) in chunk?.answers.iter().enumerate() {
            // An answer with nothing set is a blank line of a file: skipped.
            if *a == pb::ReassignedAnswer::default() {
                continue;
            }
            let answer =
                answer_from(a, now).map_err(|e| invalid(e.within(&format!("chunks[{index}].answers[{j}]"))))?;
            answers.push(answer);
        }
        index += 1;
    }
    let done = engine.import_reassigned(&answers).await.map_err(engine_error)?;
    Ok(Response::new(pb::ImportSummary {
        imported: done.imported,
        removed: 0,
        list: String::new(),
        numbers: done.kept,
    }))
}
