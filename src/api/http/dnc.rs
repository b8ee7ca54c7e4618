//! `POST /v1/dnc/{list}:import?mode=replace|add|remove`: a Do Not Call list file as the
//! body (one number per line: the registry's download, or E.164), streamed.
//!
//! The body is read as it arrives and sent on as `ImportDoNotCall` chunks through the same
//! service stack a gRPC client reaches (tokens, roles, validation), so an upload of tens of
//! millions of numbers is never held whole. The answer is the `ImportSummary` as JSON; a
//! line that is not a number refuses the whole import, naming the line.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use http::{HeaderValue, StatusCode, header};
use prost::Message;

use super::HttpApi;
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
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let mut body = request.into_body().into_data_stream();
    // The body, line by line, into chunks; a read that fails ends the stream, and the
    // import with it (uncommitted: nothing changes).
    tokio::spawn(async move {
        let mut pending = Vec::new();
        let mut lines = Vec::with_capacity(LINES_PER_CHUNK);
        let mut first = Some((list, mode));
        while let Some(Ok(bytes)) = body.next().await {
            pending.extend_from_slice(&bytes);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                lines.push(String::from_utf8_lossy(&line).trim().to_string());
                if lines.len() == LINES_PER_CHUNK {
                    let sent = chunk(&lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m)));
                    if tx.send(sent).await.is_err() {
                        return;
                    }
                    lines.clear();
                }
            }
        }
        if !pending.is_empty() {
            lines.push(String::from_utf8_lossy(&pending).trim().to_string());
        }
        if !lines.is_empty() || first.is_some() {
            let _ = tx
                .send(chunk(&lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m))))
                .await;
        }
    });
    let mut call = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    if let Some(value) = authorization.and_then(|a| a.to_str().ok().and_then(|v| v.parse().ok())) {
        call.metadata_mut().insert("authorization", value);
    }
    let summary = ProgramsClient::new(api.grpc.clone())
        .import_do_not_call(call)
        .await
        .map_err(|status| Failure::grpc(status.code(), by_line(status.message())))?
        .into_inner();
    let descriptor = crate::proto::json::pool()
        .get_message_by_name("predial.v1.ImportSummary")
        .expect("the contract has ImportSummary");
    crate::proto::json::encoded_to_json(&descriptor, &summary.encode_to_vec())
        .map_err(|e| Failure::grpc(tonic::Code::Internal, e))
}
