//! How to serve: the resolved settings of `predial serve`, and every default written once.
//!
//! `config.rs` lays flags, environment and the TOML file over these defaults; the help of
//! each flag names its default, and a test there checks the two agree.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::auth::TokenEntry;
use crate::state::Retention;
use crate::store::StoreConfig;

/// The gRPC address when none is given.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 50051);
/// Seconds shutdown waits for open calls.
pub const DEFAULT_DRAIN_SECONDS: u64 = 10;
/// Seconds a click-to-dial prompt token can be answered.
pub const DEFAULT_PROMPT_TTL_SECONDS: u64 = 300;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// The store: the embedded one in a directory, or a cluster's PostgreSQL database.
    pub store: StoreConfig,
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
    /// How long records are kept, and how often the sweep runs.
    pub retention: Retention,
}

impl ServeOptions {
    /// Loopback, the embedded store under `data`, the preset rules, no auth, default limits.
    pub fn local(listen: SocketAddr, data: PathBuf) -> ServeOptions {
        ServeOptions {
            listen,
            store: StoreConfig::embedded(data),
            ..ServeOptions::default()
        }
    }
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            listen: DEFAULT_LISTEN,
            store: StoreConfig::default(),
            rules: None,
            drain: Duration::from_secs(DEFAULT_DRAIN_SECONDS),
            prompt_ttl: Duration::from_secs(DEFAULT_PROMPT_TTL_SECONDS),
            insecure: false,
            tokens: Vec::new(),
            tls: None,
            metrics_listen: None,
            http_listen: None,
            limits: Limits::default(),
            retention: Retention::default(),
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

impl Limits {
    pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 4096;
    pub const DEFAULT_MAX_OPEN_STREAMS: usize = 1024;
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 << 20;
    pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 30;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent_calls: Limits::DEFAULT_MAX_CONCURRENT_CALLS,
            max_open_streams: Limits::DEFAULT_MAX_OPEN_STREAMS,
            max_message_bytes: Limits::DEFAULT_MAX_MESSAGE_BYTES,
            request_timeout: Duration::from_secs(Limits::DEFAULT_REQUEST_TIMEOUT_SECONDS),
        }
    }
}
