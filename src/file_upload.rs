//! The command line's file uploads (`predial dnc import`, `predial reassigned import`): a
//! file (or stdin) read on a blocking thread, a chunk of lines at a time, as the server
//! takes them, with a progress line on a terminal.

use std::io::BufRead;
use std::path::Path;

use crate::client::Progress;

/// Opens `file` ("-": stdin) for reading line by line.
pub fn open(file: &Path) -> Result<Box<dyn BufRead + Send>, String> {
    if file.as_os_str() == "-" {
        return Ok(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let opened = std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, opened)))
}

/// Sends `reader`'s lines, `per_chunk` at a time, each chunk made by `make` (at least one
/// chunk, empty for an empty file); stops early when the receiver is gone.
pub fn send_lines<T: Send + 'static>(
    reader: Box<dyn BufRead + Send>,
    per_chunk: usize,
    mut make: impl FnMut(&[String]) -> T + Send + 'static,
    tx: tokio::sync::mpsc::Sender<T>,
) -> tokio::task::JoinHandle<Result<(), String>> {
    tokio::task::spawn_blocking(move || {
        let mut progress = Progress::new();
        let mut lines = Vec::with_capacity(per_chunk);
        let (mut sent, mut chunks) = (0usize, 0usize);
        for line in reader.lines() {
            lines.push(line.map_err(|e| format!("reading: {e}"))?);
            if lines.len() == per_chunk {
                if tx.blocking_send(make(&lines)).is_err() {
                    return Ok(());
                }
                sent += lines.len();
                chunks += 1;
                lines.clear();
                progress.show(|| format!("{sent} lines sent"));
            }
        }
        if !lines.is_empty() || chunks == 0 {
            let _ = tx.blocking_send(make(&lines));
        }
        progress.done();
        Ok(())
    })
}

/// Runs `upload` on a runtime of its own and says how it ended, as `command`: its summary
/// (`said`) on success, its error otherwise.
pub fn finish(
    command: &str,
    upload: impl std::future::Future<Output = Result<crate::proto::v1::ImportSummary, String>>,
    said: impl FnOnce(&crate::proto::v1::ImportSummary) -> String,
) -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(upload) {
        Ok(summary) => {
            eprintln!("{command}: {}", said(&summary));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{command}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
