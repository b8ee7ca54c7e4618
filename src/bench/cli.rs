//! `predial bench`'s command line: its flags, and the run printed as text or JSON.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{BenchOptions, Credentials, ServerAddr, Workload};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "candial")]
    workload: Workload,
    /// Streams (candial, ping-stream).
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Requests in flight per stream.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Concurrent callers (check, record, mixed, ping).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Consumers to populate the book with before measuring.
    #[arg(long, default_value_t = 10_000)]
    consumers: usize,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// A running server (host:port, http://host:port, or https://host:port for TLS), or
    /// the nodes of a cluster, comma-separated (callers are spread over them); with none,
    /// one is started on a temporary store
    #[arg(long, value_delimiter = ',')]
    addr: Vec<ServerAddr>,
    /// Bearer token sent with every call (populating needs an admin token)
    #[arg(long, env = "PREDIAL_BENCH_TOKEN", hide_env_values = true, requires = "addr")]
    token: Option<String>,
    /// CA certificate (PEM) the server's certificate must chain to (default: the system's roots)
    #[arg(long, requires = "addr")]
    tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for mutual TLS; with --tls-key
    #[arg(long, requires_all = ["addr", "tls_key"])]
    tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS; with --tls-cert
    #[arg(long, requires_all = ["addr", "tls_cert"])]
    tls_key: Option<PathBuf>,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Alternate the workload with its baseline (ping-stream or ping) and report the ratio.
    #[arg(long)]
    compare_baseline: bool,
    /// mixed: one RecordContact per this many decisions.
    #[arg(long, default_value_t = 10)]
    record_every: usize,
    /// Connections shared by the callers.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Every decision request reserves (candial, check); the bench settles nine leases in
    /// ten with RecordContact and releases the tenth. With --compare-baseline, reserving
    /// candial is set against record at streams × window calls in flight.
    #[arg(long)]
    reserve: bool,
    /// With --reserve and --compare-baseline: set reserving candial against the same
    /// dialer's cycle without leases — candial that does not reserve, whose ALLOW and WARN
    /// answers get the same outcomes recorded (nine in ten; the tenth, never placed, none)
    /// — instead of against record.
    #[arg(long, requires = "reserve")]
    cycle: bool,
    /// The process id of the server at --addr (several, comma-separated, are summed), to
    /// report its CPU time per request.
    #[arg(long, requires = "addr", value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// The metrics endpoint (host:port) of the server at --addr (several, comma-separated),
    /// to report its flush times.
    #[arg(long, requires = "addr", value_delimiter = ',')]
    metrics_addr: Vec<std::net::SocketAddr>,
}

/// `predial bench`: the run, its report as text or JSON (logging is set up by the caller).
pub fn run(args: BenchArgs) -> ExitCode {
    let json = args.json;
    match runtime().block_on(super::run(args.into_options())) {
        Ok(report) if json => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{}", report.to_text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("predial bench: {e}");
            ExitCode::FAILURE
        }
    }
}

impl BenchArgs {
    fn into_options(self) -> BenchOptions {
        BenchOptions {
            workload: self.workload,
            streams: self.streams,
            window: self.window,
            concurrency: self.concurrency,
            consumers: self.consumers,
            duration: Duration::from_secs_f64(self.duration.max(0.1)),
            addrs: self.addr,
            credentials: Credentials {
                tls_ca: self.tls_ca,
                tls_identity: self.tls_cert.zip(self.tls_key),
                token: self.token,
            },
            compare_baseline: self.compare_baseline,
            record_every: self.record_every,
            connections: self.connections,
            reserve: self.reserve,
            cycle: self.cycle,
            server_pids: self.server_pid,
            metrics_addrs: self.metrics_addr,
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
