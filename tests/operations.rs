//! What operators and generic gRPC tools see: grpc.health.v1 and server reflection.

mod common;

use common::*;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

#[tokio::test(flavor = "multi_thread")]
async fn every_service_reports_serving_on_the_health_service() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut health = HealthClient::new(server.channel().await);
    for service in [
        "",
        "predial.v1.Decisions",
        "predial.v1.Accounts",
        "predial.v1.Rules",
        "predial.v1.Programs",
        "predial.v1.Compliance",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest { service: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([ask]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "predial.v1.Decisions",
        "predial.v1.Accounts",
        "predial.v1.Rules",
        "predial.v1.Programs",
        "predial.v1.Compliance",
    ] {
        assert!(names.contains(&service.to_string()), "{service} missing from {names:?}");
    }
}

/// `GET path` over plain HTTP/1.1; the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics listener");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_decisions_by_verdict_and_reason_calls_by_method_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--metrics-listen", "127.0.0.1:0"]);
    let metrics_addr = server
        .start_log
        .iter()
        .find_map(|l| l.split("metrics on http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("a 'metrics on' line")
        .to_string();

    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", "2125550100"))
        .await
        .unwrap();
    let mut decisions = server.decisions().await;
    for i in 0..7 {
        decisions
            .record_contact(call(
                &format!("e{i}"),
                "c-1",
                "2125550100",
                0,
                &format!("2026-06-0{}T15:00:00Z", i + 1),
            ))
            .await
            .unwrap();
    }
    let at = "2026-06-07T18:00:00Z";
    let denied = decisions
        .check(dial("r1", "c-1", "2125550100", predial::proto::v1::Mode::Auto, at))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&denied), predial::proto::v1::Verdict::Deny);
    decisions
        .check(dial("r2", "nobody", "2125550100", predial::proto::v1::Mode::Auto, at))
        .await
        .unwrap();
    let stream = decisions
        .can_dial(tokio_stream::iter([dial(
            "r3",
            "c-1",
            "2125550100",
            predial::proto::v1::Mode::Auto,
            at,
        )]))
        .await
        .unwrap();
    let mut stream = stream.into_inner();
    while stream.message().await.unwrap().is_some() {}

    let text = http_get(&metrics_addr, "/metrics");
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
    };
    assert_eq!(value("predial_decisions_total{verdict=\"DENY\"}"), 3.0);
    assert_eq!(value("predial_decision_reasons_total{reason=\"MAX_CONTACTS\"}"), 2.0);
    assert_eq!(
        value("predial_decision_reasons_total{reason=\"UNKNOWN_CONSUMER\"}"),
        1.0
    );
    assert_eq!(
        value("predial_rpc_duration_seconds_count{method=\"/predial.v1.Decisions/RecordContact\"}"),
        7.0
    );
    assert_eq!(
        value("predial_rpc_duration_seconds_count{method=\"/predial.v1.Decisions/Check\"}"),
        2.0
    );
    assert_eq!(
        value("predial_rpc_duration_seconds_count{method=\"/predial.v1.Decisions/CanDial\"}"),
        1.0
    );
    assert!(
        value("predial_store_flush_seconds_count") >= 8.0,
        "the consumer and seven contacts"
    );
    assert_eq!(value("predial_open_streams"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_env(dir.path(), &[], &[("PREDIAL_LOG_FORMAT", "json")]);
    let listening = server.start_log.last().expect("the listening line");
    let line: serde_json::Value = serde_json::from_str(listening).expect("a JSON log line");
    assert_eq!(line["level"], "INFO");
    assert!(
        line["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("listening on 127.0.0.1:"),
        "{line}"
    );
    assert_eq!(line["fields"]["tls"], false);
}
