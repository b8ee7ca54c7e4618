//! The tonic services: protobuf in, validation, one engine call, protobuf out.
//!
//! Nothing here decides anything. Every inbound message is converted by
//! [`crate::proto::convert`], which names the first bad field; that becomes
//! INVALID_ARGUMENT before the engine is touched, so bad input changes nothing.
//! Before any service, every call passes the [`Gate`]: tokens and roles ([`auth`]),
//! load shedding and timing.

mod accounts;
pub mod auth;
mod compliance;
pub mod console;
mod decisions;
pub mod dnc_lines;
pub mod export_format;
mod gate;
pub mod http;
mod in_order;
pub mod paging;
mod programs;
mod reassigned;
pub mod reassigned_rows;
mod rules;
mod until_stopped;

pub use accounts::AccountsService;
pub use compliance::ComplianceService;
pub use decisions::DecisionsService;
pub use gate::Gate;
pub use programs::ProgramsService;
pub use rules::RulesService;

use std::sync::LazyLock;

use tonic::Status;

use crate::domain::prompt::PromptRejection;
use crate::domain::{FieldError, FieldErrors};
use crate::state::EngineError;
use crate::store::{LogThrottle, Rejected};

/// INVALID_ARGUMENT naming the field.
pub(crate) fn invalid(e: FieldError) -> Status {
    Status::invalid_argument(e.to_string())
}

/// Store errors answered to calls, logged at most once a second (`left_out` counts the
/// rest): when the disk is full, every write fails.
static STORE_ERRORS: LazyLock<LogThrottle> = LazyLock::new(LogThrottle::every_second);

pub(crate) fn engine_error(e: EngineError) -> Status {
    match e {
        EngineError::Invalid(FieldErrors(errors)) => Status::invalid_argument(FieldErrors(errors).to_string()),
        EngineError::NotFound(m) => Status::not_found(m),
        EngineError::Precondition(m) => Status::failed_precondition(m),
        EngineError::Rejected(Rejected::Prompt(PromptRejection::Unknown)) => {
            Status::invalid_argument(format!("prompt_token: {}", PromptRejection::Unknown))
        }
        EngineError::Rejected(r) => Status::failed_precondition(format!("prompt_token: {r}")),
        EngineError::Store(e) => {
            if let Some(left_out) = STORE_ERRORS.admit() {
                tracing::error!(error = %e, left_out, "store error");
            }
            Status::unavailable(format!("the write was not made durable: {e}"))
        }
    }
}
