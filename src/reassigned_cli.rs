//! `predial reassigned import`: a CSV of Reassigned Numbers Database answers
//! (`number,as_of,answer,checked_at`, a header line allowed) into a running server,
//! streamed, with a progress line on a terminal. All or nothing: a line that cannot be read
//! — here or by the server — refuses the import, naming the line.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::reassigned_rows::{Chunks, LINES_PER_CHUNK};
use crate::client::ServerArgs;
use crate::file_upload::{finish, open, send_lines};
use crate::proto::v1 as pb;

#[derive(Debug, clap::Subcommand)]
pub enum ReassignedCommand {
    /// Keep the answers of FILE ("-": stdin); a later check of the same number and date
    /// replaces an earlier one.
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    server: ServerArgs,
    file: PathBuf,
}

pub fn run(command: ReassignedCommand) -> ExitCode {
    let ReassignedCommand::Import(args) = command;
    finish("predial reassigned import", import(&args), |s| {
        format!("{} answers sent, {} answers kept now", s.imported, s.numbers)
    })
}

async fn import(args: &ImportArgs) -> Result<pb::ImportSummary, String> {
    let reader = open(&args.file)?;
    let conn = args.server.connect().await.map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let chunks = Chunks::default();
    let reading = send_lines(reader, LINES_PER_CHUNK, chunks.maker(), tx);
    let answer = conn
        .programs()
        .import_reassigned(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    reading.await.map_err(|e| e.to_string())??;
    answer
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), chunks.explain(s.message())))
}
