//! How the command line's clients (`predial bench`, `predial export`, `predial dnc
//! import`) reach a server: its address, TLS, and a bearer token.
//!
//! A server beyond loopback runs with tokens, TLS or both (see the README's security
//! section), so every client must be able to present them. `--addr` takes `host:port`
//! (plaintext), `http://host:port` or `https://host:port` (TLS). With TLS the server's
//! certificate is checked against `--tls-ca` if given, else against the system's roots;
//! `--tls-cert` and `--tls-key` present a client certificate (mutual TLS). `--token` (or
//! `PREDIAL_TOKEN`; the bench's `PREDIAL_BENCH_TOKEN`) is sent as `authorization: Bearer …`
//! on every call (the bench's workload and baseline alike, so both pay the same for it).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::{Interceptor, interceptor::InterceptedService};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use crate::proto::v1::{
    accounts_client::AccountsClient, compliance_client::ComplianceClient, decisions_client::DecisionsClient,
    programs_client::ProgramsClient,
};

/// Why a client could not reach a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `why` is the transport error with its causes.
    #[error("cannot connect to {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("{0}")]
    Credentials(String),
}

/// `e` with its causes, each said once ("transport error" alone says nothing, and
/// hyper's layers often repeat their cause's words).
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let (mut last, mut cause) = (text.clone(), e.source());
    while let Some(c) = cause {
        let said = c.to_string();
        if said != last {
            text.push_str(": ");
            text.push_str(&said);
        }
        (last, cause) = (said, c.source());
    }
    text
}

/// A server address as `--addr` takes it: `host:port`, or an `http://` or `https://` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    uri: http::Uri,
}

impl ServerAddr {
    /// Whether the connection is made over TLS (`https://`).
    pub fn is_tls(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or_default();
        write!(f, "{}://{authority}", self.uri.scheme_str().unwrap_or("http"))
    }
}

impl FromStr for ServerAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<ServerAddr, String> {
        let s = s.trim();
        let expected = "expected host:port, http://host:port or https://host:port";
        let has_scheme = s.contains("://");
        let text = if has_scheme {
            s.to_string()
        } else {
            format!("http://{s}")
        };
        let uri: http::Uri = text.parse().map_err(|_| format!("{s:?}: {expected}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("{s:?}: the scheme must be http or https"));
        }
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(format!("{s:?}: no host; {expected}"));
        };
        if authority.as_str().contains('@') {
            return Err(format!("{s:?}: credentials go in --token, not in the address"));
        }
        // A bare host would mean port 80, which is never what a predial user meant.
        if !has_scheme && authority.port_u16().is_none() {
            return Err(format!("{s:?}: no port; {expected}"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!("{s:?}: a server address has no path; {expected}"));
        }
        Ok(ServerAddr { uri })
    }
}

/// What a client presents to a server that asks for it.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// CA certificate (PEM) the server's certificate must chain to; the system's roots
    /// when unset.
    pub tls_ca: Option<PathBuf>,
    /// A client certificate chain and its key (PEM), for mutual TLS.
    pub tls_identity: Option<(PathBuf, PathBuf)>,
    /// Sent as `authorization: Bearer <token>`.
    pub token: Option<String>,
}

/// Adds the bearer token, when there is one, to every call.
#[derive(Debug, Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    fn new(token: Option<&str>) -> Result<Bearer, ClientError> {
        token
            .map(|t| {
                format!("Bearer {}", t.trim())
                    .parse()
                    .map_err(|_| ClientError::Credentials("the token has characters a header cannot carry".into()))
            })
            .transpose()
            .map(Bearer)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// One connection and the credentials every call on it carries.
#[derive(Debug, Clone)]
pub struct Conn {
    channel: Channel,
    bearer: Bearer,
}

pub type Decisions = DecisionsClient<InterceptedService<Channel, Bearer>>;
pub type Accounts = AccountsClient<InterceptedService<Channel, Bearer>>;
pub type Compliance = ComplianceClient<InterceptedService<Channel, Bearer>>;
pub type Programs = ProgramsClient<InterceptedService<Channel, Bearer>>;

