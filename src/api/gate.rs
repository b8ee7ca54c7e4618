//! The gate every call passes before it reaches a service: authentication, load shedding
//! and per-method timing, as one tower layer around the whole router.
//!
//! - **Tokens** ([`super::auth`]): no or unknown token → UNAUTHENTICATED, a role that may
//!   not call the method → PERMISSION_DENIED. With no tokens configured the gate admits
//!   everyone (the server refuses to listen beyond loopback that way unless `--insecure`).
//! - **Shedding**: at most `max_concurrent_calls` calls are being answered at once; one
//!   more is refused at once with RESOURCE_EXHAUSTED rather than queued, so an overloaded
//!   server answers "try again" in microseconds instead of growing a queue. Streams are
//!   limited separately, in the `CanDial` handler, because they live on after this layer
//!   has returned their headers.
//! - **Message size**: tonic refuses a message over the limit with OUT_OF_RANGE; the gRPC
//!   convention (and every other implementation) says RESOURCE_EXHAUSTED, so a unary
//!   refusal is relabelled here.
//! - **Timing**: unary calls from request to answer go to
//!   `predial_rpc_duration_seconds{method}`.
//!
//! Refused calls are answered here, never reaching a service: they change nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::sync::Semaphore;
use tonic::Status;
use tower::{Layer, Service};

use super::auth::{Access, Refusal, Role, Tokens, access_of};
use crate::metrics::metrics;
use crate::proto::methods;

#[derive(Clone)]
pub struct Gate {
    tokens: Option<Arc<Tokens>>,
    calls: Arc<Semaphore>,
    max_calls: usize,
    /// Whether the node has its memory (a cluster node rebuilding it answers only health).
    ready: Arc<dyn Fn() -> bool + Send + Sync>,
}

impl Gate {
    /// `tokens` empty: everyone is admitted.
    pub fn new(tokens: Tokens, max_concurrent_calls: usize) -> Gate {
        let max_calls = max_concurrent_calls.clamp(1, Semaphore::MAX_PERMITS);
        Gate {
            tokens: (!tokens.is_empty()).then(|| Arc::new(tokens)),
            calls: Arc::new(Semaphore::new(max_calls)),
            max_calls,
            ready: Arc::new(|| true),
        }
    }

    /// Until `ready` says so, every call but health's and reflection's is answered
    /// UNAVAILABLE (a cluster node rebuilding its memory from the database).
    pub fn with_readiness(self, ready: impl Fn() -> bool + Send + Sync + 'static) -> Gate {
        Gate {
            ready: Arc::new(ready),
            ..self
        }
    }
}

impl<S> Layer<S> for Gate {
    type Service = Gated<S>;
    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            gate: self.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct Gated<S> {
    gate: Gate,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn refuse<R: Default>(path: &str, status: Status) -> http::Response<R> {
    tracing::debug!(path, code = ?status.code(), message = status.message(), "call refused at the gate");
    metrics().rejected(path, status.code());
    status.into_http()
}

impl<S, B, R> Service<http::Request<B>> for Gated<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // One look-up in the method table serves the access rule and the timing.
        let found = methods::find(request.uri().path());
        if let Some(tokens) = &self.gate.tokens {
            let path = request.uri().path();
            let authorization = request.headers().get(http::header::AUTHORIZATION).map(|v| v.as_bytes());
            let access = access_of(path, found.map(|(_, m)| m));
            let admitted = tokens.admit_to(access, path, authorization);
            let is_admins = access == Access::AtLeast(Role::Admin);
            // Who made a change, for the administrators' calls that record it; not on the
            // decision path, where the extension's allocation would cost every call.
            if let Ok(Some(holder)) = &admitted
                && is_admins
            {
                let holder = holder.clone();
                request.extensions_mut().insert(holder);
            }
            let path = request.uri().path();
            if let Err(refusal) = admitted {
                let status = match refusal {
                    Refusal::Missing | Refusal::Unknown => Status::unauthenticated(refusal.to_string()),
                    Refusal::Forbidden { .. } => Status::permission_denied(refusal.to_string()),
                };
                let response = refuse(path, status);
                return Box::pin(std::future::ready(Ok(response)));
            }
        }
        let path = request.uri().path();
        if !path.starts_with("/grpc.") && !(self.gate.ready)() {
            let status = Status::unavailable("this node is rebuilding its memory from the database; retry shortly");
            let response = refuse(path, status);
            return Box::pin(std::future::ready(Ok(response)));
        }
        let Ok(permit) = self.gate.calls.clone().try_acquire_owned() else {
            let status = Status::resource_exhausted(format!(
                "the server is answering {} calls, its limit (max_concurrent_calls); retry shortly",
                self.gate.max_calls
            ));
            let response = refuse(path, status);
            return Box::pin(std::future::ready(Ok(response)));
        };
        // Streams are timed per message by their handlers, not here.
        let timed = !found.is_some_and(|(_, m)| m.streaming);
        let method = found.map_or(crate::metrics::OTHER_METHOD, |(i, _)| i);
        let started = Instant::now();
        // The tower idiom: call the clone that was made ready, keep a fresh one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            drop(permit);
            if timed {
                metrics().rpc(method, started.elapsed());
            }
            relabel_oversized(&mut response);
            Ok(response)
        })
    }
}

/// tonic's "message length too large" (OUT_OF_RANGE) → RESOURCE_EXHAUSTED.
fn relabel_oversized<R>(response: &mut http::Response<R>) {
    let headers = response.headers_mut();
    let oversized = headers.get("grpc-status").is_some_and(|s| s.as_bytes() == b"11")
        && headers.get("grpc-message").is_some_and(|m| {
            let contains = |needle: &[u8]| m.as_bytes().windows(needle.len()).any(|w| w == needle);
            contains(b"too large") || contains(b"too%20large")
        });
    if oversized {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_message_refusal_becomes_resource_exhausted() {
        let status =
            Status::out_of_range("Error, decoded message length too large: found 9000 bytes, the limit is: 4096 bytes");
        let mut response: http::Response<()> = status.into_http();
        relabel_oversized(&mut response);
        let relabelled = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(relabelled.code(), tonic::Code::ResourceExhausted);
        assert!(relabelled.message().contains("too large"));
    }

    #[test]
    fn other_out_of_range_answers_are_left_alone() {
        let mut response: http::Response<()> = Status::out_of_range("page 9 of 3").into_http();
        relabel_oversized(&mut response);
        assert_eq!(
            Status::from_header_map(response.headers()).unwrap().code(),
            tonic::Code::OutOfRange
        );
    }
}
