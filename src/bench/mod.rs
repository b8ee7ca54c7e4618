//! `predial bench`: the load generator.
//!
//! It drives a running server (`--addr`) or starts one itself on a temporary store,
//! populates a realistic book (`--consumers`), runs one workload for `--duration` and prints
//! throughput and latency percentiles (hdrhistogram), or one JSON object with `--json`.
//! `--compare-baseline` alternates the workload with its transport baseline on the same
//! server and connection settings (`ping-stream` for `candial`, `ping` for the unary ones)
//! and reports the ratio.
//!
//! - [`connect`]: the address, TLS and bearer token a server may ask for.
//! - [`populate`]: the book — consumers, groups, phones, states, zones, a week of calls.
//! - [`workloads`]: what each workload sends and how latency is taken.
//! - [`report`]: percentiles, text and JSON.
//! - [`server_stats`]: the server's CPU time and its store's flush times.
//!
//! With `--reserve` every decision request reserves, and the bench settles or releases the
//! leases as a dialer would (see [`workloads`]); `--compare-baseline` then sets reserving
//! `candial` against `record` at the same number of calls in flight (streams × window):
//! both are one group-committed write per request. With `--cycle` it sets the dialer's
//! whole cycle (decide, dial, record the outcome; a slot is free again only once the
//! outcome is in) with leases against the same cycle without them.

pub mod cli;
mod error;
mod lag;
mod options;
pub mod populate;
pub mod report;
pub mod server_stats;
mod workload;
pub mod workloads;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::client::{Credentials, ServerAddr};
pub use error::BenchError;
pub use options::BenchOptions;
pub use report::Report;
pub use server_stats::ServerStats;
pub use workload::Workload;

/// A server this process started, stopped when dropped.
struct OwnServer {
    child: Child,
    _data: tempfile::TempDir,
    metrics: Option<std::net::SocketAddr>,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Result<(OwnServer, ServerAddr), BenchError> {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().map_err(|e| BenchError::Start(e.to_string()))?;
    let exe: PathBuf = std::env::current_exe().map_err(|e| BenchError::Start(e.to_string()))?;
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(data.path())
        .env("RUST_LOG", "warn,predial::server=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::Start(e.to_string()))?;
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut metrics = None;
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.split("metrics on http://").nth(1) {
                    metrics = rest.split('/').next().and_then(|a| a.parse().ok());
                }
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    break addr
                        .parse()
                        .map_err(|_| BenchError::Start(format!("unreadable address in {line:?}")))?;
                }
            }
            _ => {
                let _ = child.kill();
                return Err(BenchError::Start("the server exited before listening".into()));
            }
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok((
        OwnServer {
            child,
            _data: data,
            metrics,
        },
        addr,
    ))
}

/// Runs the benchmark: the workload's report, and with `compare_baseline` its baseline's
/// folded in.
pub async fn run(options: BenchOptions) -> Result<Report, BenchError> {
    let (own, addrs) = match options.addrs.is_empty() {
        false => (None, options.addrs.clone()),
        true => {
            let (own, addr) = tokio::task::spawn_blocking(start_server)
                .await
                .expect("start-up thread")?;
            (Some(own), vec![addr])
        }
    };
    let stats = match &own {
        Some(own) => ServerStats {
            pids: vec![own.child.id()],
            metrics: own.metrics.into_iter().collect(),
        },
        None => ServerStats {
            pids: options.server_pids.clone(),
            metrics: options.metrics_addrs.clone(),
        },
    };
    // `--connections` to each node, interleaved, so that callers spread over the nodes.
    let mut per_node = Vec::new();
    for addr in &addrs {
        per_node.push(crate::client::connect(addr, &options.credentials, options.connections).await?);
    }
    let conns: Vec<crate::client::Conn> = (0..options.connections.max(1))
        .flat_map(|k| per_node.iter().map(move |node| node[k].clone()))
        .collect();
    let book = populate::populate(&conns[0], options.consumers)
        .await
        .map_err(BenchError::Populate)?;
    // The other nodes of a cluster follow the first: wait until they know the whole book.
    for node in per_node.iter().skip(1) {
        populate::wait_for_book(&node[0], &book).await;
    }
    if !options.compare_baseline {
        return Ok(measure(options.workload, &options, &conns, &book, options.duration, &stats).await);
    }
    // Alternate workload and baseline in slices, so both see the same machine weather.
    let (baseline, baseline_options) = options.baseline();
    let rounds = 4u32;
    let slice = options.duration / rounds;
    let mut measured = Report::empty(options.workload);
    let mut base = Report::empty(baseline);
    for _ in 0..rounds {
        measured.absorb(measure(options.workload, &options, &conns, &book, slice, &stats).await);
        base.absorb(measure(baseline, &baseline_options, &conns, &book, slice, &stats).await);
    }
    measured.reserve = options.reserve && options.workload != Workload::Ping;
    measured.baseline = Some(Box::new(base));
    Ok(measured)
}

/// One run of `workload`, with what the server spent meanwhile.
async fn measure(
    workload: Workload,
    options: &BenchOptions,
    conns: &[crate::client::Conn],
    book: &populate::Book,
    duration: Duration,
    stats: &ServerStats,
) -> Report {
    let read = {
        let stats = stats.clone();
        move || {
            let stats = stats.clone();
            tokio::task::spawn_blocking(move || stats.read())
        }
    };
    let before = read().await.expect("reading the server's figures");
    let mut report = if workload == Workload::FeedLag {
        lag::run(conns, options.concurrency, duration).await
    } else {
        workloads::run(workload, options, conns, book, duration).await
    };
    let after = read().await.expect("reading the server's figures");
    report.server = server_stats::Spent::between(&before, &after);
    report.reserve = options.reserve && matches!(workload, Workload::Candial | Workload::Check);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_populating_failure_names_the_admin_token_only_when_the_token_was_refused() {
        let refused = BenchError::Populate(tonic::Status::permission_denied("dialer may not call UpsertConsumer"));
        assert!(refused.to_string().contains("admin token"), "{refused}");
        let full = BenchError::Populate(tonic::Status::unavailable("storage failed: no space left"));
        let text = full.to_string();
        assert!(
            text.contains("Unavailable: storage failed") && !text.contains("token"),
            "{text}"
        );
    }
}
