//! Starting, serving and stopping — in one place.
//!
//! [`run`] opens the store and rebuilds memory, binds, logs `listening on <addr>`, serves
//! every service (with grpc.health.v1 and server reflection), and on SIGTERM or Ctrl-C stops accepting, ends open `CanDial` streams
//! after the decision in hand, waits up to the drain time for in-flight calls, and flushes
//! the store before returning.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::api::auth::{TokenEntry, Tokens};
use crate::api::{AccountsService, ComplianceService, DecisionsService, Gate, ProgramsService, RulesService};
use crate::domain::{FieldErrors, RuleSetDraft};
use crate::proto::v1::{
    accounts_server::AccountsServer, compliance_server::ComplianceServer, decisions_server::DecisionsServer,
    programs_server::ProgramsServer, rules_server::RulesServer,
};
use crate::state::{Engine, EngineError, EngineOptions};
use crate::store::PgStore;
use crate::store::postgres::PgOptions;

/// The services of the contract, by their full names.
const SERVICES: [&str; 5] = [
    "predial.v1.Decisions",
    "predial.v1.Accounts",
    "predial.v1.Rules",
    "predial.v1.Programs",
    "predial.v1.Compliance",
];

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The embedded store's directory (created when missing).
    pub data: PathBuf,
    /// Run as a cluster node on this PostgreSQL database instead of the embedded store.
    pub store: Option<PgOptions>,
    /// A rule file (JSON) to make active at start.
    pub rules: Option<PathBuf>,
    /// How long shutdown waits for in-flight calls.
    pub drain: Duration,
    /// How long a click-to-dial prompt token can be answered.
    pub prompt_ttl: Duration,
    /// Listen beyond loopback with no authentication.
    pub insecure: bool,
    /// Bearer tokens; none: every caller is admitted.
    pub tokens: Vec<TokenEntry>,
    pub tls: Option<TlsFiles>,
    /// Where to serve `/metrics`; none: not served.
    pub metrics_listen: Option<SocketAddr>,
    /// Where to serve the HTTP/JSON API; none: not served.
    pub http_listen: Option<SocketAddr>,
    pub limits: Limits,
}

impl ServeOptions {
    /// Loopback, the embedded store under `data`, the preset rules, no auth, default limits.
    pub fn local(listen: SocketAddr, data: PathBuf) -> ServeOptions {
        ServeOptions {
            listen,
            data,
            store: None,
            rules: None,
            drain: Duration::from_secs(10),
            prompt_ttl: Duration::from_secs(300),
            insecure: false,
            tokens: Vec::new(),
            tls: None,
            metrics_listen: None,
            http_listen: None,
            limits: Limits::default(),
        }
    }
}

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Present: clients must show a certificate signed by this CA (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// What one server takes on before it sheds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_concurrent_calls: usize,
    pub max_open_streams: usize,
    pub max_message_bytes: usize,
    /// The longest a unary call may run, whatever the client's deadline.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent_calls: 4096,
            max_open_streams: 1024,
            max_message_bytes: 4 << 20,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Each stream's HTTP/2 receive window: what a client can have sent and we not yet read.
const STREAM_WINDOW: u32 = 1 << 20;
const CONNECTION_WINDOW: u32 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the rule file {path}: {source}")]
    RulesFile { path: PathBuf, source: std::io::Error },
    #[error("the rule file {path} is not valid: {errors}")]
    RulesInvalid { path: PathBuf, errors: FieldErrors },
    #[error("cannot open the store: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("start-up was interrupted: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("the reflection service cannot read the contract: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(
        "refusing to listen on {addr} with no authentication: configure tokens or client certificates \
         (see docs/operations.md), or pass --insecure"
    )]
    Unprotected { addr: SocketAddr },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot read {path}: {source}")]
    TlsFile { path: PathBuf, source: std::io::Error },
}

/// Reads the PEM files into tonic's TLS settings.
fn tls_config(files: &TlsFiles) -> Result<ServerTlsConfig, ServeError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|source| ServeError::TlsFile {
            path: path.clone(),
            source,
        })
    };
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        config = config.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(config)
}

/// Serves until SIGTERM or Ctrl-C.
pub async fn run(options: ServeOptions) -> Result<(), ServeError> {
    let stop = CancellationToken::new();
    let signalled = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: draining open calls");
        signalled.cancel();
    });
    serve_until(options, stop).await
}

