//! `predial export`: the evidence export of a running server, to a file (or stdout), as
//! CSV or NDJSON, with a progress line on a terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};

use crate::api::export_format::{ExportWriter, Format};
use crate::client::{Progress, ServerArgs};
use crate::proto::convert::timestamp_to;
use crate::proto::v1 as pb;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Events at or after this instant (RFC 3339, or a date: its midnight UTC); required
    /// without --consumer
    #[arg(long, value_parser = instant)]
    from: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339, or a date: its midnight UTC); required
    /// without --consumer
    #[arg(long, value_parser = instant)]
    to: Option<DateTime<Utc>>,
    /// One consumer's events (default: every consumer's)
    #[arg(long)]
    consumer: Option<String>,
    /// Only these kinds, comma-separated (CONTACT, LEASE, …; default: every kind)
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// csv or ndjson (default csv)
    #[arg(long, default_value = "csv", value_parser = Format::parse)]
    format: Format,
    /// The file to write (default: stdout)
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// An instant as a person types it: RFC 3339, or a date meaning its midnight UTC.
fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("{text:?} is neither an RFC 3339 instant nor a YYYY-MM-DD date"))
}

pub fn run(args: ExportArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(export(&args)) {
        Ok(n) => {
            let to = args
                .output
                .as_ref()
                .map_or("stdout".into(), |p| p.display().to_string());
            eprintln!("predial export: {n} records written to {to}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("predial export: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn export(args: &ExportArgs) -> Result<u64, String> {
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let conn = args.server.connect().await.map_err(|e| e.to_string())?;
    let request = pb::ExportRequest {
        consumer_id: args.consumer.clone().unwrap_or_default(),
        from: args.from.map(timestamp_to),
        to: args.to.map(timestamp_to),
        kinds: args.kinds.clone(),
    };
    let mut records = conn
        .compliance()
        .export(request)
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let mut writer = ExportWriter::new(args.format, out).map_err(|e| e.to_string())?;
    let mut progress = Progress::new();
    let mut n = 0u64;
    while let Some(record) = records.message().await.map_err(|s| {
        format!(
            "the export broke off after {n} records: {:?}: {}",
            s.code(),
            s.message()
        )
    })? {
        writer.write(&record).map_err(|e| format!("writing: {e}"))?;
        n += 1;
        progress.show(|| {
            let at = record.at.as_ref().and_then(|t| DateTime::from_timestamp(t.seconds, 0));
            format!("{n} records, up to {}", at.map(|t| t.to_rfc3339()).unwrap_or_default())
        });
    }
    progress.done();
    writer.finish().map_err(|e| format!("writing: {e}"))?;
    Ok(n)
}
