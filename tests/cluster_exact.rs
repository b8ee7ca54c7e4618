//! Exact across nodes: nine streams and unary callers, spread over three nodes of one
//! cluster, reserve the same consumers and groups at once; every consumer and group ends
//! with exactly its limit of leases. The negative control runs the same load on nodes
//! that grant whatever their memory decided, stale or not (a debug-only switch), and shows
//! the check catches the over-admission that follows.

mod common;

use std::time::Duration;

use common::hammer::*;
use common::postgres::Postgres;
use common::*;
use predial::proto::v1 as pb;

async fn cluster(pg: &Postgres, env: &[(&str, &str)]) -> Vec<(tempfile::TempDir, Server)> {
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = pg.url();
        let server = Server::start_env(dir.path(), &["--store", &url], env);
        wait_health(&server, true).await;
        nodes.push((dir, server));
    }
    nodes
}

/// Populates the book through the first node, then waits until every node's memory holds
/// it and the rules.
async fn populated(nodes: &[(tempfile::TempDir, Server)]) {
    populate(&nodes[0].1, 16).await;
    let version = nodes[0]
        .1
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner()
        .version;
    let (last, _) = book().pop().unwrap();
    let i = book().len() - 1;
    for (_, node) in nodes {
        let mut rules = node.rules().await;
        let mut decisions = node.decisions().await;
        for _ in 0..200 {
            let active = rules
                .get_rule_set(pb::GetRuleSetRequest::default())
                .await
                .unwrap()
                .into_inner();
            let d = decisions
                .check(dial("w", &last, &phone(i, 0), pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            if active.version == version && !reason_codes(&d).contains(&pb::ReasonCode::UnknownConsumer) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nine_streams_over_three_nodes_end_with_exactly_each_limit() {
    let pg = Postgres::start();
    let nodes = cluster(&pg, &[]).await;
    populated(&nodes).await;
    let servers: Vec<&Server> = nodes.iter().map(|(_, s)| s).collect();
    let granted = hammer(&servers, "a").await;
    exactly_at_the_limits(&granted).unwrap();
    let mut ids: Vec<&String> = granted.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), granted.len());
    // Every node counts every lease, whichever node granted it.
    for (_, node) in &nodes {
        let mut decisions = node.decisions().await;
        for (i, (id, _)) in book().into_iter().enumerate() {
            let d = decisions
                .check(dial("read", &id, &phone(i, 0), pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(verdict(&d), pb::Verdict::Deny, "{id} on {}", node.addr);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_check_catches_over_admission_when_nodes_grant_from_stale_memory() {
    let mut caught = None;
    for round in 0..3 {
        let pg = Postgres::start();
        let nodes = cluster(&pg, &[("PREDIAL_TEST_UNCHECKED_LEASES", "1")]).await;
        populated(&nodes).await;
        let servers: Vec<&Server> = nodes.iter().map(|(_, s)| s).collect();
        let granted = hammer(&servers, &format!("n{round}")).await;
        if let Err(why) = exactly_at_the_limits(&granted) {
            caught = Some(why);
            break;
        }
    }
    let why = caught.expect("nodes granting from stale memory should have over-admitted some consumer or group");
    eprintln!("negative control caught: {why}");
}
