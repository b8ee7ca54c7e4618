//! The workloads by name, and what a reserving one did with its leases: the vocabulary
//! the runners (`workloads.rs`, `lag.rs`) and the report share.

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Bidirectional CanDial streams.
    Candial,
    /// Unary Check.
    Check,
    /// RecordContact, every acknowledgement durable.
    Record,
    /// Dialer-like: one RecordContact per `--record-every` Checks.
    Mixed,
    /// The unary baseline: an empty round trip.
    Ping,
    /// The streaming baseline.
    PingStream,
    /// A cluster's follow delay: a consumer created on the first node of `--addr`, and the
    /// time until the second node's decisions know it.
    FeedLag,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Candial => "candial",
            Workload::Check => "check",
            Workload::Record => "record",
            Workload::Mixed => "mixed",
            Workload::Ping => "ping",
            Workload::PingStream => "ping-stream",
            Workload::FeedLag => "feed-lag",
        }
    }

    /// The bare transport round trip this workload is measured against.
    pub fn baseline(self) -> Workload {
        match self {
            Workload::Candial | Workload::PingStream => Workload::PingStream,
            _ => Workload::Ping,
        }
    }

    pub(super) fn is_stream(self) -> bool {
        matches!(self, Workload::Candial | Workload::PingStream)
    }
}

/// What became of the leases a reserving workload was granted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leases {
    pub granted: u64,
    pub settled: u64,
    pub released: u64,
    /// Settling or releasing calls that failed.
    pub errors: u64,
}

impl Leases {
    pub fn add(&mut self, other: Leases) {
        self.granted += other.granted;
        self.settled += other.settled;
        self.released += other.released;
        self.errors += other.errors;
    }
}

/// A run-unique event id prefix, so repeated runs against one server never collide.
pub(super) fn run_tag() -> String {
    format!("{:x}", fastrand::u64(..))
}
