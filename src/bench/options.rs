//! What a bench run is asked to do.

use std::time::Duration;

use super::workload::Workload;
use crate::client::{Credentials, ServerAddr};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub workload: Workload,
    /// Streams for `candial` and `ping-stream`.
    pub streams: usize,
    /// Requests in flight on each stream.
    pub window: usize,
    /// Concurrent callers for the unary workloads.
    pub concurrency: usize,
    pub consumers: usize,
    pub duration: Duration,
    /// Running servers (the nodes of a cluster: callers are spread over them in turn);
    /// with none, one is started on a temporary store.
    pub addrs: Vec<ServerAddr>,
    /// What to present to the server at `addr`.
    pub credentials: Credentials,
    pub compare_baseline: bool,
    /// `mixed`: one RecordContact per this many decisions.
    pub record_every: usize,
    /// Connections the callers share.
    pub connections: usize,
    /// Decision requests reserve, and their leases are settled or released.
    pub reserve: bool,
    /// Every ALLOW and WARN gets its outcome recorded, as a dialer records it: with
    /// `reserve` settling the lease (nine in ten; the tenth is released), without it a
    /// plain outcome (nine in ten; the tenth, never placed, gets none). With `reserve` and
    /// a baseline, the baseline is the same cycle without leases.
    pub cycle: bool,
    /// The servers' processes, to read their CPU time (the one the bench starts, else
    /// these, summed).
    pub server_pids: Vec<u32>,
    /// The servers' metrics endpoints, to read their flush times (likewise).
    pub metrics_addrs: Vec<std::net::SocketAddr>,
}

impl BenchOptions {
    /// The bare round trip, or (reserving `candial`) the durable write, this run is set
    /// against, and the options it runs with.
    pub(super) fn baseline(&self) -> (Workload, BenchOptions) {
        match (self.workload, self.reserve) {
            (Workload::Candial, true) if self.cycle => (
                Workload::Candial,
                BenchOptions {
                    reserve: false,
                    ..self.clone()
                },
            ),
            (Workload::Candial, true) => (
                Workload::Record,
                BenchOptions {
                    concurrency: self.streams * self.window,
                    reserve: false,
                    ..self.clone()
                },
            ),
            (w, _) => (w.baseline(), self.clone()),
        }
    }
}
