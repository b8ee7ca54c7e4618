//! The `predial` command line: `serve`, `bench`, `holidays`, `hash-token`.

/// mimalloc rather than the system allocator: sled frees on threads other than the ones
/// that allocated, and glibc's arena locks then showed in profiles of the write path.
/// Measured with `predial bench --workload record --concurrency 64 --compare-baseline`:
/// ratio 0.268 → 0.314 (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use predial::api::auth::hash_token;
use predial::bench::{self, BenchOptions, Credentials, ServerAddr, Workload};
use predial::config::{LogFormat, ServeArgs};
use predial::server::run;

#[derive(Parser)]
#[command(name = "predial", version, about = "A gRPC pre-dial decision server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API (and, with --http-listen, HTTP/JSON) on the embedded store under
    /// --data, or as a cluster node on the PostgreSQL database --store names.
    Serve(Box<ServeArgs>),
    /// Load-test a server (or one started on a temporary store) and print throughput and
    /// latency percentiles.
    Bench(Box<BenchArgs>),
    /// Print the US federal holidays of a year (observed days) as a JSON list, for a rule
    /// set's `holidays`.
    Holidays {
        #[arg(long)]
        year: i32,
    },
    /// Print the SHA-256 of a bearer token, as the config stores it: of TOKEN, of one line
    /// on stdin, or of a new random token (--generate, printed too).
    HashToken {
        token: Option<String>,
        #[arg(long, conflicts_with = "token")]
        generate: bool,
    },
}

#[derive(clap::Args)]
struct BenchArgs {
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

/// Logs to stderr, filtered by `RUST_LOG` (default `info`), as text or JSON lines.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: a journal or a file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A new random token: 32 bytes from the OS, hex.
fn generate_token() -> String {
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    a.as_bytes()
        .iter()
        .chain(b.as_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => {
            init_logging(LogFormat::Text);
            let options = BenchOptions {
                workload: args.workload,
                streams: args.streams,
                window: args.window,
                concurrency: args.concurrency,
                consumers: args.consumers,
                duration: Duration::from_secs_f64(args.duration.max(0.1)),
                addrs: args.addr,
                credentials: Credentials {
                    tls_ca: args.tls_ca,
                    tls_identity: args.tls_cert.zip(args.tls_key),
                    token: args.token,
                },
                compare_baseline: args.compare_baseline,
                record_every: args.record_every,
                connections: args.connections,
                reserve: args.reserve,
                cycle: args.cycle,
                server_pids: args.server_pid,
                metrics_addrs: args.metrics_addr,
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            match runtime.block_on(bench::run(options)) {
                Ok(report) if args.json => {
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
        Command::Holidays { year } => {
            let days: Vec<String> = predial::domain::calendar::us_federal_holidays(year)
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect();
            println!("{}", serde_json::to_string(&days).expect("strings serialise"));
            ExitCode::SUCCESS
        }
        Command::HashToken { token, generate } => {
            let token = match (token, generate) {
                (Some(t), _) if t.trim().is_empty() => {
                    eprintln!("predial hash-token: the token is empty, and an empty token is no secret");
                    return ExitCode::from(2);
                }
                (Some(t), _) => t,
                (None, true) => {
                    let t = generate_token();
                    println!("token:  {t}");
                    t
                }
                (None, false) => {
                    let mut line = String::new();
                    if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                        eprintln!("predial hash-token: give a token, one line on stdin, or --generate");
                        return ExitCode::from(2);
                    }
                    line.trim().to_string()
                }
            };
            println!("sha256: {}", hash_token(&token));
            ExitCode::SUCCESS
        }
        Command::Serve(args) => {
            let options = match args.resolve() {
                Ok(resolved) => {
                    init_logging(resolved.log_format);
                    for warning in &resolved.warnings {
                        tracing::warn!("{warning}");
                    }
                    resolved.serve
                }
                Err(e) => {
                    eprintln!("predial: {e}");
                    return ExitCode::from(2);
                }
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            match runtime.block_on(run(options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("predial: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
