//! Prometheus metrics: what the server counts, and the `/metrics` endpoint that shows it.
//!
//! One process-wide [`Metrics`] ([`metrics()`]), registered in its own registry. Every
//! handle the hot path touches is resolved once, at first use, into plain arrays of
//! counters and histograms (each an `Arc` of atomics), so counting a decision is a few
//! relaxed atomic adds — no label lookup, no lock, no allocation.
//!
//! Exported series:
//! - `predial_decisions_total{verdict}` and `predial_decision_reasons_total{reason}`;
//! - `predial_rpc_duration_seconds{method}`: unary calls from request to answer, and one
//!   `CanDial` answer in eight (the first of each stream included) from its request;
//! - `predial_rpc_rejected_total{method,code}`: calls turned away at the gate
//!   (UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED);
//! - `predial_store_flush_seconds` and `predial_store_commit_jobs`: each group commit;
//! - `predial_open_streams`: open bidirectional streams.
//!
//! On a cluster (`--store postgres://…`):
//! - `predial_database_commit_seconds`: one group commit's transaction, end to end, and
//!   `predial_database_round_trip_seconds`: a one-row read (the follower's, twice a second);
//! - `predial_contacts_unknown_consumer_total`: contacts recorded for a consumer id predial
//!   did not know (the CRM's copy may arrive later; the contact counts once it does);
//! - `predial_reservations_stale_total`: leases the database refused because another node
//!   had changed what their decision read, and `predial_reservation_retries_total`: the
//!   decisions made again for them;
//! - `predial_feed_position`, `predial_feed_behind` (changes the store has that memory has
//!   not applied yet) and `predial_feed_behind_seconds` (since memory last held all of
//!   them): how far this node's memory trails.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::domain::{ReasonCode, Verdict};
use crate::proto::convert::WireEnum;
use crate::proto::methods;
use crate::proto::v1 as pb;

/// Every method of the contract is timed under its path ([`methods::METHODS`]); anything
/// else under `other`.
pub const OTHER_METHOD: usize = methods::METHODS.len();
const OTHER: usize = OTHER_METHOD;

/// Verdicts by wire number (1..=4); reasons by wire number, in a table with room for codes
/// the contract has not yet added (a unit test checks every `ReasonCode` fits).
const VERDICTS: usize = 5;
const REASONS: usize = 32;

pub struct Metrics {
    registry: Registry,
    verdicts: Vec<IntCounter>,
    reasons: Vec<Option<IntCounter>>,
    rpc_seconds: Vec<Histogram>,
    rejected: IntCounterVec,
    flush_seconds: Histogram,
    commit_jobs: Histogram,
    pub open_streams: IntGauge,
    database_seconds: Histogram,
    round_trip: Histogram,
    stale: IntCounter,
    unknown_consumers: IntCounter,
    retries: IntCounter,
    feed_position: IntGauge,
    feed_behind: IntGauge,
    feed_behind_seconds: prometheus::Gauge,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new().expect("metric names and labels are valid"))
}

/// Latency buckets from 10 µs to 2.5 s.
fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.000_01, 2.5, 14).expect("valid buckets")
}