/// Serves until `stop` is cancelled.
pub async fn serve_until(options: ServeOptions, stop: CancellationToken) -> Result<(), ServeError> {
    let tokens = Tokens::new(&options.tokens).map_err(ServeError::Config)?;
    let mutual_tls = options.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
    // The same rules for both listeners: the HTTP/JSON one serves the same calls.
    for addr in std::iter::once(options.listen).chain(options.http_listen) {
        if !addr.ip().is_loopback() && tokens.is_empty() && !mutual_tls && !options.insecure {
            return Err(ServeError::Unprotected { addr });
        }
        if !addr.ip().is_loopback() && !tokens.is_empty() && options.tls.is_none() {
            tracing::warn!(%addr, "bearer tokens are configured without TLS: they cross the network in clear text");
        }
    }
    // HTTPS for the HTTP/JSON listener whenever gRPC has TLS.
    let http_tls = match (&options.tls, options.http_listen) {
        (Some(files), Some(_)) => Some(
            crate::api::http::tls::server_config(&crate::api::http::tls::TlsFiles {
                cert: &files.cert,
                key: &files.key,
                client_ca: files.client_ca.as_deref(),
            })
            .map_err(ServeError::Config)?,
        ),
        _ => None,
    };
    let tls = options.tls.as_ref().map(tls_config).transpose()?;
    let rules = match &options.rules {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ServeError::RulesFile {
                path: path.clone(),
                source,
            })?;
            let draft = RuleSetDraft::from_json(&text).map_err(|errors| ServeError::RulesInvalid {
                path: path.clone(),
                errors,
            })?;
            crate::domain::RuleSet::compile(draft.clone(), 0).map_err(|errors| ServeError::RulesInvalid {
                path: path.clone(),
                errors,
            })?;
            Some(draft)
        }
    };
    let prompt_ttl = chrono::Duration::from_std(options.prompt_ttl).unwrap_or(chrono::Duration::minutes(5));
    let engine_options = EngineOptions { rules, prompt_ttl };
    // The embedded store is opened and memory rebuilt before listening (what the tests
    // and the README's first command expect). A cluster node listens first and answers
    // NOT_SERVING until memory is rebuilt from the database, so a load balancer can see it.
    let engine = match options.store.clone() {
        None => {
            let data = options.data.clone();
            tokio::task::spawn_blocking(move || Engine::open_dir(&data, engine_options)).await??
        }
        Some(pg) => tokio::task::spawn_blocking(move || start_node(&pg, engine_options)).await??,
    };

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: options.listen,
        source,
    })?;
    if let Some(metrics_addr) = options.metrics_listen {
        let listener = crate::metrics::bind(metrics_addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: metrics_addr,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: metrics_addr,
            source,
        })?;
        tracing::info!("metrics on http://{bound}/metrics");
        let stopping = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(listener, stopping).await {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    // Bound before "listening on" is logged, so that the line that says the server is up
    // comes after both addresses are known.
    let http_listener = match options.http_listen {
        None => None,
        Some(http_addr) => {
            let listener = TcpListener::bind(http_addr).await.map_err(|source| ServeError::Bind {
                addr: http_addr,
                source,
            })?;
            let bound = listener.local_addr().map_err(|source| ServeError::Bind {
                addr: http_addr,
                source,
            })?;
            let scheme = if http_tls.is_some() { "https" } else { "http" };
            tracing::info!("HTTP/JSON on {scheme}://{bound}/v1/openapi.json");
            Some(listener)
        }
    };
    tracing::info!(
        data = %options.data.display(),
        rule_set_version = engine.rules().version,
        tls = tls.is_some(),
        mutual_tls,
        tokens = options.tokens.len(),
        "listening on {addr}"
    );

    // grpc.health.v1 answers SERVING for each service (and "") while the server runs, and
    // NOT_SERVING once shutdown begins; reflection lets generic gRPC tools list and call
    // the API.
    // Health follows the engine: SERVING once memory is loaded and in step with the
    // store, NOT_SERVING while it is not, and from the start of shutdown.
    let (health, health_service) = tonic_health::server::health_reporter();
    {
        let (health, mut ready, stopping) = (health.clone(), engine.readiness(), stop.clone());
        let serving_now = engine.is_ready();
        tokio::spawn(async move {
            let mut serving = serving_now;
            loop {
                if !stopping.is_cancelled() {
                    set_health(&health, serving).await;
                }
                tokio::select! {
                    changed = ready.changed() => match changed {
                        Ok(()) => serving = *ready.borrow_and_update(),
                        Err(_) => return,
                    },
                    () = stopping.cancelled() => return,
                }
            }
        });
    }
    if options.store.is_some() && !engine.is_ready() {
        let loading = engine.clone();
        tokio::task::spawn_blocking(move || load_node(&loading));
    }
    // Both reflection protocols: v1, and v1alpha for the tools that ask only for it
    // (Postman, grpcui, grpcurl before 1.8, Python's grpcio-reflection).
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let stopping = stop.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        for name in SERVICES.iter().chain([&""]) {
            health
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
    });

    let limits = options.limits;
    let size = limits.max_message_bytes;
    // The builder's `tcp_nodelay` applies only to listeners it binds itself; ours is bound
    // above (to report the port before serving), so its connections get TCP_NODELAY here.
    // Without it, an answer written in more than one segment waits for the client's
    // delayed ACK: 40 ms stalls on a few percent of unary calls.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .timeout(limits.request_timeout);
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let routes = Routes::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(
            DecisionsServer::new(DecisionsService::new(
                engine.clone(),
                stop.clone(),
                limits.max_open_streams,
            ))
            .max_decoding_message_size(size)
            .max_encoding_message_size(size),
        )
        .add_service(
            AccountsServer::new(AccountsService::new(engine.clone()))
                .max_decoding_message_size(size)
                .max_encoding_message_size(size),
        )
        .add_service(
            RulesServer::new(RulesService::new(engine.clone()))
                .max_decoding_message_size(size)
                .max_encoding_message_size(size),
        )
        .add_service(
            ProgramsServer::new(ProgramsService::new(engine.clone()))
                .max_decoding_message_size(size)
                .max_encoding_message_size(size),
        )
        .add_service(
            ComplianceServer::new(ComplianceService::new(engine.clone()))
                .max_decoding_message_size(size)
                .max_encoding_message_size(size),
        )
        .clone()
        .routes()
        .prepare();
    let gate = Gate::new(tokens, limits.max_concurrent_calls).with_readiness({
        let engine = engine.clone();
        move || engine.is_loaded()
    });
    if let Some(listener) = http_listener {
        // The HTTP/JSON API calls the very stack below: the gate, then the services.
        let grpc = crate::api::http::Grpc::new(tower::Layer::layer(&gate, routes.clone()));
        let api = crate::api::http::HttpApi::new(grpc, size, limits.request_timeout);
        let stopping = stop.clone().cancelled_owned();
        let router = api.router();
        match http_tls {
            None => tokio::spawn(async move {
                let served = axum::serve(listener, router).with_graceful_shutdown(stopping).await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "the HTTP/JSON listener stopped");
                }
            }),
            Some(config) => {
                let listener =
                    crate::api::http::tls::TlsListener::new(listener, config).map_err(|source| ServeError::Bind {
                        addr: options.http_listen.expect("an HTTP address"),
                        source,
                    })?;
                tokio::spawn(async move {
                    let served = axum::serve(listener, router).with_graceful_shutdown(stopping).await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "the HTTPS/JSON listener stopped");
                    }
                })
            }
        };
    }
    let server = builder
        .layer(gate)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned());
    let mut serving = tokio::spawn(server);

    let result = tokio::select! {
        done = &mut serving => done.map_err(ServeError::from).and_then(|r| r.map_err(ServeError::from)),
        () = stop.cancelled() => match tokio::time::timeout(options.drain, &mut serving).await {
            Ok(done) => done.map_err(ServeError::from).and_then(|r| r.map_err(ServeError::from)),
            Err(_) => {
                tracing::warn!(drain = ?options.drain, "calls still open after the drain time; closing them");
                serving.abort();
                Ok(())
            }
        },
    };
    tokio::task::spawn_blocking(move || engine.shutdown()).await??;
    tracing::info!("store flushed; stopped");
    result
}

