//! A request body read line by line and sent on in chunks of lines, as it arrives: how the
//! file uploads (Do Not Call lists, Reassigned Numbers Database answers) reach the same
//! streaming RPCs a gRPC client calls, without holding the file whole.

use axum::body::Body;
use futures_util::StreamExt;

use super::status::Failure;

/// Sends `body`'s lines (trimmed), `per_chunk` at a time, each chunk made by `make`; at
/// least one chunk, empty for an empty body (so the stream says which import it is). A
/// read that fails ends the stream early; the receiver dropped stops the reading.
pub(super) fn chunks_of_lines<T: Send + 'static>(
    body: Body,
    per_chunk: usize,
    mut make: impl FnMut(&[String]) -> T + Send + 'static,
) -> tokio::sync::mpsc::Receiver<T> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let mut body = body.into_data_stream();
    tokio::spawn(async move {
        let mut pending = Vec::new();
        let mut lines = Vec::with_capacity(per_chunk);
        let mut sent = false;
        while let Some(Ok(bytes)) = body.next().await {
            pending.extend_from_slice(&bytes);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                lines.push(String::from_utf8_lossy(&line).trim().to_string());
                if lines.len() == per_chunk {
                    if tx.send(make(&lines)).await.is_err() {
                        return;
                    }
                    sent = true;
                    lines.clear();
                }
            }
        }
        if !pending.is_empty() {
            lines.push(String::from_utf8_lossy(&pending).trim().to_string());
        }
        if !lines.is_empty() || !sent {
            let _ = tx.send(make(&lines)).await;
        }
    });
    rx
}

/// The streaming call over `rx`, with the HTTP request's `authorization` passed on (so the
/// upload passes the same gate a gRPC client does).
pub(super) fn authorized<T>(
    rx: tokio::sync::mpsc::Receiver<T>,
    authorization: Option<http::HeaderValue>,
) -> tonic::Request<tokio_stream::wrappers::ReceiverStream<T>> {
    let mut call = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    if let Some(value) = authorization.and_then(|a| a.to_str().ok().and_then(|v| v.parse().ok())) {
        call.metadata_mut().insert("authorization", value);
    }
    call
}

/// An import's `ImportSummary` as the JSON an HTTP client reads.
pub(super) fn summary_json(summary: &crate::proto::v1::ImportSummary) -> Result<Vec<u8>, Failure> {
    use prost::Message;
    let descriptor = crate::proto::json::pool()
        .get_message_by_name("predial.v1.ImportSummary")
        .expect("the contract has ImportSummary");
    crate::proto::json::encoded_to_json(&descriptor, &summary.encode_to_vec())
        .map_err(|e| Failure::grpc(tonic::Code::Internal, e))
}
