//! `predial.v1.Decisions`: the hot path.

use std::pin::Pin;

use chrono::Utc;
use futures_util::{Stream, StreamExt};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::{engine_error, invalid};
use crate::domain::consumer::validate_id;
use crate::domain::decision::Request as DialContext;
use crate::domain::{Channel, FieldError, Mode, PhoneNumber};
use crate::proto::convert::{
    WireEnum, contact_from, decision_to, enum_field, opt_phone, opt_timestamp_from, required_enum, timestamp_to,
};
use crate::proto::v1::{self as pb, decisions_server::Decisions};
use crate::state::Engine;

pub struct DecisionsService {
    engine: Engine,
    /// Cancelled at shutdown: open streams end after the decision in hand.
    stop: CancellationToken,
}

impl DecisionsService {
    pub fn new(engine: Engine, stop: CancellationToken) -> Self {
        Self { engine, stop }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Reads a `DialRequest`: the consumer id, the domain request borrowing from it, and the
/// caller ID (the engine looks up its registration).
fn dial_request(r: &pb::DialRequest) -> Result<(&str, DialContext<'_>, Option<PhoneNumber>), FieldError> {
    let consumer_id = validate_id(&r.consumer_id, "consumer_id")?;
    let channel: Channel = required_enum(r.channel, "channel")?;
    let phone = opt_phone(&r.phone, "phone")?;
    if matches!(channel, Channel::Phone | Channel::Text) && phone.is_none() {
        return Err(FieldError::new("phone", "is required for PHONE and TEXT"));
    }
    let request = DialContext {
        channel,
        mode: enum_field::<Mode>(r.mode, "mode")?.unwrap_or_default(),
        workflow: r.workflow,
        phone,
        purpose: enum_field(r.call_purpose, "call_purpose")?,
        operator_id: r.operator_id.trim(),
        at: opt_timestamp_from(&r.at, "at")?.unwrap_or_else(Utc::now),
        caller: None,
    };
    Ok((consumer_id, request, opt_phone(&r.caller_id, "caller_id")?))
}

/// Names the request in a bad-input message, so a dialer can find it in its stream.
fn invalid_request(r: &pb::DialRequest, e: FieldError) -> Status {
    invalid(if r.request_id.is_empty() {
        e
    } else {
        FieldError::new(e.field, format!("{} (request_id {:?})", e.message, r.request_id))
    })
}

/// One decision, as every decision RPC answers it: a PROMPT comes with its token.
pub(crate) async fn check(engine: &Engine, r: &pb::DialRequest) -> Result<pb::DialDecision, Status> {
    let parsed = dial_request(r).map_err(|e| invalid_request(r, e))?;
    answer(engine, &r.request_id, parsed).await
}

/// Decides an already-read request.
async fn answer(
    engine: &Engine,
    request_id: &str,
    (consumer_id, request, caller_id): (&str, DialContext<'_>, Option<PhoneNumber>),
) -> Result<pb::DialDecision, Status> {
    let checked = engine
        .check(consumer_id, &request, caller_id)
        .await
        .map_err(engine_error)?;
    Ok(decision_to(
        &checked.decision,
        request_id,
        checked.prompt_token.unwrap_or_default(),
    ))
}

#[tonic::async_trait]
impl Decisions for DecisionsService {
    type CanDialStream = BoxStream<pb::DialDecision>;
    type PingStreamStream = BoxStream<pb::PingResponse>;

    /// One decision per request, in order. The answer stream is the request stream mapped
    /// one by one (`then`): no task, no queue, and back-pressure is HTTP/2's own flow
    /// control. A machine's decision is in memory and ready at once; only a PROMPT or an
    /// exempt operator's ALLOW waits for its audit note to be durable. A malformed request
    /// ends the stream with INVALID_ARGUMENT naming the field and its request_id.
    async fn can_dial(
        &self,
        request: Request<Streaming<pb::DialRequest>>,
    ) -> Result<Response<Self::CanDialStream>, Status> {
        let engine = self.engine.clone();
        let answers = request
            .into_inner()
            .then(move |r| {
                let engine = engine.clone();
                async move { check(&engine, &r?).await }
            })
            .take_until(self.stop.clone().cancelled_owned());
        Ok(Response::new(Box::pin(answers)))
    }

    async fn check(&self, request: Request<pb::DialRequest>) -> Result<Response<pb::DialDecision>, Status> {
        check(&self.engine, request.get_ref()).await.map(Response::new)
    }

    async fn check_batch(
        &self,
        request: Request<pb::CheckBatchRequest>,
    ) -> Result<Response<pb::CheckBatchResponse>, Status> {
        let requests = &request.get_ref().requests;
        // Read the whole batch first: a bad request rejects the batch, naming its index.
        let parsed = requests
            .iter()
            .enumerate()
            .map(|(i, r)| dial_request(r).map_err(|e| invalid(e.within(&format!("requests[{i}]")))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut decisions = Vec::with_capacity(requests.len());
        for (r, parsed) in requests.iter().zip(parsed) {
            decisions.push(answer(&self.engine, &r.request_id, parsed).await?);
        }
        Ok(Response::new(pb::CheckBatchResponse { decisions }))
    }

    async fn record_contact(&self, request: Request<pb::ContactEvent>) -> Result<Response<pb::RecordAck>, Status> {
        let contact = contact_from(request.get_ref(), Utc::now()).map_err(invalid)?;
        let event_id = contact.event_id.clone();
        let recorded = self.engine.record_contact(contact).await.map_err(engine_error)?;
        Ok(Response::new(pb::RecordAck {
            event_id,
            duplicate: recorded.duplicate,
            attempts: recorded.attempts,
            rpcs: recorded.rpcs,
        }))
    }

    async fn confirm_override(
        &self,
        request: Request<pb::ConfirmOverrideRequest>,
    ) -> Result<Response<pb::ConfirmOverrideResponse>, Status> {
        let r = request.get_ref();
        let token = r.prompt_token.trim();
        if token.is_empty() {
            return Err(invalid(FieldError::new("prompt_token", "is required")));
        }
        let (verdict, note_id) = self
            .engine
            .confirm_override(token, r.operator_id.trim(), r.proceed)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::ConfirmOverrideResponse {
            verdict: verdict.to_wire(),
            note_id: note_id.to_string(),
        }))
    }

    async fn schedule_callback(
        &self,
        request: Request<pb::ScheduleCallbackRequest>,
    ) -> Result<Response<pb::Callback>, Status> {
        let r = request.get_ref();
        let consumer_id = validate_id(&r.consumer_id, "consumer_id").map_err(invalid)?;
        let phone = PhoneNumber::parse_field(&r.phone, "phone").map_err(invalid)?;
        let callback_at = opt_timestamp_from(&r.callback_at, "callback_at")
            .and_then(|t| t.ok_or_else(|| FieldError::new("callback_at", "is required")))
            .map_err(invalid)?;
        let operator_id = r.operator_id.trim();
        let cb = self
            .engine
            .schedule_callback(consumer_id, phone, callback_at, operator_id)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::Callback {
            id: cb.id,
            consumer_id: cb.consumer_id,
            phone: cb.phone.to_string(),
            callback_at: Some(timestamp_to(cb.callback_at)),
            operator_id: cb.operator_id,
        }))
    }

    async fn ping(&self, request: Request<pb::PingRequest>) -> Result<Response<pb::PingResponse>, Status> {
        Ok(Response::new(pb::PingResponse {
            payload: request.into_inner().payload,
        }))
    }

    async fn ping_stream(
        &self,
        request: Request<Streaming<pb::PingRequest>>,
    ) -> Result<Response<Self::PingStreamStream>, Status> {
        let answers = request
            .into_inner()
            .map(|r| r.map(|p| pb::PingResponse { payload: p.payload }));
        Ok(Response::new(Box::pin(answers)))
    }
}
