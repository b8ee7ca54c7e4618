//! `predial.v1.Decisions`: the hot path.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{Stream, StreamExt};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::in_order::{Answer, InOrder};
use super::until_stopped::UntilStopped;
use super::{engine_error, invalid};
use crate::domain::consumer::validate_id;
use crate::domain::decision::Request as DialContext;
use crate::domain::lease::AttemptId;
use crate::domain::{Channel, FieldError, Mode, PhoneNumber};
use crate::metrics::{Metrics, OpenStream, metrics};
use crate::proto::convert::{
    WireEnum, contact_from, decision_to, enum_field, opt_phone, opt_timestamp_from, required_enum, timestamp_to,
};
use crate::proto::v1::{self as pb, decisions_server::Decisions};
use crate::state::{Checked, Engine, Pending, Step};

pub struct DecisionsService {
    engine: Engine,
    /// Cancelled at shutdown: open streams end after the decision in hand.
    stop: CancellationToken,
    /// One permit per open stream: past `max_open_streams`, a new stream is refused.
    streams: Arc<Semaphore>,
    max_streams: usize,
}

impl DecisionsService {
    pub fn new(engine: Engine, stop: CancellationToken, max_open_streams: usize) -> Self {
        let max_streams = max_open_streams.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            engine,
            stop,
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
        }
    }

    /// Holds a stream's place among the open streams (and in the gauge) while it lives.
    fn open_stream(&self, path: &str) -> Result<(tokio::sync::OwnedSemaphorePermit, OpenStream), Status> {
        match self.streams.clone().try_acquire_owned() {
            Ok(permit) => Ok((permit, OpenStream::open())),
            Err(_) => {
                metrics().rejected(path, tonic::Code::ResourceExhausted);
                Err(Status::resource_exhausted(format!(
                    "{} streams are open, the limit (max_open_streams); retry shortly",
                    self.max_streams
                )))
            }
        }
    }
}

const CAN_DIAL: &str = "/predial.v1.Decisions/CanDial";

/// One `CanDial` answer in this many goes to the latency histogram (its `_count` is the
/// number timed, not of answers; `predial_decisions_total` counts them all).
const TIMED_EVERY: u32 = 8;

/// At most this many requests are prefetched together: CanDial's that arrived together,
/// CheckBatch's in order.
const TOGETHER: usize = 16;

