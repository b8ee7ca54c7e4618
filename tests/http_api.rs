//! The HTTP/JSON API (`--http-listen`) with a real HTTP client against the real binary:
//! its answers equal the gRPC answers to the same requests, field for field; the same
//! tokens, roles and validation; errors as `google.rpc.Status` with the code's HTTP status.

mod common;

use std::net::SocketAddr;

use common::pki::{pki, write_pki};
use common::*;
use predial::api::auth::hash_token;
use predial::proto::v1 as pb;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Value, json};
use tonic::Request;

const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York
const PHONE: &str = "+12125550100";
const ADMIN: &str = "http-admin-token-01";
const DIALER: &str = "http-dialer-token-01";

/// A server with an HTTP/JSON listener and, when `tokens`, an admin and a dialer token.
fn start(dir: &std::path::Path, tokens: bool) -> (Server, SocketAddr) {
    start_more(dir, tokens, &[])
}

fn start_more(dir: &std::path::Path, tokens: bool, more: &[&str]) -> (Server, SocketAddr) {
    let admin = format!("ops:admin:{}", hash_token(ADMIN));
    let dialer = format!("floor:dialer:{}", hash_token(DIALER));
    let mut args = vec!["--http-listen", "127.0.0.1:0"];
    if tokens {
        args.extend(["--token", &admin, "--token", &dialer]);
    }
    args.extend(more);
    let server = Server::start_with(dir, &args);
    let http = server
        .start_log
        .iter()
        .find_map(|line| line.split("HTTP/JSON on ").nth(1))
        .and_then(|rest| rest.split("://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the server names its HTTP address before it says it is listening")
        .parse()
        .unwrap();
    (server, http)
}

/// One HTTP call: the status and the JSON answer.
fn http(addr: SocketAddr, verb: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("http://{addr}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (verb, body) {
        ("GET", _) => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.call()
        }
        (verb, body) => {
            let mut r = match verb {
                "POST" => agent.post(&url),
                "PUT" => agent.put(&url),
                other => panic!("{other}"),
            };
            if let Some(a) = &auth {
                r = r.header("authorization", a);
            }
            r.content_type("application/json")
                .send(body.unwrap_or(json!({})).to_string())
        }
    }
    .expect("an HTTP answer");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}")),
    )
}

/// The canonical-JSON answer read back into the message gRPC answers with.
fn message<M: prost::Message + Default>(name: &str, json: &Value) -> M {
    let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let descriptor = pool.get_message_by_name(name).unwrap();
    DynamicMessage::deserialize(descriptor, json.clone())
        .unwrap_or_else(|e| panic!("{name}: {e}: {json}"))
        .transcode_to()
        .unwrap()
}

fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn check_json(request_id: &str, channel: &str) -> Value {
    json!({
        "requestId": request_id,
        "consumerId": "c1",
        "channel": channel,
        "phone": PHONE,
        "mode": "MODE_AUTO",
        "at": AT,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_contacts_and_decisions_over_http_equal_the_same_calls_over_grpc_field_for_field() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(dir.path(), false);
    let put = json!({"state": "NY", "timeZone": "America/New_York", "phones": [{"number": PHONE}]});
    let (status, consumer) = http(addr, "PUT", "/v1/consumers/c1", None, Some(put));
    assert_eq!(status, 200, "{consumer}");
    let grpc_consumer = server
        .accounts()
        .await
        .get_consumer(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(message::<pb::Consumer>("predial.v1.Consumer", &consumer), grpc_consumer);
    let (status, got) = http(addr, "GET", "/v1/consumers/c1", None, None);
    assert_eq!(
        (status, message::<pb::Consumer>("predial.v1.Consumer", &got)),
        (200, grpc_consumer)
    );

    for k in 0..6 {
        let contact = json!({
            "eventId": format!("e{k}"),
            "consumerId": "c1",
            "channel": "CHANNEL_PHONE",
            "phone": PHONE,
            "resultCode": 1,
            "occurredAt": format!("2026-06-0{}T14:00:00Z", 1 + k % 2),
        });
        let (status, ack) = http(addr, "POST", "/v1/contacts", None, Some(contact));
        assert_eq!(status, 200, "{ack}");
    }
    let (status, answer) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        None,
        Some(check_json("r1", "CHANNEL_PHONE")),
    );
    assert_eq!(status, 200, "{answer}");
    let over_http: pb::DialDecision = message("predial.v1.DialDecision", &answer);
    let over_grpc = server
        .decisions()
        .await
        .check(dial("r1", "c1", PHONE, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_http, over_grpc);
    assert_eq!(over_http.attempts, 6, "the six calls recorded over HTTP count");
    assert_eq!(answer["verdict"], "VERDICT_WARN", "enums by name: {answer}");
    assert_eq!(answer["ruleSetVersion"], "1", "64-bit integers as strings: {answer}");

    let batch = json!({"requests": [check_json("b1", "CHANNEL_PHONE"), check_json("b2", "CHANNEL_PHONE")]});
    let (status, answer) = http(addr, "POST", "/v1/decisions:checkBatch", None, Some(batch));
    assert_eq!(status, 200, "{answer}");
    let batch: pb::CheckBatchResponse = message("predial.v1.CheckBatchResponse", &answer);
    assert_eq!(batch.decisions.len(), 2);
    assert_eq!(
        batch.decisions[0],
        pb::DialDecision {
            request_id: "b1".into(),
            ..over_grpc
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_reply_over_http_excludes_the_number_and_start_brings_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), false);
    let put = json!({"state": "NY", "timeZone": "America/New_York", "phones": [{"number": PHONE}]});
    assert_eq!(http(addr, "PUT", "/v1/consumers/c1", None, Some(put)).0, 200);
    let text = |body: &str| json!({"phone": PHONE, "body": body, "at": AT});
    let (status, stop) = http(
        addr,
        "POST",
        "/v1/inboundTexts",
        None,
        Some(text("Please stop texting me")),
    );
    assert_eq!(status, 200, "{stop}");
    assert_eq!(
        (stop["excluded"].clone(), stop["keyword"].clone()),
        (json!(true), json!("STOP"))
    );
    assert_eq!(stop["consumerIds"], json!(["c1"]));
    let (_, denied) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        None,
        Some(check_json("t1", "CHANNEL_TEXT")),
    );
    assert_eq!(denied["verdict"], "VERDICT_DENY", "{denied}");
    assert_eq!(
        denied["reasons"][0]["code"], "REASON_CODE_NUMBER_EXCLUDED_BY_CUSTOMER",
        "{denied}"
    );
    let (_, status_now) = http(addr, "GET", "/v1/consumers/c1/exclusions", None, None);
    assert!(status_now.to_string().contains(PHONE), "{status_now}");

    let (_, start_again) = http(addr, "POST", "/v1/inboundTexts", None, Some(text("START")));
    assert_eq!(start_again["excluded"], json!(false), "{start_again}");
    let (_, allowed) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        None,
        Some(check_json("t2", "CHANNEL_TEXT")),
    );
    assert_ne!(allowed["verdict"], "VERDICT_DENY", "{allowed}");
    let (_, notes) = http(addr, "GET", "/v1/consumers/c1/auditNotes", None, None);
    assert!(
        notes.to_string().contains("Please stop texting me"),
        "the trail quotes the reply: {notes}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_set_put_over_http_is_the_one_grpc_reads_and_a_bad_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(dir.path(), true);
    let (status, mut rules) = http(addr, "GET", "/v1/rules", Some(ADMIN), None);
    assert_eq!((status, rules["version"].clone()), (200, json!("1")), "{rules}");
    rules["leaseSeconds"] = json!(120);
    let (status, version) = http(addr, "PUT", "/v1/rules", Some(ADMIN), Some(rules.clone()));
    assert_eq!((status, version), (200, json!({"version": "2"})));
    let over_grpc = server
        .rules()
        .await
        .get_rule_set(with_token(pb::GetRuleSetRequest::default(), ADMIN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_grpc.version, 2);
    assert_eq!(over_grpc.lease_seconds, 120);
    let (_, now) = http(addr, "GET", "/v1/rules", Some(ADMIN), None);
    assert_eq!(message::<pb::RuleSet>("predial.v1.RuleSet", &now), over_grpc);

    // Bad input: 400, the field named, nothing applied.
    rules["leaseSeconds"] = json!(5);
    let (status, error) = http(addr, "PUT", "/v1/rules", Some(ADMIN), Some(rules));
    assert_eq!((status, error["code"].clone()), (400, json!(3)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("lease_seconds"), "{error}");
    let (_, still) = http(addr, "GET", "/v1/rules", Some(ADMIN), None);
    assert_eq!(still["version"], "2");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_callers_need_the_same_tokens_and_roles_as_grpc_callers() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), true);
    let (status, error) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        None,
        Some(check_json("a1", "CHANNEL_PHONE")),
    );
    assert_eq!((status, error["code"].clone()), (401, json!(16)), "{error}");
    let (status, _) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        Some("nobody"),
        Some(check_json("a2", "CHANNEL_PHONE")),
    );
    assert_eq!(status, 401);
    let (status, answer) = http(
        addr,
        "POST",
        "/v1/decisions:check",
        Some(DIALER),
        Some(check_json("a3", "CHANNEL_PHONE")),
    );
    assert_eq!(
        (status, answer["verdict"].clone()),
        (200, json!("VERDICT_DENY")),
        "{answer}"
    );
    let (status, error) = http(addr, "GET", "/v1/rules", Some(DIALER), None);
    assert_eq!((status, error["code"].clone()), (403, json!(7)), "{error}");
    // The streamed routes too: the export and a Do Not Call upload are an admin's.
    let export = "/v1/evidence?consumerId=c1";
    assert_eq!(http(addr, "GET", export, None, None).0, 401);
    let (status, error) = http(addr, "GET", export, Some(DIALER), None);
    assert_eq!((status, error["code"].clone()), (403, json!(7)), "{error}");
    let (status, error) = http(
        addr,
        "POST",
        "/v1/dnc/national:import?mode=add",
        Some(DIALER),
        Some(json!("")),
    );
    assert_eq!((status, error["code"].clone()), (403, json!(7)), "{error}");
    // Health and the document are open, as grpc.health.v1 is.
    assert_eq!(
        http(addr, "GET", "/v1/health", None, None),
        (200, json!({"status": "SERVING"}))
    );
    let (status, document) = http(addr, "GET", "/v1/openapi.json", None, None);
    assert_eq!(status, 200);
    assert_eq!(
        document,
        serde_json::from_str::<Value>(predial::api::http::OPENAPI).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_http_requests_are_answered_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), false);
    let cases = [
        (
            "POST",
            "/v1/decisions:check",
            json!({"consumerId": "", "channel": "CHANNEL_PHONE", "phone": PHONE}),
            "consumer_id",
        ),
        (
            "POST",
            "/v1/decisions:check",
            json!({"consumerId": "c1", "phone": "nope", "channel": "CHANNEL_PHONE"}),
            "phone",
        ),
        (
            "POST",
            "/v1/decisions:check",
            json!({"consumerId": "c1", "bogus": 1}),
            "bogus",
        ),
        (
            "POST",
            "/v1/decisions:check",
            json!({"consumerId": "c1", "channel": "CHANNEL_TELEGRAPH"}),
            "CHANNEL_TELEGRAPH",
        ),
        (
            "POST",
            "/v1/decisions:check",
            json!({"consumerId": "c1", "at": "yesterday"}),
            "at: ",
        ),
        ("PUT", "/v1/consumers/c1", json!({"id": "c2"}), "id"),
        (
            "PUT",
            "/v1/consumers/c1",
            json!({"timeZone": "Mars/Olympus"}),
            "time_zone",
        ),
    ];
    for (verb, path, body, named) in cases {
        let (status, error) = http(addr, verb, path, None, Some(body.clone()));
        assert_eq!((status, error["code"].clone()), (400, json!(3)), "{body}: {error}");
        assert!(error["message"].as_str().unwrap().contains(named), "{body}: {error}");
    }
    let (status, _) = http(addr, "GET", "/v1/consumers/c1", None, None);
    assert_eq!(status, 404, "nothing was stored");
    let (status, error) = http(addr, "GET", "/v1/decisions:check", None, None);
    assert_eq!((status, error["code"].clone()), (405, json!(12)), "{error}");
    let (status, _) = http(addr, "GET", "/v1/nowhere", None, None);
    assert_eq!(status, 404);
}

