//! The settings of `predial serve`: command-line flags, environment variables and a TOML
//! file, in that order of precedence, then the defaults.
//!
//! Every setting has all three forms: `--max-open-streams 64`, `PREDIAL_MAX_OPEN_STREAMS=64`
//! and `max_open_streams = 64` in the `--config` file (`PREDIAL_CONFIG` names the file).
//! Tokens are a list: repeat `--token`, separate `PREDIAL_TOKENS` with commas, or write
//! `[[tokens]]` tables; each source replaces, not extends, the one below it.
//! `predial.example.toml` at the repository root shows every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::api::auth::TokenEntry;
use crate::server::{
    DEFAULT_DRAIN_SECONDS, DEFAULT_LISTEN, DEFAULT_PROMPT_TTL_SECONDS, Limits, ServeOptions, TlsFiles,
};
use crate::state::Retention;
use crate::store::StoreConfig;
use crate::store::postgres::PgOptions;

/// How log lines are written (to stderr). The level filter is `RUST_LOG` (default `info`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the log line names it) (default
    /// 127.0.0.1:50051).
    #[arg(long, env = "PREDIAL_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store (created when missing) (default ./predial-data).
    #[arg(long, env = "PREDIAL_DATA")]
    pub data: Option<PathBuf>,
    /// Run as one node of a cluster on this PostgreSQL database
    /// (`postgres://USER[:PASSWORD]@HOST:PORT/DB[?sslmode=disable|prefer|require]`) instead
    /// of the embedded store (default: none, the embedded store).
    #[arg(long, env = "PREDIAL_STORE", hide_env_values = true)]
    pub store: Option<StoreUrl>,
    /// A file whose first line is the database password (when the URL has none) (default:
    /// none).
    #[arg(long, env = "PREDIAL_STORE_PASSWORD_FILE")]
    pub store_password_file: Option<PathBuf>,
    /// Database connections in this node's pool (default 8).
    #[arg(long, env = "PREDIAL_STORE_POOL_SIZE")]
    pub store_pool_size: Option<usize>,
    /// Seconds to wait for a database connection (default 5).
    #[arg(long, env = "PREDIAL_STORE_CONNECT_TIMEOUT_SECONDS")]
    pub store_connect_timeout_seconds: Option<u64>,
    /// Seconds one database statement may run (default 30).
    #[arg(long, env = "PREDIAL_STORE_STATEMENT_TIMEOUT_SECONDS")]
    pub store_statement_timeout_seconds: Option<u64>,
    /// CA certificate (PEM) the database's certificate must chain to (default: the
    /// system's roots).
    #[arg(long, env = "PREDIAL_STORE_CA")]
    pub store_ca: Option<PathBuf>,
    /// A rule set (JSON) to make active at start (default: none; an empty store starts
    /// with the shipped Regulation F preset).
    #[arg(long, env = "PREDIAL_RULES")]
    pub rules: Option<PathBuf>,
    /// A TOML file with any of these settings; flags and environment variables win
    /// (default: none).
    #[arg(long, env = "PREDIAL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Seconds shutdown waits for open calls before closing them (default 10).
    #[arg(long, env = "PREDIAL_DRAIN_SECONDS")]
    pub drain_seconds: Option<u64>,
    /// Seconds a click-to-dial prompt token can be answered (default 300).
    #[arg(long, env = "PREDIAL_PROMPT_TTL_SECONDS")]
    pub prompt_ttl_seconds: Option<u64>,
    /// Allow listening beyond loopback with no tokens and no client certificates (default:
    /// off).
    #[arg(long, env = "PREDIAL_INSECURE")]
    pub insecure: bool,
    /// A bearer token: `role:sha256` or `name:role:sha256` (see `predial hash-token`)
    /// (default: none, every caller admitted on loopback).
    #[arg(long = "token", env = "PREDIAL_TOKENS", value_delimiter = ',')]
    pub tokens: Vec<TokenEntry>,
    /// Server certificate chain (PEM); with --tls-key, serve TLS (default: none, plain
    /// text).
    #[arg(long, env = "PREDIAL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM) (default: none).
    #[arg(long, env = "PREDIAL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) clients must present a certificate from: mutual TLS
    /// (default: none).
    #[arg(long, env = "PREDIAL_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve Prometheus metrics on this address, at the path /metrics (default: none).
    #[arg(long, env = "PREDIAL_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve every unary RPC as HTTP/JSON on this address (with /v1/openapi.json,
    /// /v1/health and /metrics) (default: none).
    #[arg(long, env = "PREDIAL_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// Log lines as text or JSON (default text).
    #[arg(long, value_enum, env = "PREDIAL_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Calls answered at once before more are refused with RESOURCE_EXHAUSTED (default 4096).
    #[arg(long, env = "PREDIAL_MAX_CONCURRENT_CALLS")]
    pub max_concurrent_calls: Option<usize>,
    /// Open CanDial/PingStream streams before more are refused (default 1024).
    #[arg(long, env = "PREDIAL_MAX_OPEN_STREAMS")]
    pub max_open_streams: Option<usize>,
    /// The largest message accepted, in bytes (default 4194304, 4 MiB).
    #[arg(long, env = "PREDIAL_MAX_MESSAGE_BYTES")]
    pub max_message_bytes: Option<usize>,
    /// The longest a unary call may take, whatever deadline the client sets (default 30).
    #[arg(long, env = "PREDIAL_REQUEST_TIMEOUT_SECONDS")]
    pub request_timeout_seconds: Option<u64>,
    /// Days contacts, closed leases and notes are kept (and longer when a rule set looks
    /// back further); 0 keeps everything (default 1095).
    #[arg(long, env = "PREDIAL_RETENTION_DAYS")]
    pub retention_days: Option<u32>,
    /// Seconds between retention sweeps, the first that long after start (default 3600).
    #[arg(long, env = "PREDIAL_RETENTION_SWEEP_SECONDS")]
    pub retention_sweep_seconds: Option<u64>,
}