impl Metrics {
    /// Creates and registers every metric. Long on purpose: one short definition per
    /// metric, listed where their names and help texts can be read together.
    fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let verdicts_vec = IntCounterVec::new(
            Opts::new("predial_decisions_total", "Decisions answered, by verdict."),
            &["verdict"],
        )?;
        let reasons_vec = IntCounterVec::new(
            Opts::new("predial_decision_reasons_total", "Reasons given in decisions, by code."),
            &["reason"],
        )?;
        let rpc_vec = prometheus::HistogramVec::new(
            HistogramOpts::new("predial_rpc_duration_seconds", "Time to answer, by method.").buckets(latency_buckets()),
            &["method"],
        )?;
        let rejected = IntCounterVec::new(
            Opts::new(
                "predial_rpc_rejected_total",
                "Calls turned away before reaching a service.",
            ),
            &["method", "code"],
        )?;
        // Finer than the latency buckets (25% apart, 50 µs to 1.8 s): a reserving
        // decision waits for a flush, and the bench sets its latency against their median.
        let flush_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "predial_store_flush_seconds",
                "Time to commit and flush one group of writes.",
            )
            .buckets(prometheus::exponential_buckets(0.000_05, 1.25, 48)?),
        )?;
        let commit_jobs = Histogram::with_opts(
            HistogramOpts::new("predial_store_commit_jobs", "Writes made durable by one flush.")
                .buckets(prometheus::exponential_buckets(1.0, 2.0, 11)?),
        )?;
        let open_streams = IntGauge::new("predial_open_streams", "Open CanDial and PingStream streams.")?;
        let database_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "predial_database_commit_seconds",
                "One group commit's database transaction, end to end.",
            )
            .buckets(prometheus::exponential_buckets(0.000_05, 1.25, 48)?),
        )?;
        let round_trip = Histogram::with_opts(
            HistogramOpts::new(
                "predial_database_round_trip_seconds",
                "A one-row read of the database (the feed's head), end to end.",
            )
            .buckets(latency_buckets()),
        )?;
        registry.register(Box::new(round_trip.clone()))?;
        let stale = IntCounter::new(
            "predial_reservations_stale_total",
            "Leases the database refused: another node had changed what their decision read.",
        )?;
        let retries = IntCounter::new(
            "predial_reservation_retries_total",
            "Reserving decisions made again after a stale refusal.",
        )?;
        let feed_position = IntGauge::new("predial_feed_position", "The change-feed position memory holds.")?;
        let feed_behind = IntGauge::new(
            "predial_feed_behind",
            "Changes the store holds that this node's memory has not applied yet.",
        )?;
        let feed_behind_seconds = prometheus::Gauge::new(
            "predial_feed_behind_seconds",
            "Seconds since this node's memory last held every change of the store.",
        )?;
        let unknown_consumers = IntCounter::new(
            "predial_contacts_unknown_consumer_total",
            "Contacts recorded for a consumer id predial did not know (recorded all the same).",
        )?;
        for c in [stale.clone(), retries.clone(), unknown_consumers.clone()] {
            registry.register(Box::new(c))?;
        }
        for g in [feed_position.clone(), feed_behind.clone()] {
            registry.register(Box::new(g))?;
        }
        registry.register(Box::new(database_seconds.clone()))?;
        registry.register(Box::new(feed_behind_seconds.clone()))?;
        registry.register(Box::new(verdicts_vec.clone()))?;
        registry.register(Box::new(reasons_vec.clone()))?;
        registry.register(Box::new(rpc_vec.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        registry.register(Box::new(flush_seconds.clone()))?;
        registry.register(Box::new(commit_jobs.clone()))?;
        registry.register(Box::new(open_streams.clone()))?;

        let verdicts = (0..VERDICTS as i32)
            .map(|n| {
                let name = pb::Verdict::try_from(n).map_or("UNKNOWN", |v| v.as_str_name());
                verdicts_vec.with_label_values(&[name.trim_start_matches("VERDICT_")])
            })
            .collect();
        let reasons = (0..REASONS as i32)
            .map(|n| match pb::ReasonCode::try_from(n) {
                Ok(pb::ReasonCode::Unspecified) | Err(_) => None,
                Ok(code) => {
                    Some(reasons_vec.with_label_values(&[code.as_str_name().trim_start_matches("REASON_CODE_")]))
                }
            })
            .collect();
        let rpc_seconds = methods::METHODS
            .iter()
            .map(|m| m.path)
            .chain(["other"])
            .map(|m| rpc_vec.with_label_values(&[m]))
            .collect();
        Ok(Metrics {
            registry,
            verdicts,
            reasons,
            rpc_seconds,
            rejected,
            flush_seconds,
            commit_jobs,
            open_streams,
            database_seconds,
            round_trip,
            stale,
            retries,
            unknown_consumers,
            feed_position,
            feed_behind,
            feed_behind_seconds,
        })
    }

    pub fn database_commit(&self, elapsed: Duration) {
        self.database_seconds.observe(elapsed.as_secs_f64());
    }

    pub fn database_round_trip(&self, elapsed: Duration) {
        self.round_trip.observe(elapsed.as_secs_f64());
    }

    /// A contact recorded for a consumer id no consumer has (yet).
    pub fn unknown_consumer_contact(&self) {
        self.unknown_consumers.inc();
    }

    pub fn stale_reservations(&self, n: u64) {
        self.stale.inc_by(n);
    }

    pub fn reservation_retried(&self) {
        self.retries.inc();
    }

    pub fn feed(&self, position: u64, behind: u64, since_caught_up: Duration) {
        self.feed_position.set(position as i64);
        self.feed_behind.set(behind as i64);
        self.feed_behind_seconds.set(since_caught_up.as_secs_f64());
    }

    /// Counts one decision and its reasons.
    pub fn decision(&self, verdict: Verdict, reasons: impl Iterator<Item = ReasonCode>) {
        if let Some(c) = self.verdicts.get(verdict.to_wire() as usize) {
            c.inc();
        }
        for code in reasons {
            if let Some(Some(c)) = self.reasons.get(code.to_wire() as usize) {
                c.inc();
            }
        }
    }

    /// The index of a method path in [`methods::METHODS`], for [`Metrics::rpc`].
    pub fn method_index(path: &str) -> usize {
        methods::find(path).map_or(OTHER, |(i, _)| i)
    }

    pub fn rpc(&self, method: usize, elapsed: Duration) {
        self.rpc_seconds[method.min(OTHER)].observe(elapsed.as_secs_f64());
    }

    pub fn rejected(&self, path: &str, code: tonic::Code) {
        let method = methods::find(path).map_or("other", |(_, m)| m.path);
        self.rejected.with_label_values(&[method, &format!("{code:?}")]).inc();
    }

    pub fn flushed(&self, jobs: usize, elapsed: Duration) {
        self.flush_seconds.observe(elapsed.as_secs_f64());
        self.commit_jobs.observe(jobs as f64);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Counts an open stream for as long as it lives.
pub struct OpenStream(());

impl OpenStream {
    pub fn open() -> OpenStream {
        metrics().open_streams.inc();
        OpenStream(())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics().open_streams.dec();
    }
}

/// `GET /metrics`, for the metrics listener and the HTTP/JSON one alike.
pub fn router() -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                metrics().render(),
            )
        }),
    )
}