/// One HTTP/1.1 request over TLS, trusting `ca`: the status and the body.
async fn https(addr: SocketAddr, ca: &str, request: &str) -> std::io::Result<(u16, String)> {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tls_configured_the_http_listener_speaks_https_only_and_checks_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let [cert, key, _] = write_pki(dir.path(), &pki);
    let (_server, addr) = start_more(
        &dir.path().join("data"),
        true,
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let get = |path: &str, token: Option<&str>| {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
    };
    let (status, body) = https(addr, &pki.ca, &get("/v1/health", None)).await.unwrap();
    assert_eq!((status, body.contains("SERVING")), (200, true), "{body}");
    let (status, body) = https(addr, &pki.ca, &get("/v1/rules", Some(ADMIN))).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("regf-calls"), "{body}");
    let (status, _) = https(addr, &pki.ca, &get("/v1/rules", None)).await.unwrap();
    assert_eq!(status, 401);
    // The console is there too, under TLS.
    let (status, body) = https(addr, &pki.ca, &get("/", None)).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("/console/app.js"), "{body}");
    // Plain HTTP to the same port gets no answer.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    assert!(agent.get(format!("http://{addr}/v1/health")).call().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_asked_by_a_page_of_another_origin_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), false);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let program = |id: &str| json!({"id": id, "name": "p", "callPurpose": "CALL_PURPOSE_DEBT_COLLECTION"}).to_string();
    let post = |id: &str, headers: &[(&str, String)]| {
        let mut r = agent
            .post(&format!("http://{addr}/v1/programs"))
            .content_type("application/json");
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        r.send(program(id)).unwrap().status().as_u16()
    };
    assert_eq!(post("evil1", &[("origin", "http://evil.example".into())]), 403);
    assert_eq!(post("evil2", &[("origin", "null".into())]), 403);
    assert_eq!(post("evil3", &[("sec-fetch-site", "cross-site".into())]), 403);
    assert_eq!(
        http(addr, "GET", "/v1/programs/evil1", None, None).0,
        404,
        "nothing was created"
    );
    // The console's own page, and clients that are no browser, are served.
    assert_eq!(
        post(
            "own",
            &[
                ("origin", format!("http://{addr}")),
                ("sec-fetch-site", "same-origin".into())
            ]
        ),
        200
    );
    assert_eq!(post("curl", &[]), 200);
    // Reads are not changes: a cross-origin GET is answered (the browser keeps it from the page).
    let (status, _) = http(addr, "GET", "/v1/programs", None, None);
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_served_with_a_policy_that_forbids_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), true);
    for path in ["/", "/console/app.js", "/console/app.css"] {
        let response = ureq::get(&format!("http://{addr}{path}")).call().unwrap();
        let csp = response
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(response.headers().get("x-content-type-options").unwrap(), "nosniff");
    }
    let page = ureq::get(&format!("http://{addr}/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(!page.contains("<script>"), "no inline script in the page");
    assert!(page.contains(r#"<script type="module" src="/console/app.js">"#));
}
