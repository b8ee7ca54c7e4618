//! One HTTP/JSON request turned into the gRPC call its route names, and the answer back.
//!
//! This is what Envoy's gRPC-JSON transcoder does, in process: the JSON body (with the
//! path's variables and, for a request without a body, the query string) becomes the
//! request message by its descriptor, in the canonical proto3 JSON mapping; the message is
//! framed and sent, with the caller's `authorization` header, through the very service
//! stack a gRPC client reaches — the [`Gate`](crate::api::Gate) (tokens, roles, shedding,
//! timing), then the tonic service — so validation, roles and engine calls have one code
//! path. The answer's message is written back as canonical JSON; a failed call becomes the
//! `google.rpc.Status` JSON with the HTTP status of its code (`super::status`).

use std::convert::Infallible;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Map, Value};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::routes::{Body, Route};
use super::status::Failure;

/// The gRPC service stack HTTP calls go through.
pub type Grpc = BoxCloneSyncService<Request<tonic::body::Body>, Response<tonic::body::Body>, Infallible>;

/// Answers a request by the route whose template fits its path.
pub async fn transcode(
    routes: &[Route],
    grpc: &Grpc,
    request: Request<axum::body::Body>,
    max_body: usize,
) -> Result<Vec<u8>, Failure> {
    let path = request.uri().path().to_string();
    let fitting: Vec<(&Route, Vec<(&str, &str)>)> = routes
        .iter()
        .filter_map(|r| r.matches(&path).map(|vars| (r, vars)))
        .collect();
    let Some((route, vars)) = fitting.iter().find(|(r, _)| *r.verb == *request.method().as_str()) else {
        return Err(if fitting.is_empty() {
            Failure::http(
                StatusCode::NOT_FOUND,
                tonic::Code::NotFound,
                format!("no route for {path}"),
            )
        } else {
            let allowed: Vec<&str> = fitting.iter().map(|(r, _)| r.verb).collect();
            Failure::method_not_allowed(&path, &allowed)
        });
    };
    let input = route.method.input();
    let authorization = request.headers().get(header::AUTHORIZATION).cloned();
    let mut fields = match route.body {
        Body::Whole => body_fields(request.into_body(), max_body).await?,
        Body::None => query_fields(&input, request.uri().query().unwrap_or(""))?,
    };
    for (name, raw) in vars {
        let value = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| invalid(format!("{name}: the path segment is not UTF-8")))?
            .into_owned();
        let json_name = input.get_field_by_name(name).map(|f| f.json_name().to_string());
        for key in [Some(name.to_string()), json_name].into_iter().flatten() {
            if let Some(given) = fields.get(&key)
                && given != &Value::String(value.clone())
            {
                return Err(invalid(format!("{name}: the path says {value:?} and the body {given}")));
            }
            fields.remove(&key);
        }
        fields.insert(name.to_string(), Value::String(value));
    }
    // One spelling for bodies and rule files (short enum names too); the error names the
    // path of the field that does not fit, as gRPC's do.
    let message = crate::proto::json::message_from_json(Value::Object(fields), &input).map_err(invalid)?;
    let answer = unary(grpc, &route.grpc_path(), message.encode_to_vec(), authorization).await?;
    crate::proto::json::encoded_to_json(&route.method.output(), &answer)
        .map_err(|e| Failure::grpc(tonic::Code::Internal, e))
}

