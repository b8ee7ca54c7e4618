//! HTTP/JSON beside gRPC (`--http-listen`): every unary RPC at the path its
//! `google.api.http` annotation gives it, the evidence export, the OpenAPI document of them, health, and the
//! metrics.
//!
//! - [`routes`]: the annotations, read from the descriptor set (shared with `build.rs`,
//!   which writes the OpenAPI document from the same table);
//! - `transcode`: JSON in, the same gRPC service stack a gRPC client reaches, JSON out;
//! - `status`: errors as `google.rpc.Status` with the HTTP status of the code;
//! - `evidence`: `GET /v1/evidence`, the export streamed as CSV or NDJSON;
//! - `dnc`: `POST /v1/dnc/{list}:import`, a Do Not Call list file streamed in;
//! - `reassigned`: `POST /v1/reassigned:import`, Reassigned Numbers Database answers (CSV)
//!   streamed in; `lines`: how both read a body line by line.
//!
//! There is no second implementation of anything: a call over HTTP passes the same gate
//! (tokens, roles, shedding), the same validation and the same engine call as over gRPC.

mod dnc;
mod evidence;
mod lines;
mod reassigned;
pub mod routes;
mod status;
pub mod tls;
mod transcode;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use prost::Message;
use prost_reflect::DescriptorPool;

pub use status::http_status;
pub use transcode::Grpc;

use routes::Route;
use status::Failure;

/// The OpenAPI 3 document, written by `build.rs` from the descriptors.
pub const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// What the HTTP listener answers with.
#[derive(Clone)]
pub struct HttpApi {
    routes: Arc<Vec<Route>>,
    grpc: Grpc,
    max_body: usize,
    timeout: Duration,
}

impl HttpApi {
    /// The API over `grpc` (the gated service stack of the gRPC server), taking bodies of
    /// up to `max_body` bytes and cutting calls off after `timeout`, as gRPC does.
    pub fn new(grpc: Grpc, max_body: usize, timeout: Duration) -> HttpApi {
        let pool =
            DescriptorPool::decode(crate::proto::v1::FILE_DESCRIPTOR_SET).expect("the built-in descriptor set decodes");
        let routes = routes::routes(&pool).expect("build.rs checked the routes");
        HttpApi {
            routes: Arc::new(routes),
            grpc,
            max_body,
            timeout,
        }
    }

    /// The router: the console at `/`, `/v1/openapi.json`, `/v1/health`, `/metrics`, and
    /// every route; a change asked from a page of another origin is refused
    /// ([`same_origin_only`]).
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .merge(crate::api::console::router())
            .route("/v1/openapi.json", axum::routing::get(openapi))
            .route("/v1/health", axum::routing::get(health))
            .route("/v1/evidence", axum::routing::get(evidence::export))
            .route("/v1/dnc/{spec}", axum::routing::post(dnc::import))
            .route("/v1/reassigned:import", axum::routing::post(reassigned::import))
            .fallback(call)
            .with_state(self)
            .merge(crate::metrics::router())
            .layer(axum::middleware::from_fn(same_origin_only))
    }
}

/// A request that may change something (any verb but GET, HEAD and OPTIONS) sent by a
/// browser from a page of another origin is refused, 403, before it is read: a browser
/// says where a request comes from (`Origin`, `Sec-Fetch-Site`), and a forged form on
/// another site must change nothing even where no token is configured. Clients that are
/// not browsers send neither header and are not affected.
async fn same_origin_only(request: Request, next: axum::middleware::Next) -> Response {
    let reads = matches!(
        *request.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    if !reads && is_cross_origin(request.headers(), request.uri()) {
        return Failure::http(
            StatusCode::FORBIDDEN,
            tonic::Code::PermissionDenied,
            "a request from a page of another origin may not change anything".into(),
        )
        .into_response();
    }
    next.run(request).await
}

fn is_cross_origin(headers: &http::HeaderMap, uri: &http::Uri) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // HTTP/1.1 names the host in `Host`, HTTP/2 in the request's authority.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or_default();
    // `null` (a sandboxed page, a file) or another host: not this origin.
    origin
        .split_once("://")
        .is_none_or(|(_, authority)| !authority.eq_ignore_ascii_case(host))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn call(State(api): State<HttpApi>, request: Request) -> Response {
    let answered = tokio::time::timeout(
        api.timeout,
        transcode::transcode(&api.routes, &api.grpc, request, api.max_body),
    )
    .await;
    match answered {
        Ok(Ok(json)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            json,
        )
            .into_response(),
        Ok(Err(failure)) => failure.into_response(),
        Err(_) => Failure::grpc(
            tonic::Code::DeadlineExceeded,
            format!("no answer within {:?} (request_timeout)", api.timeout),
        )
        .into_response(),
    }
}

/// `grpc.health.v1.Health/Check` for the whole server, through the same stack.
async fn health(State(api): State<HttpApi>) -> Response {
    use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_check_response::ServingStatus};
    let request = HealthCheckRequest { service: String::new() }.encode_to_vec();
    let serving = match transcode::unary(&api.grpc, "/grpc.health.v1.Health/Check", request, None).await {
        Ok(answer) => HealthCheckResponse::decode(answer).is_ok_and(|a| a.status == ServingStatus::Serving as i32),
        Err(_) => false,
    };
    let (status, name) = if serving {
        (StatusCode::OK, "SERVING")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING")
    };
    (status, axum::Json(serde_json::json!({ "status": name }))).into_response()
}