impl Conn {
    pub fn decisions(&self) -> Decisions {
        DecisionsClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn accounts(&self) -> Accounts {
        AccountsClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn compliance(&self) -> Compliance {
        ComplianceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn programs(&self) -> Programs {
        ProgramsClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
}

fn read(path: &Path, what: &str) -> Result<String, ClientError> {
    std::fs::read_to_string(path)
        .map_err(|e| ClientError::Credentials(format!("cannot read {what} {}: {e}", path.display())))
}

/// The TLS settings for `addr`, or none for plaintext. Credentials given for a plaintext
/// address are refused rather than ignored: a client certificate that is never presented
/// would leave the tester measuring something other than they meant.
fn tls_config(addr: &ServerAddr, credentials: &Credentials) -> Result<Option<ClientTlsConfig>, ClientError> {
    if !addr.is_tls() {
        if credentials.tls_ca.is_some() || credentials.tls_identity.is_some() {
            return Err(ClientError::Credentials(format!(
                "--tls-ca, --tls-cert and --tls-key need an https:// address, not {addr}"
            )));
        }
        return Ok(None);
    }
    let mut tls = ClientTlsConfig::new();
    tls = match &credentials.tls_ca {
        Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca, "the CA certificate")?)),
        None => tls.with_native_roots(),
    };
    if let Some((cert, key)) = &credentials.tls_identity {
        tls = tls.identity(Identity::from_pem(
            read(cert, "the client certificate")?,
            read(key, "the client key")?,
        ));
    }
    Ok(Some(tls))
}

fn connect_error(addr: &ServerAddr, e: &dyn std::error::Error) -> ClientError {
    ClientError::Connect {
        addr: addr.to_string(),
        why: with_causes(e),
    }
}

/// The flags every client command takes to reach a server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server: host:port, http://host:port, or https://host:port for TLS
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: ServerAddr,
    /// Bearer token sent with every call
    #[arg(long, env = "PREDIAL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA certificate (PEM) the server's certificate must chain to (default: the system's roots)
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS; with --tls-key
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS; with --tls-cert
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServerArgs {
    /// One connection to the server.
    pub async fn connect(&self) -> Result<Conn, ClientError> {
        let credentials = Credentials {
            tls_ca: self.tls_ca.clone(),
            tls_identity: self.tls_cert.clone().zip(self.tls_key.clone()),
            token: self.token.clone(),
        };
        let mut conns = connect(&self.addr, &credentials, 1).await?;
        Ok(conns.remove(0))
    }
}

/// Progress on stderr, one line rewritten in place, when stderr is a terminal (a log or a
/// pipe gets nothing until the summary).
pub struct Progress {
    shown: bool,
    last: std::time::Instant,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            shown: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            last: std::time::Instant::now(),
        }
    }

    /// Shows `line`, at most a few times a second.
    pub fn show(&mut self, line: impl FnOnce() -> String) {
        if self.shown && self.last.elapsed() >= Duration::from_millis(200) {
            self.last = std::time::Instant::now();
            eprint!("\r\x1b[2K{}", line());
        }
    }

    /// Clears the line, for the summary.
    pub fn done(&self) {
        if self.shown {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}

/// Opens `n` connections (at least one) to `addr`, each with NODELAY like the server's.
pub async fn connect(addr: &ServerAddr, credentials: &Credentials, n: usize) -> Result<Vec<Conn>, ClientError> {
    let bearer = Bearer::new(credentials.token.as_deref())?;
    let mut endpoint = Endpoint::from(addr.uri.clone())
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10));
    if let Some(tls) = tls_config(addr, credentials)? {
        endpoint = endpoint.tls_config(tls).map_err(|e| connect_error(addr, &e))?;
    }
    let mut conns = Vec::with_capacity(n.max(1));
    for _ in 0..n.max(1) {
        let channel = endpoint.connect().await.map_err(|e| connect_error(addr, &e))?;
        conns.push(Conn {
            channel,
            bearer: bearer.clone(),
        });
    }
    Ok(conns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Result<String, String> {
        s.parse::<ServerAddr>().map(|a| a.to_string())
    }

    #[test]
    fn an_address_is_host_and_port_or_an_http_or_https_uri() {
        assert_eq!(addr("127.0.0.1:50051").unwrap(), "http://127.0.0.1:50051");
        assert_eq!(addr("localhost:50051").unwrap(), "http://localhost:50051");
        assert_eq!(addr(" [::1]:50051 ").unwrap(), "http://[::1]:50051");
        assert_eq!(
            addr("http://predial.internal:8080/").unwrap(),
            "http://predial.internal:8080"
        );
        assert_eq!(
            addr("https://predial.example.com").unwrap(),
            "https://predial.example.com"
        );
        assert!("https://h:1".parse::<ServerAddr>().unwrap().is_tls());
        assert!(!"h:1".parse::<ServerAddr>().unwrap().is_tls());
    }

    #[test]
    fn a_malformed_address_is_refused_saying_why() {
        for (bad, why) in [
            ("localhost", "no port"),
            ("", "expected host:port"),
            ("http://:50051", "expected host:port"),
            ("ftp://h:1", "scheme"),
            ("http://h:1/predial.v1.Decisions", "no path"),
            ("http://h:1/?x=1", "no path"),
            ("http://user:secret@h:1", "--token"),
            ("h:notaport", "expected host:port"),
        ] {
            let e = addr(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn tls_files_for_a_plaintext_address_are_refused() {
        let credentials = Credentials {
            tls_ca: Some("ca.pem".into()),
            ..Default::default()
        };
        let e = tls_config(&"h:1".parse().unwrap(), &credentials).unwrap_err();
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn a_token_a_header_cannot_carry_is_refused() {
        assert!(Bearer::new(Some("line\nbreak")).is_err());
        let mut bearer = Bearer::new(Some(" abc123 ")).unwrap();
        let request = bearer.call(Request::new(())).unwrap();
        assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer abc123");
        let request = Bearer::default().call(Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }
}