/// One unary gRPC call through `grpc`: `payload` is the encoded request message; answers
/// the encoded response message, or the call's status as a failure.
pub async fn unary(
    grpc: &Grpc,
    path: &str,
    payload: Vec<u8>,
    authorization: Option<HeaderValue>,
) -> Result<Bytes, Failure> {
    let mut frame = BytesMut::with_capacity(5 + payload.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(payload.len()).map_err(|_| invalid("the request is too large".into()))?);
    frame.put_slice(&payload);
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/grpc")
        .header(header::TE, "trailers")
        .body(tonic::body::Body::new(http_body_util::Full::new(frame.freeze())))
        .map_err(|e| Failure::grpc(tonic::Code::Internal, e.to_string()))?;
    if let Some(authorization) = authorization {
        request.headers_mut().insert(header::AUTHORIZATION, authorization);
    }
    let response = match grpc.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    // A call refused before it ran answers in the headers alone ("trailers-only").
    if let Some(failed) = failure(&parts.headers) {
        return Err(failed);
    }
    let collected = body
        .collect()
        .await
        .map_err(|e| Failure::grpc(tonic::Code::Unavailable, format!("the call broke off: {e}")))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    if let Some(failed) = failure(&trailers) {
        return Err(failed);
    }
    let data = collected.to_bytes();
    if data.len() < 5 || data[0] != 0 {
        return Err(Failure::grpc(
            tonic::Code::Internal,
            "the answer is not one uncompressed message".into(),
        ));
    }
    let length = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    if data.len() != 5 + length {
        return Err(Failure::grpc(
            tonic::Code::Internal,
            "the answer is not one message".into(),
        ));
    }
    Ok(data.slice(5..))
}

/// The failure `grpc-status` names, if it names one.
fn failure(headers: &http::HeaderMap) -> Option<Failure> {
    let code = headers.get("grpc-status")?.to_str().ok()?.parse::<i32>().ok()?;
    let code = tonic::Code::from_i32(code);
    if code == tonic::Code::Ok {
        return None;
    }
    let message = headers
        .get("grpc-message")
        .map(|m| {
            percent_encoding::percent_decode(m.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    Some(Failure::grpc(code, message))
}

/// The body's JSON object (`{}` when the body is empty).
async fn body_fields(body: axum::body::Body, max_body: usize) -> Result<Map<String, Value>, Failure> {
    let bytes = axum::body::to_bytes(body, max_body).await.map_err(|_| {
        Failure::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            tonic::Code::ResourceExhausted,
            format!("the body is over {max_body} bytes"),
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(invalid("the body is not a JSON object".into())),
        Err(e) => Err(invalid(format!("the body is not JSON: {e}"))),
    }
}

/// A request message read from a query string (`?consumerId=c1&from=…`), in the one JSON
/// spelling of every request: what the routes that stream read their request from.
pub fn message_from_query(input: &MessageDescriptor, query: &str) -> Result<Vec<u8>, Failure> {
    let fields = query_fields(input, query)?;
    let message = crate::proto::json::message_from_json(Value::Object(fields), input).map_err(invalid)?;
    Ok(message.encode_to_vec())
}

/// A request without a body names its fields in the query string: `?consumerId=c1`,
/// `?at=2026-06-02T15:00:00Z`, repeated keys for a repeated field, `a.b` for a nested one.
fn query_fields(input: &MessageDescriptor, query: &str) -> Result<Map<String, Value>, Failure> {
    let mut fields = Map::new();
    for (key, value) in form_urlencoded(query) {
        let mut message = input.clone();
        let mut object = &mut fields;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let field = message
                .get_field_by_name(part)
                .or_else(|| message.get_field_by_json_name(part))
                .ok_or_else(|| invalid(format!("{key}: no such field in {}", message.name())))?;
            let name = field.name().to_string();
            if i + 1 < parts.len() {
                let Kind::Message(inner) = field.kind() else {
                    return Err(invalid(format!("{key}: {part} is not a message")));
                };
                let entry = object.entry(name).or_insert_with(|| Value::Object(Map::new()));
                object = entry
                    .as_object_mut()
                    .ok_or_else(|| invalid(format!("{key}: given twice")))?;
                message = inner;
                continue;
            }
            // Canonical JSON takes numbers and enums as strings, but a bool only as a bool.
            let scalar = match field.kind() {
                Kind::Bool => match value.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => return Err(invalid(format!("{key}: {other:?} is not true or false"))),
                },
                _ => Value::String(value.clone()),
            };
            if field.is_list() {
                match object.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
                    Value::Array(items) => items.push(scalar),
                    _ => return Err(invalid(format!("{key}: given twice"))),
                }
            } else if object.insert(name, scalar).is_some() {
                return Err(invalid(format!("{key}: given twice")));
            }
        }
    }
    Ok(fields)
}

fn form_urlencoded(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn invalid(message: String) -> Failure {
    Failure::grpc(tonic::Code::InvalidArgument, message)
}
