//! The answer to a request: the verdict, every reason, the counts behind them and the
//! earliest time the contact would be allowed.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::kinds::{ReasonCode, Verdict};
use super::rules::ContactControl;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: ReasonCode,
    pub control_id: Option<Arc<str>>,
    pub message: String,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// Contacts counted in the tightest window (the control closest to its maximum).
    pub attempts: u32,
    pub rpcs: u32,
    /// How many of `attempts` are unsettled leases.
    pub pending: u32,
    pub max_contacts: u32,
    /// The earliest instant at which the same request has no time-based violation; `None`
    /// when no time will help (an exclusion, an unknown consumer or time zone).
    pub next_allowed_at: Option<DateTime<Utc>>,
    pub rule_set_version: u64,
    /// For a PROMPT: what the agent is asked.
    pub prompt_text: Option<String>,
}

impl Decision {
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The contact-control findings, as one sentence ("7 calls in the last 7 days; the
    /// limit is 7"): what a prompt asks an agent to override.
    pub fn findings(&self) -> String {
        let mut text = String::new();
        for r in self.reasons.iter().filter(|r| r.code.is_contact_control()) {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(&r.message);
        }
        text
    }

    pub(super) fn add(&mut self, code: ReasonCode, control: Option<&ContactControl>, message: String) {
        self.reasons.push(Reason {
            code,
            control_id: control.map(|c| c.id.clone()),
            message,
        });
    }
}
