//! Cluster mode (SPEC section 6): several nodes on one PostgreSQL database, over gRPC
//! against the real binary, each test on a throwaway database of its own.

mod common;

use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const A: &str = "+15551234567";
const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York

/// A node of the cluster on `pg`, serving.
async fn node(pg: &Postgres, extra: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let url = pg.url();
    let mut args = vec!["--store", url.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start_with(dir.path(), &args);
    wait_health(&server, true).await;
    (dir, server)
}

/// Polls `f` until it is true, for up to 2 s (the SPEC's bound is one second); how long
/// it took.
async fn within_a_second<F, Fut>(mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if f().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("not seen within 2 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_one_node_writes_every_node_reads() {
    let pg = Postgres::start();
    let (_a_dir, a) = node(&pg, &[]).await;
    let (_b_dir, b) = node(&pg, &[]).await;
    let (_c_dir, c) = node(&pg, &[]).await;
    a.accounts()
        .await
        .upsert_consumer(consumer("c1", "NY", "America/New_York", A))
        .await
        .unwrap();
    // GetConsumer reads the database; a decision reads memory, which follows the feed.
    for other in [&b, &c] {
        let got = other
            .accounts()
            .await
            .get_consumer(pb::GetConsumerRequest { id: "c1".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.phones[0].number, A);
        let mut decisions = other.decisions().await;
        within_a_second(|| {
            let mut decisions = decisions.clone();
            async move {
                let d = decisions
                    .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                    .await
                    .unwrap()
                    .into_inner();
                verdict(&d) == pb::Verdict::Allow
            }
        })
        .await;
        let _ = &mut decisions;
    }
    a.decisions()
        .await
        .record_contact(call("e1", "c1", A, 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap();
    let mut on_c = c.decisions().await;
    let took = within_a_second(|| {
        let mut on_c = on_c.clone();
        async move {
            let d = on_c
                .check(dial("r", "c1", A, pb::Mode::Auto, AT))
                .await
                .unwrap()
                .into_inner();
            d.attempts == 1
        }
    })
    .await;
    eprintln!("a contact recorded on A counted on C after {took:?}");
    // The same event sent to another node is a duplicate: one ledger.
    let again = on_c
        .record_contact(call("e1", "c1", A, 1, "2026-06-02T14:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_refuses_a_database_whose_schema_is_newer_than_it_knows() {
    let pg = Postgres::start();
    let (_dir, first) = node(&pg, &[]).await;
    drop(first);
    pg.psql("UPDATE predial_schema SET version = version + 1");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &pg.url(), "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("newer than this predial knows"), "{stderr}");
    let _ = Code::Ok;
}
