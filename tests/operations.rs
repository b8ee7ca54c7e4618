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
