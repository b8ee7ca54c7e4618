//! `POST /v1/dnc/{list}:import?mode=replace|add|remove`: a Do Not Call list file as the
//! body (one number per line: the registry's download, or E.164), streamed.
//!
//! The body is read as it arrives and sent on as `ImportDoNotCall` chunks through the same
//! service stack a gRPC client reaches (tokens, roles, validation), so an upload of tens of
//! millions of numbers is never held whole. The answer is the `ImportSummary` as JSON; a
//! line that is not a number refuses the whole import, naming the line.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::HttpApi;
use super::lines::{authorized, chunks_of_lines, summary_json};
use super::status::Failure;
use crate::api::dnc_lines::{LINES_PER_CHUNK, by_line, chunk, mode};
use crate::proto::v1::programs_client::ProgramsClient;

pub(super) async fn import(State(api): State<HttpApi>, Path(spec): Path<String>, request: Request) -> Response {
    match run(&api, &spec, request).await {
        Ok(json) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            json,
        )
            .into_response(),
        Err(failure) => failure.into_response(),
    }
}

fn invalid(message: String) -> Failure {
    Failure::grpc(tonic::Code::InvalidArgument, message)
}

async fn run(api: &HttpApi, spec: &str, request: Request) -> Result<Vec<u8>, Failure> {
    let Some(list) = spec.strip_suffix(":import") else {
        return Err(Failure::http(
            StatusCode::NOT_FOUND,
            tonic::Code::NotFound,
            format!("no route for /v1/dnc/{spec} (POST /v1/dnc/{{list}}:import)"),
        ));
    };
    let query = request.uri().query().unwrap_or("");
    let mode_text = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("mode="))
        .unwrap_or("");
    let mode = mode(mode_text).map_err(invalid)?;
    let list = list.to_string();
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let mut first = Some((list, mode));
    let rx = chunks_of_lines(request.into_body(), LINES_PER_CHUNK, move |lines| {
        chunk(lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m)))
    });
    let summary = ProgramsClient::new(api.grpc.clone())
        .import_do_not_call(authorized(rx, authorization))
        .await
        .map_err(|status| Failure::grpc(status.code(), by_line(status.message())))?
        .into_inner();
    summary_json(&summary)
}
