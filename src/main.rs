//! The `predial` command line: `serve`, `bench`, `holidays`, `rules`, `export`, `dnc`, `reassigned`,
//! `hash-token`.

/// mimalloc rather than the system allocator: sled frees on threads other than the ones
/// that allocated, and glibc's arena locks then showed in profiles of the write path.
/// Measured with `predial bench --workload record --concurrency 64 --compare-baseline`:
/// ratio 0.268 → 0.314 (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use predial::api::auth::hash_token;
use predial::config::{LogFormat, ServeArgs};
use predial::server::run;

#[derive(Parser)]
#[command(
    name = "predial",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PREDIAL_COMMIT"), ")"),
    about = "A gRPC pre-dial decision server"
)]
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
    #[cfg(feature = "bench")]
    Bench(Box<predial::bench::cli::BenchArgs>),
    /// Print the US federal holidays of a year (observed days) as a JSON list, for a rule
    /// set's `holidays`.
    Holidays {
        #[arg(long)]
        year: i32,
    },
    /// Rule files, offline: check them, or show what changed between two.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write a running server's evidence export (every recorded event, in time order) to
    /// a file or stdout, as CSV or NDJSON.
    Export(Box<predial::export_cli::ExportArgs>),
    /// Do Not Call lists of a running server: import a list file.
    #[command(subcommand)]
    Dnc(predial::dnc_cli::DncCommand),
    /// Reassigned Numbers Database answers of a running server: import a CSV file.
    #[command(subcommand)]
    Reassigned(predial::reassigned_cli::ReassignedCommand),
    /// Print the SHA-256 of a bearer token, as the config stores it: of TOKEN, of one line
    /// on stdin, or of a new random token (--generate, printed too).
    HashToken {
        token: Option<String>,
        #[arg(long, conflicts_with = "token")]
        generate: bool,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Check rule files with the validation a put runs; every error with its field. Exit 0
    /// when all are good, 1 when any is not.
    Check {
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// What changed from OLD to NEW, control by control.
    Diff {
        old: std::path::PathBuf,
        new: std::path::PathBuf,
    },
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
    match Cli::parse().command {
        Command::Serve(args) => serve(*args),
        #[cfg(feature = "bench")]
        Command::Bench(args) => {
            init_logging(LogFormat::Text);
            predial::bench::cli::run(*args)
        }
        Command::Holidays { year } => {
            let days: Vec<String> = predial::domain::calendar::us_federal_holidays(year)
                .iter()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .collect();
            println!("{}", serde_json::to_string(&days).expect("strings serialise"));
            ExitCode::SUCCESS
        }
        Command::Export(args) => predial::export_cli::run(*args),
        Command::Dnc(command) => predial::dnc_cli::run(command),
        Command::Reassigned(command) => predial::reassigned_cli::run(command),
        Command::HashToken { token, generate } => print_token_hash(token, generate),
        Command::Rules(RulesCommand::Check { files }) => predial::rules_cli::check(&files),
        Command::Rules(RulesCommand::Diff { old, new }) => predial::rules_cli::diff(&old, &new),
    }
}

/// A multi-thread tokio runtime, for the commands that need one.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `predial serve`: the settings resolved (exit 2 when they are not valid), then the server
/// until SIGTERM or Ctrl-C.
fn serve(args: ServeArgs) -> ExitCode {
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
    match runtime().block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("predial: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `predial hash-token`: the hash of TOKEN, of one line on stdin, or of a new random token
/// (printed too). An empty token is refused (exit 2): it is no secret.
fn print_token_hash(token: Option<String>, generate: bool) -> ExitCode {
    let token = match (token, generate) {
        (Some(t), _) => t,
        (None, true) => {
            let t = generate_token();
            println!("token:  {t}");
            t
        }
        (None, false) => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                eprintln!("predial hash-token: give a token, one line on stdin, or --generate");
                return ExitCode::from(2);
            }
            line.trim().to_string()
        }
    };
    if token.trim().is_empty() {
        eprintln!("predial hash-token: the token is empty, and an empty token is no secret (--generate makes one)");
        return ExitCode::from(2);
    }
    println!("sha256: {}", hash_token(&token));
    ExitCode::SUCCESS
}
