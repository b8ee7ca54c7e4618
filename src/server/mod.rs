//! Starting, serving and stopping — in one place.
//!
//! [`serve_until`] reads as the start-up order: check who may connect and how
//! ([`Security`]), open the engine on the configured store, bind the listeners (and log
//! `listening on <addr>`), keep health in step with the engine, build the routes, serve
//! gRPC and HTTP/JSON, and drain. On SIGTERM or Ctrl-C ([`run`]) the server stops
//! accepting, ends open `CanDial` streams after the decision in hand, waits up to the drain
//! time for in-flight calls, and flushes the store before returning.
//!
//! - `options`: [`ServeOptions`] and every default, written once;
//! - `health`: `grpc.health.v1`, following the engine's readiness;
//! - `listeners`: binding the gRPC, HTTP/JSON and metrics addresses;
//! - `security`: the loopback rule, tokens and TLS for both listeners.

mod health;
mod listeners;
mod options;
mod security;

pub use options::{DEFAULT_DRAIN_SECONDS, DEFAULT_LISTEN, DEFAULT_PROMPT_TTL_SECONDS, Limits, ServeOptions, TlsFiles};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::api::{AccountsService, ComplianceService, DecisionsService, Gate, ProgramsService, RulesService};
use crate::domain::{FieldErrors, RuleSetDraft};
use crate::proto::v1::{
    accounts_server::AccountsServer, compliance_server::ComplianceServer, decisions_server::DecisionsServer,
    programs_server::ProgramsServer, rules_server::RulesServer,
};
use crate::state::{Engine, EngineError, EngineOptions};
use crate::store::StoreConfig;
use listeners::Listeners;
use security::Security;

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
    let security = Security::check(&options)?;
    let engine = open_engine(&options).await?;
    let listeners = Listeners::bind(&options, &security, &stop).await?;
    tracing::info!(
        store = %options.store,
        rule_set_version = engine.rules().version,
        tls = security.grpc_tls.is_some(),
        mutual_tls = security.mutual_tls,
        tokens = options.tokens.len(),
        "listening on {}",
        listeners.grpc_addr
    );
    let health_service = health::keep(&engine, &stop);
    let routes = build_routes(&engine, &stop, options.limits, health_service)?;
    let gate = Gate::new(security.tokens.clone(), options.limits.max_concurrent_calls).with_readiness({
        let engine = engine.clone();
        move || engine.is_loaded()
    });
    if let Some(http) = listeners.http {
        // The HTTP/JSON API calls the very stack gRPC does: the gate, then the services.
        let grpc = crate::api::http::Grpc::new(tower::Layer::layer(&gate, routes.clone()));
        let api =
            crate::api::http::HttpApi::new(grpc, options.limits.max_message_bytes, options.limits.request_timeout);
        http.serve(api.router(), stop.clone());
    }
    let mut builder = grpc_builder(options.limits);
    if let Some(tls) = security.grpc_tls {
        builder = builder.tls_config(tls)?;
    }
    // The builder's `tcp_nodelay` applies only to listeners it binds itself; ours is bound
    // earlier (to report the port before serving), so its connections get TCP_NODELAY here.
    // Without it, an answer written in more than one segment waits for the client's
    // delayed ACK: 40 ms stalls on a few percent of unary calls.
    let incoming = TcpIncoming::from(listeners.grpc).with_nodelay(Some(true));
    let serving = tokio::spawn(
        builder
            .layer(gate)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stop.clone().cancelled_owned()),
    );
    let result = drain(serving, &stop, options.drain).await;
    tokio::task::spawn_blocking(move || engine.shutdown()).await??;
    tracing::info!("store flushed; stopped");
    result
}

/// The `--rules` file, read and checked, if one is given.
fn read_rules(path: Option<&PathBuf>) -> Result<Option<RuleSetDraft>, ServeError> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|source| ServeError::RulesFile {
        path: path.clone(),
        source,
    })?;
    let invalid = |errors| ServeError::RulesInvalid {
        path: path.clone(),
        errors,
    };
    // The same spelling `PUT /v1/rules` takes, and what `GET /v1/rules` answers.
    let draft = crate::proto::json::rule_set_draft_from_json(&text).map_err(|e| invalid(e.into()))?;
    crate::domain::RuleSet::compile(draft.clone(), 0).map_err(invalid)?;
    Ok(Some(draft))
}

