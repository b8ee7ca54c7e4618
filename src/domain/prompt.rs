//! Click-to-dial override prompts: the single-use token an agent answers with.

use chrono::{DateTime, Duration, Utc};

use super::kinds::{CallPurpose, Channel, Mode};
use super::lease::Grant;
use super::phone::PhoneNumber;

/// A prompted request that asked to reserve: confirming it with `proceed` takes its lease
/// then, decided again on this request as it was asked (its instant included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptedRequest {
    pub request_id: String,
    pub channel: Channel,
    pub phone: Option<PhoneNumber>,
    pub mode: Mode,
    pub workflow: bool,
    pub purpose: Option<CallPurpose>,
    pub caller_id: Option<PhoneNumber>,
    pub at: DateTime<Utc>,
}

/// An issued prompt, as stored under its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub consumer_id: String,
    /// The operator it was shown to; only they may answer it.
    pub operator_id: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The findings the agent was asked to override, as one sentence.
    pub findings: String,
    pub used: bool,
    /// Set when the prompted request reserved.
    pub reservation: Option<PromptedRequest>,
    /// The decision that prompted: its reasons and the rule-set version (none for a
    /// prompt issued before prompts kept it).
    pub decision: Option<Grant>,
}

impl Prompt {
    pub fn new(
        consumer_id: &str,
        operator_id: &str,
        now: DateTime<Utc>,
        valid_for: Duration,
        findings: String,
    ) -> Self {
        Prompt {
            consumer_id: consumer_id.to_string(),
            operator_id: operator_id.to_string(),
            issued_at: now,
            expires_at: now + valid_for,
            findings,
            used: false,
            reservation: None,
            decision: None,
        }
    }

    /// Whether `operator_id` may answer this prompt at `now`.
    pub fn check_answer(&self, operator_id: &str, now: DateTime<Utc>) -> Result<(), PromptRejection> {
        if self.used {
            Err(PromptRejection::AlreadyUsed)
        } else if now >= self.expires_at {
            Err(PromptRejection::Expired)
        } else if !self.operator_id.is_empty() && self.operator_id != operator_id {
            Err(PromptRejection::OtherOperator)
        } else {
            Ok(())
        }
    }
}

/// Why an answer to a prompt is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PromptRejection {
    #[error("no such prompt token")]
    Unknown,
    #[error("the prompt token was already answered")]
    AlreadyUsed,
    #[error("the prompt token has expired")]
    Expired,
    #[error("the prompt token was issued to another operator")]
    OtherOperator,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_is_answered_once_by_its_operator_before_it_expires() {
        let now: DateTime<Utc> = "2026-06-01T15:00:00Z".parse().unwrap();
        let p = Prompt::new("c", "agent-1", now, Duration::minutes(5), "x".into());
        assert_eq!(p.check_answer("agent-1", now + Duration::seconds(299)), Ok(()));
        assert_eq!(
            p.check_answer("agent-1", now + Duration::minutes(5)),
            Err(PromptRejection::Expired)
        );
        assert_eq!(p.check_answer("agent-2", now), Err(PromptRejection::OtherOperator));
        let used = Prompt { used: true, ..p };
        assert_eq!(used.check_answer("agent-1", now), Err(PromptRejection::AlreadyUsed));
    }
}
