//! Security over the real binary: bearer tokens and roles, TLS and mutual TLS, and the
//! refusal to listen beyond loopback unprotected.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::pki::{Pki, pki, write_pki};
use common::*;
use pb::{accounts_client::AccountsClient, decisions_client::DecisionsClient, rules_client::RulesClient};
use predial::api::auth::hash_token;
use predial::proto::v1 as pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const DIALER: &str = "dialer-secret-0001";
const AGENT: &str = "agent-secret-0002";
const ADMIN: &str = "admin-secret-0003";

fn token_flags() -> Vec<String> {
    vec![
        "--token".into(),
        format!("floor:dialer:{}", hash_token(DIALER)),
        "--token".into(),
        format!("desk:agent:{}", hash_token(AGENT)),
        "--token".into(),
        format!("ops:admin:{}", hash_token(ADMIN)),
    ]
}

fn start_with_tokens(dir: &std::path::Path) -> Server {
    let flags = token_flags();
    Server::start_with(dir, &flags.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Adds `authorization: Bearer <token>` to every call.
fn bearer(token: Option<&'static str>) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Ok(request)
    }
}

fn check_request() -> pb::DialRequest {
    dial("r1", "c-1", "2125550100", pb::Mode::Auto, "2026-06-02T15:00:00Z")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_without_a_valid_token_is_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_tokens(dir.path());
    let channel = server.channel().await;
    for token in [None, Some("not-a-token"), Some("dialer-secret-0001x")] {
        let mut client = DecisionsClient::with_interceptor(channel.clone(), bearer(token));
        let err = client.check(check_request()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{token:?}: {err:?}");
    }
    let mut dialer = DecisionsClient::with_interceptor(channel, bearer(Some(DIALER)));
    let answer = dialer.check(check_request()).await.unwrap().into_inner();
    assert_eq!(
        verdict(&answer),
        pb::Verdict::Deny,
        "an unknown consumer is denied, not refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_may_call_its_own_methods_and_is_denied_the_rest_without_effect() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with_tokens(dir.path());
    let channel = server.channel().await;

    // A dialer may not change accounts; nothing is written.
    let mut as_dialer = AccountsClient::with_interceptor(channel.clone(), bearer(Some(DIALER)));
    let err = as_dialer
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", "2125550100"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("dialer"), "{}", err.message());
    let mut as_admin = AccountsClient::with_interceptor(channel.clone(), bearer(Some(ADMIN)));
    let missing = as_admin
        .get_consumer(pb::GetConsumerRequest { id: "c-1".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "the refused upsert wrote nothing");
    as_admin
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", "2125550100"))
        .await
        .unwrap();

    // Dialer: decisions and contacts, not overrides, not rules.
    let mut dialer = DecisionsClient::with_interceptor(channel.clone(), bearer(Some(DIALER)));
    dialer.check(check_request()).await.unwrap();
    dialer
        .record_contact(call("e1", "c-1", "2125550100", 0, "2026-06-01T15:00:00Z"))
        .await
        .unwrap();
    let confirm = pb::ConfirmOverrideRequest {
        prompt_token: "no-such-token".into(),
        operator_id: "op".into(),
        proceed: true,
    };
    assert_eq!(
        dialer.confirm_override(confirm.clone()).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut rules = RulesClient::with_interceptor(channel.clone(), bearer(Some(AGENT)));
    assert_eq!(
        rules
            .get_rule_set(pb::GetRuleSetRequest::default())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );

    // Agent: reaches ConfirmOverride (which then judges the token itself).
    let mut agent = DecisionsClient::with_interceptor(channel.clone(), bearer(Some(AGENT)));
    assert_eq!(
        agent.confirm_override(confirm).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    agent.check(check_request()).await.unwrap();

    // Admin: everything.
    let mut rules = RulesClient::with_interceptor(channel.clone(), bearer(Some(ADMIN)));
    rules.get_rule_set(pb::GetRuleSetRequest::default()).await.unwrap();

    // Health needs no token: load balancers probe it bare.
    let mut health = HealthClient::new(channel);
    health
        .check(HealthCheckRequest { service: String::new() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_can_come_from_the_environment_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let env_tokens = format!("dialer:{},admin:{}", hash_token(DIALER), hash_token(ADMIN));
    let server = Server::start_env(dir.path(), &[], &[("PREDIAL_TOKENS", &env_tokens)]);
    let channel = server.channel().await;
    let mut bare = DecisionsClient::new(channel.clone());
    assert_eq!(
        bare.check(check_request()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut dialer = DecisionsClient::with_interceptor(channel, bearer(Some(DIALER)));
    dialer.check(check_request()).await.unwrap();
    drop(server);

    let config = dir.path().join("predial.toml");
    std::fs::write(
        &config,
        format!(
            "[[tokens]]\nname = \"desk\"\nrole = \"agent\"\nsha256 = \"{}\"\n",
            hash_token(AGENT)
        ),
    )
    .unwrap();
    let data = dir.path().join("data2");
    let server = Server::start_with(&data, &["--config", config.to_str().unwrap()]);
    let channel = server.channel().await;
    let mut agent = DecisionsClient::with_interceptor(channel.clone(), bearer(Some(AGENT)));
    agent.check(check_request()).await.unwrap();
    let mut dialer = DecisionsClient::with_interceptor(channel, bearer(Some(DIALER)));
    assert_eq!(
        dialer.check(check_request()).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

/// Runs `predial serve` expecting it to refuse to start; returns what it printed.
fn refused_start(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--data"])
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run predial");
    assert!(!output.status.success(), "predial started with {args:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn listening_beyond_loopback_without_authentication_is_refused() {
    let printed = refused_start(&["--listen", "0.0.0.0:0"]);
    assert!(printed.contains("refusing to listen on 0.0.0.0:0"), "{printed}");
    assert!(printed.contains("--insecure"), "{printed}");
    // The HTTP/JSON listener serves the same calls, under the same rule.
    let printed = refused_start(&["--http-listen", "0.0.0.0:0"]);
    assert!(printed.contains("refusing to listen on 0.0.0.0:0"), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn listening_beyond_loopback_starts_with_tokens_or_with_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--listen", "0.0.0.0:0", "--insecure"]);
    assert!(server.addr.ip().is_unspecified());
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let flags = token_flags();
    let mut args = vec!["--listen", "0.0.0.0:0"];
    args.extend(flags.iter().map(String::as_str));
    let server = Server::start_with(dir.path(), &args);
    assert!(server.addr.ip().is_unspecified());
}

#[test]
fn a_malformed_token_hash_stops_start_up_naming_it() {
    let printed = refused_start(&["--listen", "127.0.0.1:0", "--token", "ops:admin:1234"]);
    assert!(
        printed.contains("(ops)") && printed.contains("64 hex digits"),
        "{printed}"
    );
}

/// A TLS connection to `server` that trusts the test CA, presenting the client certificate
/// when `with_identity`.
async fn tls_channel(server: &Server, pki: &Pki, with_identity: bool) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    if with_identity {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_server_answers_tls_clients_and_not_plaintext_ones() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let [cert, key, _] = write_pki(dir.path(), &pki);
    let server = Server::start_with(&dir.path().join("data"), &["--tls-cert", &cert, "--tls-key", &key]);
    let mut client = DecisionsClient::new(tls_channel(&server, &pki, false).await.unwrap());
    client.ping(pb::PingRequest { payload: b"x".to_vec() }).await.unwrap();
    let plain = Channel::from_shared(server.url()).unwrap().connect().await;
    if let Ok(plain) = plain {
        let err = DecisionsClient::new(plain)
            .ping(pb::PingRequest::default())
            .await
            .unwrap_err();
        assert_ne!(err.code(), Code::Ok);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_admits_only_clients_with_a_certificate_from_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let [cert, key, ca] = write_pki(dir.path(), &pki);
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--tls-cert", &cert, "--tls-key", &key, "--tls-client-ca", &ca],
    );
    let mut with_cert = DecisionsClient::new(tls_channel(&server, &pki, true).await.unwrap());
    with_cert
        .ping(pb::PingRequest { payload: b"x".to_vec() })
        .await
        .unwrap();
    // Without a client certificate the handshake (or the first call) fails.
    if let Ok(channel) = tls_channel(&server, &pki, false).await {
        let err = DecisionsClient::new(channel)
            .ping(pb::PingRequest::default())
            .await
            .unwrap_err();
        // The TLS alert (CertificateRequired) surfaces as a transport error whose code
        // depends on when the client notices: Unknown, Unavailable or Cancelled.
        assert!(
            matches!(err.code(), Code::Unknown | Code::Unavailable | Code::Cancelled),
            "{err:?}"
        );
    }
    // The refused client did the server no harm.
    with_cert.ping(pb::PingRequest::default()).await.unwrap();
    // Mutual TLS is authentication: it may listen beyond loopback without tokens.
    drop(with_cert);
    drop(server);
    let server = Server::start_with(
        &dir.path().join("data2"),
        &[
            "--listen",
            "0.0.0.0:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ],
    );
    assert!(server.addr.ip().is_unspecified());
}
