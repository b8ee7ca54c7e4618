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
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::api::{AccountsService, ComplianceService, DecisionsService, ProgramsService, RulesService};
use crate::domain::{FieldErrors, RuleSetDraft};
use crate::proto::v1::{
    accounts_server::AccountsServer, compliance_server::ComplianceServer, decisions_server::DecisionsServer,
    programs_server::ProgramsServer, rules_server::RulesServer,
};
use crate::state::{Engine, EngineError, EngineOptions};

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
    /// A rule file (JSON) to make active at start.
    pub rules: Option<PathBuf>,
    /// How long shutdown waits for in-flight calls.
    pub drain: Duration,
    /// How long a click-to-dial prompt token can be answered.
    pub prompt_ttl: Duration,
}

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
    let data = options.data.clone();
    let prompt_ttl = chrono::Duration::from_std(options.prompt_ttl).unwrap_or(chrono::Duration::minutes(5));
    // Opening replays the store and may commit the preset: blocking work, off the runtime.
    let engine =
        tokio::task::spawn_blocking(move || Engine::open_dir(&data, EngineOptions { rules, prompt_ttl })).await??;

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
    tracing::info!(data = %options.data.display(), rule_set_version = engine.rules().version, "listening on {addr}");

    // grpc.health.v1 answers SERVING for each service (and "") while the server runs, and
    // NOT_SERVING once shutdown begins; reflection lets generic gRPC tools list and call
    // the API.
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in SERVICES {
        health
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::v1::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let stopping = stop.clone();
    tokio::spawn(async move {
        stopping.cancelled().await;
        for name in SERVICES.iter().chain([&""]) {
            health
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
    });

    let server = Server::builder()
        .tcp_nodelay(true)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(DecisionsServer::new(DecisionsService::new(
            engine.clone(),
            stop.clone(),
        )))
        .add_service(AccountsServer::new(AccountsService::new(engine.clone())))
        .add_service(RulesServer::new(RulesService::new(engine.clone())))
        .add_service(ProgramsServer::new(ProgramsService::new(engine.clone())))
        .add_service(ComplianceServer::new(ComplianceService::new(engine.clone())))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.clone().cancelled_owned());
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
