//! Who may connect and how, checked before anything is opened: the loopback rule (no
//! listener beyond loopback without tokens, client certificates or `--insecure`), the
//! tokens, and TLS for gRPC and — whenever gRPC has it — HTTPS for the HTTP/JSON listener.

use std::path::PathBuf;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use super::{ServeError, ServeOptions, TlsFiles};
use crate::api::auth::Tokens;

/// The checked security settings of both listeners.
pub(super) struct Security {
    pub tokens: Tokens,
    pub mutual_tls: bool,
    pub grpc_tls: Option<ServerTlsConfig>,
    pub http_tls: Option<rustls::ServerConfig>,
}

impl Security {
    pub fn check(options: &ServeOptions) -> Result<Security, ServeError> {
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
        Ok(Security {
            tokens,
            mutual_tls,
            grpc_tls: options.tls.as_ref().map(grpc_tls).transpose()?,
            http_tls,
        })
    }
}

/// Reads the PEM files into tonic's TLS settings.
fn grpc_tls(files: &TlsFiles) -> Result<ServerTlsConfig, ServeError> {
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
