//! `POST /v1/reassigned:import`: a CSV of Reassigned Numbers Database answers as the body
//! (`number,as_of,answer,checked_at`, a header line allowed), streamed.
//!
//! The body is read as it arrives and sent on as `ImportReassigned` chunks through the same
//! service stack a gRPC client reaches (tokens, roles, validation). The answer is the
//! `ImportSummary` as JSON; a line that cannot be read refuses the whole import, naming the
//! line.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use super::HttpApi;
use super::lines::{authorized, chunks_of_lines, summary_json};
use super::status::Failure;
use crate::api::reassigned_rows::{Chunks, LINES_PER_CHUNK};
use crate::proto::v1::programs_client::ProgramsClient;

pub(super) async fn import(State(api): State<HttpApi>, request: Request) -> Response {
    match run(&api, request).await {
        Ok(json) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            json,
        )
            .into_response(),
        Err(failure) => failure.into_response(),
    }
}

async fn run(api: &HttpApi, request: Request) -> Result<Vec<u8>, Failure> {
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let chunks = Chunks::default();
    let rx = chunks_of_lines(request.into_body(), LINES_PER_CHUNK, chunks.maker());
    let summary = ProgramsClient::new(api.grpc.clone())
        .import_reassigned(authorized(rx, authorization))
        .await
        .map_err(|status| Failure::grpc(status.code(), chunks.explain(status.message())))?
        .into_inner();
    summary_json(&summary)
}