/// Sets every service's health.
async fn set_health(health: &tonic_health::server::HealthReporter, serving: bool) {
    let status = if serving {
        tonic_health::ServingStatus::Serving
    } else {
        tonic_health::ServingStatus::NotServing
    };
    for name in SERVICES.iter().chain([&""]) {
        health.set_service_status(name, status).await;
    }
}

/// A cluster node's engine, on the database: connecting (and migrating its schema) with a
/// few tries, so that nodes and the database may start together.
fn start_node(pg: &PgOptions, options: EngineOptions) -> Result<Engine, ServeError> {
    let mut tries = 0;
    let store = loop {
        match PgStore::open(pg) {
            Ok(store) => break store,
            // Only a database not up yet is worth waiting for; a newer schema, a refused
            // password or certificate are not.
            Err(e) if tries >= 10 || !not_up_yet(&e.to_string()) => {
                return Err(ServeError::Engine(e.into()));
            }
            Err(e) => {
                tries += 1;
                tracing::warn!(error = %e, "cannot reach the store yet; trying again");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    };
    Ok(Engine::start(std::sync::Arc::new(store), options)?)
}

/// Whether a connection error says the database is not (yet) accepting connections.
fn not_up_yet(error: &str) -> bool {
    [
        "Connection refused",
        "timed out",
        "starting up",
        "shutting down",
        "Connection reset",
    ]
    .iter()
    .any(|m| error.contains(m))
}

/// Rebuilds a cluster node's memory from the database, trying again (with back-off) for as
/// long as the database is unreachable; health says NOT_SERVING until it is done.
fn load_node(engine: &Engine) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match engine.load() {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, retry_in = ?backoff, "rebuilding memory from the store failed");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