/// The client's deadline, from the `grpc-timeout` header ("100m", "5S", …), if any.
pub(crate) fn grpc_timeout(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Ends `answers` when `deadline` passes, with DEADLINE_EXCEEDED as its last item.
fn with_deadline<T: Send + 'static>(
    answers: impl Stream<Item = Result<T, Status>> + Send + 'static,
    deadline: Duration,
) -> BoxStream<T> {
    let until = tokio::time::Instant::now() + deadline;
    let expired = move || tokio::time::Instant::now() >= until;
    let last = futures_util::stream::once(async move {
        expired().then(|| {
            Err(Status::deadline_exceeded(format!(
                "the stream's deadline ({deadline:?}) passed"
            )))
        })
    })
    .filter_map(std::future::ready);
    Box::pin(answers.take_until(tokio::time::sleep_until(until)).chain(last))
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
        rules_as_of: opt_timestamp_from(&r.rules_as_of, "rules_as_of")?,
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

/// The request's id when it reserves: an ALLOW or WARN then takes a lease.
fn reserving(r: &pb::DialRequest) -> Option<&str> {
    r.reserve.then_some(r.request_id.as_str())
}

/// One decision, as every decision RPC answers it: a PROMPT comes with its token, a
/// reserving ALLOW or WARN with its lease, each once durable.
pub(crate) async fn check(engine: &Engine, r: &pb::DialRequest) -> Result<pb::DialDecision, Status> {
    let (consumer_id, request, caller_id) = dial_request(r).map_err(|e| invalid_request(r, e))?;
    let checked = engine
        .check(consumer_id, &request, caller_id, reserving(r))
        .await
        .map_err(engine_error)?;
    Ok(reply(checked, &r.request_id))
}

/// Counts a decision in the metrics and puts it on the wire.
fn reply(checked: Checked, request_id: &str) -> pb::DialDecision {
    metrics().decision(
        checked.decision.verdict,
        checked.decision.reasons.iter().map(|r| r.code),
    );
    decision_to(
        &checked.decision,
        request_id,
        checked.prompt_token.unwrap_or_default(),
        checked.lease.map(|l| (l.attempt_id, l.expires_at)),
    )
}

/// Takes requests as they arrived together, up to [`TOGETHER`] at a time, and before the
/// first of them is decided asks memory for what all their decisions will read
/// ([`Engine::prefetch`]): in a book bigger than the caches, each decision's waits for
/// memory then overlap with the others'. They are still decided one by one, in order.
/// `CanDial`'s stream and `CheckBatch`'s list both pass here.
fn prefetched<T>(
    engine: Engine,
    requests: impl Stream<Item = T>,
    consumer_of: fn(&T) -> Option<&str>,
) -> impl Stream<Item = T> {
    requests.ready_chunks(TOGETHER).flat_map(move |arrived| {
        if arrived.len() > 1 {
            engine.prefetch(arrived.iter().filter_map(consumer_of));
        }
        futures_util::stream::iter(arrived)
    })
}

/// A streamed request, decided in its turn.
enum Decided {
    Answered(Result<pb::DialDecision, Status>),
    /// Waiting for its write (a lease, a prompt, a note), already queued.
    Waiting(Pending),
}

/// Decides a request now, in its turn.
fn check_at_once(engine: &Engine, r: &pb::DialRequest) -> Decided {
    let (consumer_id, request, caller_id) = match dial_request(r) {
        Ok(parsed) => parsed,
        Err(e) => return Decided::Answered(Err(invalid_request(r, e))),
    };
    match engine.check_at_once(consumer_id, &request, caller_id, reserving(r)) {
        Ok(Step::Ready(checked)) => Decided::Answered(Ok(reply(checked, &r.request_id))),
        Ok(Step::Pending(pending)) => Decided::Waiting(pending),
        Err(e) => Decided::Answered(Err(engine_error(e))),
    }
}

/// The answer to a request whose write was queued, once it is durable.
async fn finish(pending: Pending, request_id: String) -> Result<pb::DialDecision, Status> {
    let checked = pending.finish().await.map_err(engine_error)?;
    Ok(reply(checked, &request_id))
}

#[tonic::async_trait]
impl Decisions for DecisionsService {
    type CanDialStream = BoxStream<pb::DialDecision>;
    type PingStreamStream = BoxStream<pb::PingResponse>;

    /// One decision per request, in order. Each request is decided when it is taken from
    /// the stream, in order, so each sees the leases of those before it. A machine's
    /// non-reserving decision is in memory and ready at once: no task, no queue, and
    /// back-pressure is HTTP/2's own flow control. An answer that waits for its write (a
    /// lease, a prompt, an exempt operator's note) lets the stream go on deciding the
    /// requests behind it meanwhile, so their writes share a flush (`InOrder`). A
    /// malformed request ends the stream with INVALID_ARGUMENT naming the field and its
    /// request_id.
    ///
    /// Past `max_open_streams` open streams a new one is refused with RESOURCE_EXHAUSTED;
    /// a client's `grpc-timeout` ends the stream with DEADLINE_EXCEEDED when it passes.
    async fn can_dial(
        &self,
        request: Request<Streaming<pb::DialRequest>>,
    ) -> Result<Response<Self::CanDialStream>, Status> {
        let held = self.open_stream(CAN_DIAL)?;
        let deadline = grpc_timeout(request.metadata());
        let engine = self.engine.clone();
        let method = Metrics::method_index(CAN_DIAL);
        let mut seen = 0u32;
        let requests = prefetched(engine.clone(), request.into_inner(), |r| {
            r.as_ref().ok().map(|r| r.consumer_id.trim())
        });
        let answers = requests.map(move |r| {
            let _held = &held;
            // Reading the clock twice an answer costs more than the rest of the
            // bookkeeping; one answer in TIMED_EVERY is timed, from the first.
            let timed = seen % TIMED_EVERY == 0;
            seen = seen.wrapping_add(1);
            let started = timed.then(Instant::now);
            let timing = move || {
                if let Some(started) = started {
                    metrics().rpc(method, started.elapsed());
                }
            };
            let step = match &r {
                Ok(r) => check_at_once(&engine, r),
                Err(status) => Decided::Answered(Err(status.clone())),
            };
            match step {
                Decided::Answered(answer) => {
                    timing();
                    Answer::Ready(answer)
                }
                Decided::Waiting(pending) => {
                    let request_id = r.map(|r| r.request_id).unwrap_or_default();
                    Answer::Waiting(Box::pin(async move {
                        let answer = finish(pending, request_id).await;
                        timing();
                        answer
                    }))
                }
            }
        });
        let answers = UntilStopped::new(InOrder::new(answers), self.stop.clone());
        Ok(Response::new(match deadline {
            Some(deadline) => with_deadline(answers, deadline),
            None => Box::pin(answers),
        }))
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
        // Decided in order, each seeing the leases of those before it; the writes of all
        // of them (leases, prompts) are queued as they go and share flushes, and the
        // answer waits for them all.
        let mut steps = Vec::with_capacity(requests.len());
        let together = futures_util::stream::iter(requests.iter().zip(parsed));
        let mut together = std::pin::pin!(prefetched(self.engine.clone(), together, |(_, (id, ..))| Some(*id)));
        while let Some((r, (consumer_id, request, caller_id))) = together.next().await {
            let step = self
                .engine
                .check_at_once(consumer_id, &request, caller_id, reserving(r))
                .map_err(engine_error)?;
            steps.push((step, r.request_id.as_str()));
        }
        let mut decisions = Vec::with_capacity(steps.len());
        for (step, request_id) in steps {
            let checked = match step {
                Step::Ready(checked) => checked,
                Step::Pending(pending) => pending.finish().await.map_err(engine_error)?,
            };
            decisions.push(reply(checked, request_id));
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
            settled_attempt_id: recorded.settled.map(|id| id.to_string()).unwrap_or_default(),
            unknown_consumer: recorded.unknown_consumer,
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
        if r.operator_id.trim().is_empty() {
            return Err(invalid(FieldError::new(
                "operator_id",
                "is required: an override or a decline must name who made it",
            )));
        }
        let (verdict, note_id, lease) = self
            .engine
            .confirm_override(token, r.operator_id.trim(), r.proceed)
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::ConfirmOverrideResponse {
            verdict: verdict.to_wire(),
            note_id: note_id.to_string(),
            attempt_id: lease.map(|l| l.attempt_id.to_string()).unwrap_or_default(),
            lease_expires_at: lease.map(|l| timestamp_to(l.expires_at)),
        }))
    }

    async fn release_attempt(
        &self,
        request: Request<pb::ReleaseAttemptRequest>,
    ) -> Result<Response<pb::ReleaseAttemptResponse>, Status> {
        let r = request.get_ref();
        if r.attempt_id.trim().is_empty() {
            return Err(invalid(FieldError::new("attempt_id", "is required")));
        }
        let attempt_id = AttemptId::parse_field(&r.attempt_id, "attempt_id").map_err(invalid)?;
        let released = self
            .engine
            .release_attempt(attempt_id, r.operator_id.trim())
            .await
            .map_err(engine_error)?;
        Ok(Response::new(pb::ReleaseAttemptResponse { released }))
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
        let held = self.open_stream("/predial.v1.Decisions/PingStream")?;
        let answers = request.into_inner().map(move |r| {
            let _held = &held;
            r.map(|p| pb::PingResponse { payload: p.payload })
        });
        Ok(Response::new(Box::pin(answers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(value: &str) -> Option<Duration> {
        let mut m = tonic::metadata::MetadataMap::new();
        m.insert("grpc-timeout", value.parse().unwrap());
        grpc_timeout(&m)
    }

    #[test]
    fn grpc_timeout_headers_are_read_in_every_unit() {
        assert_eq!(timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
    }

    #[test]
    fn a_malformed_grpc_timeout_is_ignored() {
        for bad in ["", "S", "5", "5s", "123456789S", "-1S", "1.5S"] {
            assert_eq!(timeout(bad), None, "{bad:?}");
        }
        assert_eq!(grpc_timeout(&tonic::metadata::MetadataMap::new()), None);
    }
}