/// The `--config` file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    store: Option<StoreUrl>,
    store_password_file: Option<PathBuf>,
    store_pool_size: Option<usize>,
    store_connect_timeout_seconds: Option<u64>,
    store_statement_timeout_seconds: Option<u64>,
    store_ca: Option<PathBuf>,
    rules: Option<PathBuf>,
    drain_seconds: Option<u64>,
    prompt_ttl_seconds: Option<u64>,
    insecure: Option<bool>,
    tokens: Option<Vec<TokenEntry>>,
    tls: Option<TlsSection>,
    metrics_listen: Option<SocketAddr>,
    http_listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    max_concurrent_calls: Option<usize>,
    max_open_streams: Option<usize>,
    max_message_bytes: Option<usize>,
    request_timeout_seconds: Option<u64>,
    retention_days: Option<u32>,
    retention_sweep_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TlsSection {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
}

impl ConfigFile {
    pub fn read(path: &Path) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        ConfigFile::parse(&text).map_err(|e| format!("{} is not a valid config: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// A database connection string, checked to be PostgreSQL's, and kept out of logs and debug
/// output (it may hold a password).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct StoreUrl(String);

impl StoreUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<StoreUrl, String> {
        let s = s.trim();
        if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
            return Err("the store must be a PostgreSQL URL: postgres://USER@HOST:PORT/DB".into());
        }
        s.parse::<tokio_postgres::Config>()
            .map_err(|e| format!("the store's connection string: {e}"))?;
        Ok(StoreUrl(s.to_string()))
    }
}

impl TryFrom<String> for StoreUrl {
    type Error = String;
    fn try_from(s: String) -> Result<StoreUrl, String> {
        s.parse()
    }
}

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::store::postgres::Redacted(&self.0))
    }
}

