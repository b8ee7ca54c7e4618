//! `predial dnc import`: a Do Not Call list file (one number per line: the registry's
//! download, or E.164) into a named list of a running server, streamed, with a progress
//! line on a terminal.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::dnc_lines::{LINES_PER_CHUNK, by_line, chunk, mode};
use crate::client::ServerArgs;
use crate::file_upload::{finish, open, send_lines};
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
    finish("predial dnc import", import(&args), |s| {
        format!(
            "list {:?}: {} numbers sent, {} removed, {} on the list now",
            s.list, s.imported, s.removed, s.numbers
        )
    })
}

async fn import(args: &ImportArgs) -> Result<pb::ImportSummary, String> {
    let reader = open(&args.file)?;
    let conn = args.server.connect().await.map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let mut first = Some((args.list.clone(), args.mode));
    let reading = send_lines(
        reader,
        LINES_PER_CHUNK,
        move |lines| chunk(lines, first.take().as_ref().map(|(l, m)| (l.as_str(), *m))),
        tx,
    );
    let answer = conn
        .programs()
        .import_do_not_call(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    reading.await.map_err(|e| e.to_string())??;
    answer
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), by_line(s.message())))
}