/// Serves `GET /metrics` on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router()).with_graceful_shutdown(stop).await
}

/// Binds the metrics listener (so a bad address fails start-up, not later).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_of_the_contract_has_a_counter() {
        for code in (1..).map_while(|n| pb::ReasonCode::try_from(n).ok()) {
            assert!((code as usize) < REASONS, "{code:?} does not fit the reasons table");
        }
    }

    #[test]
    fn a_counted_decision_shows_in_the_exposition() {
        let m = metrics();
        m.decision(
            Verdict::Deny,
            [ReasonCode::MaxContacts, ReasonCode::HoldAfterRpc].into_iter(),
        );
        m.rpc(
            Metrics::method_index("/predial.v1.Decisions/Check"),
            Duration::from_micros(40),
        );
        m.flushed(3, Duration::from_millis(2));
        let text = m.render();
        assert!(text.contains("predial_decisions_total{verdict=\"DENY\"}"), "{text}");
        assert!(text.contains("predial_decision_reasons_total{reason=\"MAX_CONTACTS\"}"));
        assert!(text.contains("predial_rpc_duration_seconds_bucket{method=\"/predial.v1.Decisions/Check\""));
        assert!(text.contains("predial_store_flush_seconds_count"));
    }

    #[test]
    fn an_unknown_method_is_counted_as_other() {
        assert_eq!(Metrics::method_index("/x.Y/Z"), OTHER);
        assert_eq!(Metrics::method_index(methods::METHODS[3].path), 3);
        assert_eq!(Metrics::method_index("/predial.v1.Decisions/ReleaseAttempt"), 4);
    }
}