/// Everything `serve` needs, resolved.
#[derive(Debug)]
pub struct Resolved {
    pub serve: ServeOptions,
    pub log_format: LogFormat,
    /// Settings given that have no effect, to log once logging is up.
    pub warnings: Vec<String>,
}

impl ServeArgs {
    /// Reads the `--config` file (if any) and lays the flags and environment over it.
    pub fn resolve(self) -> Result<Resolved, String> {
        let file = match &self.config {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::default(),
        };
        self.over(file)
    }

    /// The flags (and environment, which clap has already read into them) over `file`.
    pub fn over(self, mut file: ConfigFile) -> Result<Resolved, String> {
        let limits = self.limits(&file)?;
        let mut warnings = Vec::new();
        let store = self.store_config(&file, &mut warnings)?;
        let tls_file = file.tls.take().unwrap_or_default();
        let cert = self.tls_cert.or(tls_file.cert);
        let key = self.tls_key.or(tls_file.key);
        let client_ca = self.tls_client_ca.or(tls_file.client_ca);
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key, client_ca }),
            (None, None) if client_ca.is_none() => None,
            (None, None) => return Err("tls client_ca needs a server cert and key too".into()),
            (Some(_), None) => return Err("tls cert is set but tls key is not".into()),
            (None, Some(_)) => return Err("tls key is set but tls cert is not".into()),
        };
        let tokens = if self.tokens.is_empty() {
            file.tokens.unwrap_or_default()
        } else {
            self.tokens
        };
        let serve = ServeOptions {
            store,
            listen: self.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN),
            rules: self.rules.or(file.rules),
            drain: Duration::from_secs(
                self.drain_seconds
                    .or(file.drain_seconds)
                    .unwrap_or(DEFAULT_DRAIN_SECONDS),
            ),
            prompt_ttl: Duration::from_secs(
                self.prompt_ttl_seconds
                    .or(file.prompt_ttl_seconds)
                    .unwrap_or(DEFAULT_PROMPT_TTL_SECONDS),
            ),
            insecure: self.insecure || file.insecure.unwrap_or(false),
            tokens,
            tls,
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            http_listen: self.http_listen.or(file.http_listen),
            limits,
            retention: Retention {
                days: self
                    .retention_days
                    .or(file.retention_days)
                    .unwrap_or(Retention::DEFAULT_DAYS),
                every: Duration::from_secs(positive(
                    self.retention_sweep_seconds.or(file.retention_sweep_seconds),
                    "retention_sweep_seconds",
                    Retention::DEFAULT_EVERY.as_secs(),
                )?),
            },
        };
        Ok(Resolved {
            serve,
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            warnings,
        })
    }
    /// The limits: flag, else file, else default; zero is refused.
    fn limits(&self, file: &ConfigFile) -> Result<Limits, String> {
        Ok(Limits {
            max_concurrent_calls: positive(
                self.max_concurrent_calls.or(file.max_concurrent_calls),
                "max_concurrent_calls",
                Limits::DEFAULT_MAX_CONCURRENT_CALLS,
            )?,
            max_open_streams: positive(
                self.max_open_streams.or(file.max_open_streams),
                "max_open_streams",
                Limits::DEFAULT_MAX_OPEN_STREAMS,
            )?,
            max_message_bytes: positive(
                self.max_message_bytes.or(file.max_message_bytes),
                "max_message_bytes",
                Limits::DEFAULT_MAX_MESSAGE_BYTES,
            )?,
            request_timeout: Duration::from_secs(positive(
                self.request_timeout_seconds.or(file.request_timeout_seconds),
                "request_timeout_seconds",
                Limits::DEFAULT_REQUEST_TIMEOUT_SECONDS,
            )?),
        })
    }

    /// The store: PostgreSQL when a URL is given (a data directory given too is said in
    /// `warnings`, not used), else the embedded store in the data directory.
    fn store_config(&self, file: &ConfigFile, warnings: &mut Vec<String>) -> Result<StoreConfig, String> {
        let data = self.data.clone().or(file.data.clone());
        Ok(match self.store.clone().or(file.store.clone()) {
            None => StoreConfig::embedded(data.unwrap_or_else(|| PathBuf::from(crate::store::DEFAULT_DATA_DIR))),
            Some(url) => {
                // A cluster node keeps nothing on local disk: a data directory given too is
                // said, not silently taken for a second store.
                if let Some(dir) = &data {
                    warnings.push(format!(
                        "--data {} is not used: with --store this node keeps its records in PostgreSQL",
                        dir.display()
                    ));
                }
                let mut pg = PgOptions::new(url.as_str());
                pg.password_file = self.store_password_file.clone().or(file.store_password_file.clone());
                pg.ca = self.store_ca.clone().or(file.store_ca.clone());
                if let Some(n) = self.store_pool_size.or(file.store_pool_size) {
                    pg.pool_size = n;
                }
                if let Some(s) = self
                    .store_connect_timeout_seconds
                    .or(file.store_connect_timeout_seconds)
                {
                    pg.connect_timeout = Duration::from_secs(s);
                }
                if let Some(s) = self
                    .store_statement_timeout_seconds
                    .or(file.store_statement_timeout_seconds)
                {
                    pg.statement_timeout = Duration::from_secs(s);
                }
                if pg.pool_size < 2 {
                    return Err("store_pool_size must be at least 2".into());
                }
                StoreConfig::Postgres(pg)
            }
        })
    }
}

