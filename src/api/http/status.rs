//! A failed HTTP/JSON call: the `google.rpc.Status` JSON (`code`, `message`, `details`)
//! with the HTTP status of its gRPC code, the mapping Google's APIs, Envoy and
//! grpc-gateway use.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tonic::Code;

/// What a failed call answers.
#[derive(Debug)]
pub struct Failure {
    pub http: StatusCode,
    pub code: Code,
    pub message: String,
    /// For a 405: the methods the path answers, for the `Allow` header HTTP requires.
    pub allow: Option<String>,
}

impl Failure {
    /// A failure with the HTTP status of its gRPC code.
    pub fn grpc(code: Code, message: String) -> Failure {
        Failure {
            http: http_status(code),
            code,
            message,
            allow: None,
        }
    }

    /// A failure of HTTP itself (no route, a wrong verb, a body too large).
    pub fn http(http: StatusCode, code: Code, message: String) -> Failure {
        Failure {
            http,
            code,
            message,
            allow: None,
        }
    }

    /// 405: `path` answers only the `allowed` methods (named in the `Allow` header too).
    pub fn method_not_allowed(path: &str, allowed: &[&str]) -> Failure {
        let allow = allowed.join(", ");
        Failure {
            http: StatusCode::METHOD_NOT_ALLOWED,
            code: Code::Unimplemented,
            message: format!("{path} answers {allow}"),
            allow: Some(allow),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code as i32, "message": self.message, "details": []});
        let mut response = (self.http, axum::Json(body)).into_response();
        if let Some(allow) = self.allow.and_then(|a| http::HeaderValue::from_str(&a).ok()) {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        response
    }
}

/// The HTTP status of a gRPC code (google/rpc/code.proto's table).
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status"),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_grpc_code_has_the_http_status_googles_table_gives_it() {
        let table = [
            (Code::InvalidArgument, 400),
            (Code::FailedPrecondition, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::ResourceExhausted, 429),
            (Code::Cancelled, 499),
            (Code::Internal, 500),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
        ];
        for (code, status) in table {
            assert_eq!(http_status(code).as_u16(), status, "{code:?}");
        }
    }
}
