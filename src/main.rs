//! The `predial` command line: `predial serve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Deserialize;

use predial::bench::{self, BenchOptions, Workload};
use predial::server::{ServeOptions, run};

#[derive(Parser)]
#[command(name = "predial", version, about = "A gRPC pre-dial decision server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gRPC API on the embedded store.
    Serve(ServeArgs),
    /// Load-test a server (or one started on a temporary store) and print throughput and
    /// latency percentiles.
    Bench(BenchArgs),
    /// Print the US federal holidays of a year (observed days) as a JSON list, for a rule
    /// set's `holidays`.
    Holidays {
        #[arg(long)]
        year: i32,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the log line names it).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the embedded store (created when missing).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A rule set (JSON) to make active at start; with none and an empty store, the
    /// shipped Regulation F preset.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// A TOML file with any of these settings; flags given on the command line win.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seconds shutdown waits for open calls before closing them.
    #[arg(long)]
    drain_seconds: Option<u64>,
    /// Seconds a click-to-dial prompt token can be answered (default 300).
    #[arg(long)]
    prompt_ttl_seconds: Option<u64>,
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
    /// A running server; with none, one is started on a temporary store.
    #[arg(long)]
    addr: Option<SocketAddr>,
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
}

/// The `--config` file: the same settings as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    rules: Option<PathBuf>,
    drain_seconds: Option<u64>,
    prompt_ttl_seconds: Option<u64>,
}

fn read_config(path: &Path) -> Result<ConfigFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{} is not a valid config: {e}", path.display()))
}

fn serve_options(args: ServeArgs) -> Result<ServeOptions, String> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => ConfigFile::default(),
    };
    Ok(ServeOptions {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:50051".parse().expect("a valid default")),
        data: args
            .data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from("./predial-data")),
        rules: args.rules.or(file.rules),
        drain: Duration::from_secs(args.drain_seconds.or(file.drain_seconds).unwrap_or(10)),
        prompt_ttl: Duration::from_secs(args.prompt_ttl_seconds.or(file.prompt_ttl_seconds).unwrap_or(300)),
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => {
            let options = BenchOptions {
                workload: args.workload,
                streams: args.streams,
                window: args.window,
                concurrency: args.concurrency,
                consumers: args.consumers,
                duration: Duration::from_secs_f64(args.duration.max(0.1)),
                addr: args.addr,
                compare_baseline: args.compare_baseline,
                record_every: args.record_every,
                connections: args.connections,
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
        Command::Serve(args) => {
            let options = match serve_options(args) {
                Ok(o) => o,
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
