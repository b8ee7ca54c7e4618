//! `predial dnc import`: a Do Not Call list file (one number per line: the registry's
//! download, or E.164) into a named list of a running server, streamed, with a progress
//! line on a terminal.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::dnc_lines::{LINES_PER_CHUNK, by_line, chunk, mode};
use crate::client::{Progress, ServerArgs};
use crate::proto::v1 as pb;

#[derive(Debug, clap::Subcommand)]
pub enum DncCommand {
    /// Replace, add to or take from a list with the numbers of FILE ("-": stdin).
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The list: national, internal, a state's list… (default: "default")
    #[arg(long, default_value = "default")]
    list: String,
    /// replace (the list becomes exactly FILE's numbers), add, or remove (default add)
    #[arg(long, default_value = "add", value_parser = mode)]
    mode: pb::ImportMode,
    file: PathBuf,
}

pub fn run(command: DncCommand) -> ExitCode {
    let DncCommand::Import(args) = command;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(import(&args)) {
        Ok(s) => {
            eprintln!(
                "predial dnc import: list {:?}: {} numbers sent, {} removed, {} on the list now",
                s.list, s.imported, s.removed, s.numbers
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("predial dnc import: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn import(args: &ImportArgs) -> Result<pb::ImportSummary, String> {
    let reader: Box<dyn BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let conn = args.server.connect().await.map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let (list, import_mode) = (args.list.clone(), args.mode);
    // The file is read on a blocking thread, a chunk at a time, as the server takes them.
    let reading = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut progress = Progress::new();
        let mut first = Some((list, import_mode));
        let mut lines = Vec::with_capacity(LINES_PER_CHUNK);
        let mut sent = 0usize;
        for line in reader.lines() {
            lines.push(line.map_err(|e| format!("reading: {e}"))?);
            if lines.len() == LINES_PER_CHUNK {
                let c = chunk(&lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m)));
                if tx.blocking_send(c).is_err() {
                    return Ok(());
                }
                sent += lines.len();
                lines.clear();
                progress.show(|| format!("{sent} lines sent"));
            }
        }
        if !lines.is_empty() || first.is_some() {
            let _ = tx.blocking_send(chunk(&lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m))));
        }
        progress.done();
        Ok(())
    });
    let answer = conn
        .programs()
        .import_do_not_call(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    reading.await.map_err(|e| e.to_string())??;
    answer
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), by_line(s.message())))
}