/// Opens the configured store and starts the engine on it. Memory is rebuilt before the
/// server listens when this node has the store to itself (what the tests and the README's
/// first command expect); a node that follows a shared store listens first and answers
/// NOT_SERVING until memory is rebuilt from the database, so a load balancer can see it.
async fn open_engine(options: &ServeOptions) -> Result<Engine, ServeError> {
    let engine_options = EngineOptions {
        retention: options.retention,
        rules: read_rules(options.rules.as_ref())?,
        prompt_ttl: chrono::Duration::from_std(options.prompt_ttl).unwrap_or(chrono::Duration::minutes(5)),
    };
    let store: StoreConfig = options.store.clone();
    let engine = tokio::task::spawn_blocking(move || {
        let store = store.open().map_err(EngineError::from)?;
        Engine::start(store, engine_options)
    })
    .await??;
    if engine.follows_shared_store() {
        let loading = engine.clone();
        tokio::task::spawn_blocking(move || load_until_done(&loading));
    } else {
        let loading = engine.clone();
        tokio::task::spawn_blocking(move || loading.load()).await??;
    }
    Ok(engine)
}

/// Rebuilds a cluster node's memory from the database, trying again (with back-off) for as
/// long as the database is unreachable; health says NOT_SERVING until it is done.
fn load_until_done(engine: &Engine) {
    let mut backoff = Duration::from_millis(200);
    while let Err(e) = engine.load() {
        tracing::error!(error = %e, retry_in = ?backoff, "rebuilding memory from the store failed");
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// The tonic server's settings: flow-control windows, keep-alive, the request timeout.
fn grpc_builder(limits: Limits) -> Server {
    Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .timeout(limits.request_timeout)
}

/// Every service of the contract, health and both reflection protocols, as one route table.
fn build_routes(
    engine: &Engine,
    stop: &CancellationToken,
    limits: Limits,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) -> Result<Routes, ServeError> {
    let size = limits.max_message_bytes;
    let (reflection, reflection_v1alpha) = reflection()?;
    let decisions = DecisionsService::new(engine.clone(), stop.clone(), limits.max_open_streams);
    Ok(Routes::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(
            DecisionsServer::new(decisions)
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
        .prepare())
}

type Reflection<S> = tonic_reflection::server::v1::ServerReflectionServer<S>;
type ReflectionV1Alpha<S> = tonic_reflection::server::v1alpha::ServerReflectionServer<S>;

/// Both reflection protocols: v1, and v1alpha for the tools that ask only for it
/// (Postman, grpcui, grpcurl before 1.8, Python's grpcio-reflection).
#[allow(clippy::type_complexity)]
fn reflection() -> Result<
    (
        Reflection<impl tonic_reflection::server::v1::ServerReflection>,
        ReflectionV1Alpha<impl tonic_reflection::server::v1alpha::ServerReflection>,
    ),
    ServeError,
> {
    let v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok((v1, v1alpha))
}

/// Waits for the server to end: by itself, or, once `stop` is cancelled, for up to `drain`
/// while open calls finish; past that, what is still open is closed.
async fn drain(
    mut serving: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    stop: &CancellationToken,
    drain: Duration,
) -> Result<(), ServeError> {
    tokio::select! {
        done = &mut serving => done.map_err(ServeError::from).and_then(|r| r.map_err(ServeError::from)),
        () = stop.cancelled() => match tokio::time::timeout(drain, &mut serving).await {
            Ok(done) => done.map_err(ServeError::from).and_then(|r| r.map_err(ServeError::from)),
            Err(_) => {
                tracing::warn!(drain = ?drain, "calls still open after the drain time; closing them");
                serving.abort();
                Ok(())
            }
        },
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
