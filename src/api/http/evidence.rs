//! `GET /v1/evidence`: the evidence export over HTTP, streamed as CSV with a header row
//! (`format=csv`, the default) or NDJSON (`format=ndjson`).
//!
//! The query string is the `ExportRequest` (`consumerId`, `from`, `to`, `kinds`) in the
//! one spelling every request has. The route calls `Compliance.Export` through the same
//! service stack a gRPC client reaches — tokens, roles, validation — and writes each record
//! as it arrives, so neither side holds the export. A refusal before the first record is
//! the usual `google.rpc.Status` JSON with its HTTP status; a failure part way cuts the
//! body off (the client sees an incomplete transfer, never a short file that looks whole).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use http::{HeaderValue, header};
use prost::Message;

use super::HttpApi;
use super::status::Failure;
use super::transcode::message_from_query;
use crate::api::export_format::{Format, header as file_header, line};
use crate::proto::v1::{self as pb, compliance_client::ComplianceClient};

pub(super) async fn export(State(api): State<HttpApi>, request: Request) -> Response {
    match start(&api, request).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn start(api: &HttpApi, request: Request) -> Result<Response, Failure> {
    let query = request.uri().query().unwrap_or("");
    let (format, rest) = take_format(query)?;
    let input = crate::proto::json::pool()
        .get_message_by_name("predial.v1.ExportRequest")
        .expect("the contract has ExportRequest");
    let export = pb::ExportRequest::decode(message_from_query(&input, &rest)?.as_slice())
        .map_err(|e| Failure::grpc(tonic::Code::Internal, e.to_string()))?;
    let mut call = tonic::Request::new(export);
    if let Some(authorization) = request.headers().get(header::AUTHORIZATION)
        && let Ok(value) = authorization.to_str()
        && let Ok(value) = value.parse()
    {
        call.metadata_mut().insert("authorization", value);
    }
    let records = ComplianceClient::new(api.grpc.clone())
        .export(call)
        .await
        .map_err(|status| Failure::grpc(status.code(), status.message().to_string()))?
        .into_inner();
    let lines = records.map(move |r| match r {
        Ok(record) => Ok(bytes::Bytes::from(line(format, &record))),
        Err(status) => Err(std::io::Error::other(status.message().to_string())),
    });
    let body = futures_util::stream::once(async move { Ok(bytes::Bytes::from(file_header(format))) }).chain(lines);
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()))],
        Body::from_stream(body),
    )
        .into_response())
}

/// `format` out of the query string, and the rest (the request's fields).
fn take_format(query: &str) -> Result<(Format, String), Failure> {
    let mut format = Format::Csv;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("format", value)) => {
                format = Format::parse(value)
                    .map_err(|e| Failure::grpc(tonic::Code::InvalidArgument, format!("format: {e}")))?;
            }
            _ => rest.push(pair),
        }
    }
    Ok((format, rest.join("&")))
}
