//! `grpc.health.v1`: SERVING for each service of the contract (and "") while the engine
//! is ready — memory loaded and, on a shared store, in step with it — NOT_SERVING while it
//! is not, and from the start of shutdown on.

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::state::Engine;

/// Starts keeping health in step with `engine` until `stop`; answers the service to route.
pub(super) fn keep(
    engine: &Engine,
    stop: &CancellationToken,
) -> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
    let (health, service) = tonic_health::server::health_reporter();
    let (mut ready, stopping) = (engine.readiness(), stop.clone());
    let serving_now = engine.is_ready();
    tokio::spawn(async move {
        let mut serving = serving_now;
        loop {
            if stopping.is_cancelled() {
                break;
            }
            set(&health, serving).await;
            tokio::select! {
                changed = ready.changed() => match changed {
                    Ok(()) => serving = *ready.borrow_and_update(),
                    Err(_) => stopping.cancelled().await,
                },
                () = stopping.cancelled() => {},
            }
        }
        set(&health, false).await;
    });
    service
}

/// Sets every service's health.
async fn set(health: &HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    for name in crate::proto::methods::services().chain([""]) {
        health.set_service_status(name, status).await;
    }
}
