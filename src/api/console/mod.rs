//! The compliance console: a page, a script and a style sheet, compiled into the binary
//! and served at `/` on the HTTP listener. It is a client of the HTTP/JSON API and nothing
//! more — every action is an API call with the signed-in token, so the same roles decide
//! what it may do and it opens no path of its own into the engine (`docs/console.md`).
//!
//! Every asset is answered with a `Content-Security-Policy` that allows scripts, styles
//! and connections from this origin only and no inline script, and with `nosniff`,
//! no referrer, and no framing.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// What the console's pages may load and run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes: `/` and its assets under `/console/`.
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/console/app.js",
            axum::routing::get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/console/app.css",
            axum::routing::get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}

/// Bytes the console sends on a first load (page, script, style sheet).
pub fn first_load_bytes() -> usize {
    INDEX.len() + APP_JS.len() + APP_CSS.len()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
