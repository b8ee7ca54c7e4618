//! How a bench run can fail, said with every cause.

use crate::client::with_causes;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start a server: {0}")]
    Start(String),
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    #[error("populating the book failed: {}", populate_failure(.0))]
    Populate(tonic::Status),
}

/// A refused populating call's message, with what to do when the refusal was about the
/// token, or with its causes when the call never reached the server's answer (a plaintext
/// client against a TLS server gets only "operation was canceled" without them).
fn populate_failure(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => format!(
            "{} (populating creates consumers: it needs an admin token; --consumers 0 skips it)",
            status.message()
        ),
        code => {
            let causes = std::error::Error::source(status).map(with_causes);
            match causes {
                Some(causes) => format!("{code:?}: {}: {causes}", status.message()),
                None => format!("{code:?}: {}", status.message()),
            }
        }
    }
}
