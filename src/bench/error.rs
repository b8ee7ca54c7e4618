//! How a bench run can fail, said with every cause.

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start a server: {0}")]
    Start(String),
    /// `why` is the transport error with its causes.
    #[error("cannot connect to {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("{0}")]
    Credentials(String),
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

/// `e` with its causes, each said once ("transport error" alone says nothing, and
/// hyper's layers often repeat their cause's words).
pub(super) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let (mut last, mut cause) = (text.clone(), e.source());
    while let Some(c) = cause {
        let said = c.to_string();
        if said != last {
            text.push_str(": ");
            text.push_str(&said);
        }
        (last, cause) = (said, c.source());
    }
    text
}