/// A count or length that must be at least 1: `value`, else `default`.
fn positive<T: PartialEq + Default>(value: Option<T>, name: &str, default: T) -> Result<T, String> {
    match value {
        Some(n) if n == T::default() => Err(format!("{name} must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(argv: &[&str]) -> ServeArgs {
        Cli::try_parse_from(std::iter::once("predial").chain(argv.iter().copied()))
            .unwrap()
            .serve
    }

    const EXAMPLE: &str = include_str!("../predial.example.toml");

    /// The help of the `serve` flag whose field is `id`.
    fn help_of(id: &str) -> String {
        use clap::CommandFactory;
        let command = Cli::command();
        let arg = command.get_arguments().find(|a| a.get_id() == id).unwrap();
        arg.get_help().map(|h| h.to_string()).unwrap_or_default()
    }

    #[test]
    fn every_flag_says_its_default_and_the_defaults_said_are_the_ones_used() {
        use clap::CommandFactory;
        for arg in Cli::command().get_arguments().filter(|a| a.get_long().is_some()) {
            let help = help_of(arg.get_id().as_str());
            assert!(
                help.contains("default"),
                "--{} says no default: {help}",
                arg.get_long().unwrap()
            );
        }
        let s = args(&[]).over(ConfigFile::default()).unwrap().serve;
        let StoreConfig::Embedded { dir } = &s.store else {
            panic!("{:?}", s.store)
        };
        let said = [
            ("listen", s.listen.to_string()),
            ("data", dir.display().to_string()),
            ("drain_seconds", s.drain.as_secs().to_string()),
            ("prompt_ttl_seconds", s.prompt_ttl.as_secs().to_string()),
            ("max_concurrent_calls", s.limits.max_concurrent_calls.to_string()),
            ("max_open_streams", s.limits.max_open_streams.to_string()),
            ("max_message_bytes", s.limits.max_message_bytes.to_string()),
            (
                "request_timeout_seconds",
                s.limits.request_timeout.as_secs().to_string(),
            ),
            ("store_pool_size", PgOptions::DEFAULT_POOL_SIZE.to_string()),
            ("retention_days", s.retention.days.to_string()),
            ("retention_sweep_seconds", s.retention.every.as_secs().to_string()),
            (
                "store_connect_timeout_seconds",
                PgOptions::DEFAULT_CONNECT_TIMEOUT_SECONDS.to_string(),
            ),
            (
                "store_statement_timeout_seconds",
                PgOptions::DEFAULT_STATEMENT_TIMEOUT_SECONDS.to_string(),
            ),
        ];
        for (id, value) in said {
            let help = help_of(id);
            assert!(
                help.contains(&format!("default {value}")),
                "{id}: {help} (the default is {value})"
            );
        }
    }

    #[test]
    fn the_example_config_file_parses_and_sets_every_section() {
        let resolved = args(&[]).over(ConfigFile::parse(EXAMPLE).unwrap()).unwrap();
        let s = resolved.serve;
        assert_eq!(s.listen.port(), 50051);
        assert_eq!(s.tokens.len(), 3);
        assert!(s.tls.is_some());
        assert!(s.metrics_listen.is_some());
        assert_eq!(s.http_listen.map(|a| a.port()), Some(8080));
        assert_eq!(resolved.log_format, LogFormat::Json);
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file = ConfigFile::parse("listen = \"0.0.0.0:7000\"\ndrain_seconds = 3\nmax_open_streams = 8\n").unwrap();
        let s = args(&["--listen", "127.0.0.1:9000"]).over(file).unwrap().serve;
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.drain, Duration::from_secs(3));
        assert_eq!(s.limits.max_open_streams, 8);
        assert_eq!(s.limits.max_concurrent_calls, 4096);
        assert_eq!(s.prompt_ttl, Duration::from_secs(300));
    }

    #[test]
    fn tokens_from_flags_replace_the_files_tokens() {
        let hash = crate::api::auth::hash_token("x");
        let file = ConfigFile::parse(&format!("[[tokens]]\nrole = \"admin\"\nsha256 = \"{hash}\"\n")).unwrap();
        let s = args(&["--token", &format!("bot:dialer:{hash}")])
            .over(file)
            .unwrap()
            .serve;
        assert_eq!(s.tokens.len(), 1);
        assert_eq!(s.tokens[0].name, "bot");
    }

    #[test]
    fn the_store_comes_from_the_flag_or_the_file_and_its_password_never_shows() {
        let file =
            ConfigFile::parse("store = \"postgres://predial:pw-in-file@db:5432/ledger\"\nstore_pool_size = 12\n")
                .unwrap();
        let s = args(&[]).over(file).unwrap().serve;
        let StoreConfig::Postgres(pg) = &s.store else {
            panic!("not a PostgreSQL store: {:?}", s.store)
        };
        assert_eq!(
            (pg.url.as_str(), pg.pool_size),
            ("postgres://predial:pw-in-file@db:5432/ledger", 12)
        );
        assert!(!format!("{s:?}").contains("pw-in-file"));
        let flag = args(&[
            "--store",
            "postgres://a:pw-flag@h/db",
            "--store-connect-timeout-seconds",
            "2",
        ]);
        assert!(!format!("{flag:?}").contains("pw-flag"));
        let StoreConfig::Postgres(pg) = flag.over(ConfigFile::default()).unwrap().serve.store else {
            panic!("not a PostgreSQL store")
        };
        assert_eq!(pg.connect_timeout, Duration::from_secs(2));
        assert!(matches!(
            args(&[]).over(ConfigFile::default()).unwrap().serve.store,
            StoreConfig::Embedded { .. }
        ));
        let bad = Cli::try_parse_from(["predial", "--store", "mysql://h/db"]);
        assert!(bad.err().unwrap().to_string().contains("PostgreSQL"));
    }

    #[test]
    fn an_unknown_key_or_half_a_tls_pair_is_an_error() {
        assert!(
            ConfigFile::parse("listn = \"127.0.0.1:1\"")
                .unwrap_err()
                .contains("listn")
        );
        let half = ConfigFile::parse("[tls]\ncert = \"c.pem\"\n").unwrap();
        assert!(args(&[]).over(half).unwrap_err().contains("key"));
        let zero = ConfigFile::parse("max_concurrent_calls = 0").unwrap();
        assert!(args(&[]).over(zero).unwrap_err().contains("max_concurrent_calls"));
    }
}
