//! Binding: the gRPC address, the HTTP/JSON one (HTTPS when TLS is configured) and the
//! metrics one. Every address is bound before `listening on` is logged, so the line that
//! says the server is up comes after all of them are known (port 0 picks a free port).

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::security::Security;
use super::{ServeError, ServeOptions};

/// The bound listeners.
pub(super) struct Listeners {
    pub grpc: TcpListener,
    pub grpc_addr: SocketAddr,
    pub http: Option<HttpListener>,
}

/// The HTTP/JSON listener, bound and not yet serving: plain, or handshaking TLS.
pub(super) enum HttpListener {
    Plain(TcpListener),
    Tls(crate::api::http::tls::TlsListener),
}

impl Listeners {
    /// Binds every configured address; the metrics endpoint starts serving at once (it
    /// reads nothing of the engine's), until `stop`.
    pub async fn bind(
        options: &ServeOptions,
        security: &Security,
        stop: &CancellationToken,
    ) -> Result<Listeners, ServeError> {
        let (grpc, grpc_addr) = bind(options.listen).await?;
        if let Some(addr) = options.metrics_listen {
            let (listener, bound) = bind(addr).await?;
            tracing::info!("metrics on http://{bound}/metrics");
            let stopping = stop.clone().cancelled_owned();
            tokio::spawn(async move {
                if let Err(e) = crate::metrics::serve(listener, stopping).await {
                    tracing::error!(error = %e, "the metrics endpoint stopped");
                }
            });
        }
        let http = match options.http_listen {
            None => None,
            Some(addr) => {
                let (listener, bound) = bind(addr).await?;
                let (scheme, listener) = match security.http_tls.clone() {
                    None => ("http", HttpListener::Plain(listener)),
                    Some(config) => {
                        let tls = crate::api::http::tls::TlsListener::new(listener, config)
                            .map_err(|source| ServeError::Bind { addr, source })?;
                        ("https", HttpListener::Tls(tls))
                    }
                };
                tracing::info!("HTTP/JSON on {scheme}://{bound}/v1/openapi.json");
                Some(listener)
            }
        };
        Ok(Listeners { grpc, grpc_addr, http })
    }
}

impl HttpListener {
    /// Serves `router` until `stop`, in a task of its own.
    pub fn serve(self, router: axum::Router, stop: CancellationToken) {
        let stopping = stop.cancelled_owned();
        match self {
            HttpListener::Plain(listener) => spawn_http(listener, router, stopping, "HTTP/JSON"),
            HttpListener::Tls(listener) => spawn_http(listener, router, stopping, "HTTPS/JSON"),
        }
    }
}

fn spawn_http<L>(
    listener: L,
    router: axum::Router,
    stopping: impl std::future::Future<Output = ()> + Send + 'static,
    what: &'static str,
) where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stopping).await {
            tracing::error!(error = %e, "the {what} listener stopped");
        }
    });
}

/// Binds `addr`; answers the listener and the address it got.
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let failed = |source| ServeError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    Ok((listener, bound))
}
