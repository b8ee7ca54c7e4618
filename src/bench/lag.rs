//! `--workload feed-lag`: how far a cluster node's memory trails what another node
//! committed. Each caller creates a consumer through the first node of `--addr` and, once
//! that is acknowledged, asks the second node about it until its answer knows the consumer;
//! the latency is from the acknowledgement to that answer (the follow delay, plus one
//! decision's round trip). With one address, the same node answers at once.

use std::time::{Duration, Instant};

use super::report::{Report, histogram};
use super::workload::{Workload, run_tag};
use crate::client::Conn;
use crate::proto::v1 as pb;

/// The longest a consumer may take to show before the caller counts an error.
const GIVE_UP: Duration = Duration::from_secs(5);

pub async fn run(conns: &[Conn], callers: usize, duration: Duration) -> Report {
    let started = Instant::now();
    let deadline = started + duration;
    let tag = run_tag();
    // Connections alternate between the nodes: the first is the first node's, the second
    // the second node's (or the first's again, with one address).
    let (writer, reader) = (&conns[0], &conns[1.min(conns.len() - 1)]);
    let mut tasks = Vec::new();
    for caller in 0..callers.max(1) {
        let (mut accounts, mut decisions, tag) = (writer.accounts(), reader.decisions(), tag.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut completed, mut errors) = (histogram(), 0u64, 0u64);
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let id = format!("bench-lag-{tag}-{caller}-{n}");
                let consumer = pb::Consumer {
                    id: id.clone(),
                    time_zone: "America/New_York".into(),
                    phones: vec![pb::Phone {
                        number: "+15550100000".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                if accounts.upsert_consumer(consumer).await.is_err() {
                    errors += 1;
                    continue;
                }
                let acked = Instant::now();
                let ask = pb::DialRequest {
                    request_id: id.clone(),
                    consumer_id: id,
                    channel: pb::Channel::Phone as i32,
                    phone: "+15550100000".into(),
                    ..Default::default()
                };
                let unknown = pb::ReasonCode::UnknownConsumer as i32;
                loop {
                    let known = decisions
                        .check(ask.clone())
                        .await
                        .is_ok_and(|d| !d.get_ref().reasons.iter().any(|r| r.code == unknown));
                    if known {
                        let us = acked.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        latencies.record(us).expect("within bounds");
                        completed += 1;
                        break;
                    }
                    if acked.elapsed() > GIVE_UP {
                        errors += 1;
                        break;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
            (latencies, completed, errors)
        }));
    }
    let mut report = Report::empty(Workload::FeedLag);
    for task in tasks {
        let (latencies, completed, errors) = task.await.expect("a lag task");
        report.latencies.add(&latencies).expect("same bounds");
        report.completed += completed;
        report.errors += errors;
    }
    report.elapsed = started.elapsed();
    report
}
