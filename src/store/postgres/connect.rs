//! Reaching the database: the connection string, what may be said of it in a log, TLS as
//! `sslmode` asks, and the pool every node's reads and commits share.
//!
//! The connection string is a libpq URL (`postgres://user:password@host:port/db?sslmode=…`)
//! or key-value form, from `--store`, `PREDIAL_STORE` or `store =` in the TOML file; a
//! password may also come from `--store-password-file`. It is never logged with its
//! password ([`Redacted`]).
//!
//! TLS: `sslmode=disable` connects in plain text; `prefer` (libpq's default) uses TLS when
//! the server offers it; `require` refuses a server without it. With TLS, the server's
//! certificate is checked against `--store-ca` (PEM) when given, else the system's roots
//! (rustls: there is no TLS without verification).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// How a node connects to the database.
#[derive(Clone)]
pub struct PgOptions {
    /// The connection string, password and all.
    pub url: String,
    /// A file holding the password (its first line), when the string has none.
    pub password_file: Option<PathBuf>,
    /// Connections in the pool (commits take one, reads one each).
    pub pool_size: usize,
    /// How long to wait for a connection (to open, or from a busy pool).
    pub connect_timeout: Duration,
    /// How long one statement may run before the database cancels it.
    pub statement_timeout: Duration,
    /// The CA certificate (PEM) the server's must chain to; the system's roots when unset.
    pub ca: Option<PathBuf>,
}

impl PgOptions {
    pub const DEFAULT_POOL_SIZE: usize = 8;
    pub const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 5;
    pub const DEFAULT_STATEMENT_TIMEOUT_SECONDS: u64 = 30;

    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            password_file: None,
            pool_size: PgOptions::DEFAULT_POOL_SIZE,
            connect_timeout: Duration::from_secs(PgOptions::DEFAULT_CONNECT_TIMEOUT_SECONDS),
            statement_timeout: Duration::from_secs(PgOptions::DEFAULT_STATEMENT_TIMEOUT_SECONDS),
            ca: None,
        }
    }

    /// The parsed configuration, with the password file read in.
    pub fn config(&self) -> Result<tokio_postgres::Config, StoreError> {
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the store's connection string: {e}")))?;
        if config.get_password().is_none()
            && let Some(path) = &self.password_file
        {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StoreError::Backend(format!("the store's password file {}: {e}", path.display())))?;
            config.password(text.lines().next().unwrap_or("").trim_end());
        }
        config.connect_timeout(self.connect_timeout);
        config.options(format!(
            "-c statement_timeout={} -c application_name=predial",
            self.statement_timeout.as_millis()
        ));
        Ok(config)
    }

    /// The TLS connector `sslmode` calls for (tokio-postgres uses it only when the mode is
    /// not `disable`).
    pub fn tls(&self) -> Result<MakeRustlsConnect, StoreError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| StoreError::Backend(format!("the store's CA file {}: {e}", path.display())))?;
                for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                    let cert: rustls::pki_types::CertificateDer = cert
                        .map_err(|e| StoreError::Backend(format!("the store's CA file {}: {e:?}", path.display())))?;
                    roots
                        .add(cert)
                        .map_err(|e| StoreError::Backend(format!("the store's CA file {}: {e}", path.display())))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Backend(format!("TLS to the store: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

impl fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOptions")
            .field("url", &Redacted(&self.url))
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// A connection string as a log may show it: who, where and which database, how TLS is
/// asked for — never the password.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(config) = self.0.parse::<tokio_postgres::Config>() else {
            return f.write_str("(an unreadable connection string)");
        };
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let sslmode = match config.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            _ => "other",
        };
        write!(
            f,
            "postgres://{}@{host}:{port}/{} (sslmode {sslmode})",
            config.get_user().unwrap_or(""),
            config.get_dbname().unwrap_or("")
        )
    }
}

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_connection_string_never_shows_its_password() {
        for url in [
            "postgres://predial:s3cret-pw@db.internal:6432/ledger?sslmode=require",
            "host=db.internal port=6432 user=predial password=s3cret-pw dbname=ledger sslmode=require",
        ] {
            let shown = Redacted(url).to_string();
            assert!(!shown.contains("s3cret"), "{shown}");
            assert_eq!(shown, "postgres://predial@db.internal:6432/ledger (sslmode require)");
            assert!(!format!("{:?}", PgOptions::new(url)).contains("s3cret"));
        }
        assert!(!Redacted("postgres://x:pw@[bad").to_string().contains("pw"));
    }

    #[test]
    fn the_password_file_fills_in_a_missing_password_and_a_bad_string_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut options = PgOptions::new("postgres://predial@localhost/ledger");
        options.password_file = Some(file);
        assert_eq!(options.config().unwrap().get_password(), Some(&b"from-file"[..]));
        let e = PgOptions::new("postgres://x@h/db?sslmode=sometimes")
            .config()
            .err()
            .unwrap();
        assert!(e.to_string().contains("connection string"), "{e}");
    }
}
