//! What people do to decisions: answers to prompts, callbacks, exclusions and STOP
//! replies — each with its audit note, written in the same durable job as the change it
//! records. (Issuing a prompt, and an exempt operator's note, are part of answering a
//! decision: `checks.rs`.)

use chrono::{DateTime, Utc};

use super::checks::Granted;
use super::engine::{Engine, EngineError};
use super::notes::{note, who};
use crate::domain::audit::{AuditNote, NoteKind};
use crate::domain::callback::Callback;
use crate::domain::exclusions::ExclusionStatus;
use crate::domain::keywords::{TextKeyword, parse_keyword};
use crate::domain::prompt::PromptRejection;
use crate::domain::{ExcludedBy, Exclusions, PhoneNumber, Verdict};
use crate::store::{Applied, Rejected, WriteOp};

/// What an inbound text did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundOutcome {
    pub phone: PhoneNumber,
    pub keyword: Option<&'static str>,
    /// Whether the number is excluded BY_CUSTOMER after the text.
    pub excluded: bool,
    pub consumer_ids: Vec<String>,
}

fn note_id(applied: &[Applied]) -> Option<u64> {
    applied.iter().find_map(|a| match a {
        Applied::Noted(id) => Some(*id),
        _ => None,
    })
}

impl Engine {
    /// The agent's answer to a prompt: ALLOW when they proceed, DENY when they decline,
    /// and a note either way. The token is used up; a reused, expired, unknown or other
    /// operator's token is refused and nothing is written.
    ///
    /// When the prompted request reserved, proceeding takes its lease, as an ALLOW would:
    /// the request is decided again as it was asked (under its reservation stripe), and
    /// the lease, the used token and the note are one job. What the operator may override
    /// is the contact-control findings they were shown; if the request would now be denied
    /// outright (an opt-out, another call in flight, an exclusion), nothing is written and
    /// the answer is FAILED_PRECONDITION, the token still unanswered.
    pub async fn confirm_override(
        &self,
        token: &str,
        operator_id: &str,
        proceed: bool,
    ) -> Result<(Verdict, u64, Option<Granted>), EngineError> {
        let now = Utc::now();
        let prompt = self
            .inner
            .store
            .prompt(token)?
            .ok_or(Rejected::Prompt(PromptRejection::Unknown))?;
        prompt.check_answer(operator_id, now).map_err(Rejected::from)?;
        let (verdict, kind, text) = if proceed {
            (
                Verdict::Allow,
                NoteKind::OverrideConfirmed,
                format!("Operator {} overrode: {}.", who(operator_id), prompt.findings),
            )
        } else {
            (
                Verdict::Deny,
                NoteKind::OverrideDeclined,
                format!(
                    "Operator {} declined to override: {}.",
                    who(operator_id),
                    prompt.findings
                ),
            )
        };
        // A lease a shared store finds stale is taken again (memory has caught up by then).
        for _ in 0..5 {
            let answer = WriteOp::AnswerPrompt {
                token: token.to_string(),
                operator_id: operator_id.to_string(),
                now,
            };
            let mut ops = vec![answer, note(&prompt.consumer_id, operator_id, kind, text.clone())];
            let granted = match (&prompt.reservation, proceed) {
                (Some(asked), true) => {
                    let (lease, seen) = self.take_confirmed_lease(&prompt.consumer_id, operator_id, asked)?;
                    let granted = Granted::of(&lease);
                    ops.push(WriteOp::TakeLease { lease, seen });
                    Some(granted)
                }
                _ => None,
            };
            match self.commit_queued(ops).await {
                Err(EngineError::Rejected(Rejected::Stale)) => continue,
                applied => return Ok((verdict, note_id(&applied?).expect("a note was written"), granted)),
            }
        }
        Err(EngineError::Store(crate::store::StoreError::Backend(
            "other nodes kept changing this consumer while its lease was being granted; try again".into(),
        )))
    }

    /// Lifts frequency and hold controls for calls to `phone` from `callback_at` until the
    /// next call to it is recorded.
    pub async fn schedule_callback(
        &self,
        consumer_id: &str,
        phone: PhoneNumber,
        callback_at: DateTime<Utc>,
        operator_id: &str,
    ) -> Result<Callback, EngineError> {
        self.require_consumer(consumer_id)?;
        let callback = Callback {
            id: uuid::Uuid::new_v4().simple().to_string(),
            consumer_id: consumer_id.to_string(),
            phone,
            callback_at,
            operator_id: operator_id.to_string(),
        };
        let text = format!(
            "Callback to {phone} requested for {}: frequency and hold limits lifted from then until the next call to it.",
            callback_at.to_rfc3339()
        );
        let ops = vec![
            WriteOp::PutCallback(callback.clone()),
            note(consumer_id, operator_id, NoteKind::CallbackScheduled, text),
        ];
        self.commit(ops).await?;
        Ok(callback)
    }

    /// Replaces the three account-level exclusion flags.
    pub async fn set_exclusions(
        &self,
        consumer_id: &str,
        flags: Exclusions,
        operator_id: &str,
    ) -> Result<ExclusionStatus, EngineError> {
        self.require_consumer(consumer_id)?;
        let on = |b: bool| if b { "on" } else { "off" };
        let text = format!(
            "Exclusions set: bankruptcy {}, disable texting and auto calls {}, disable auto communications {}.",
            on(flags.bankruptcy),
            on(flags.disable_text_and_auto_calls),
            on(flags.disable_auto_communications)
        );
        let set = WriteOp::SetExclusionFlags {
            consumer_id: consumer_id.to_string(),
            flags,
        };
        self.commit(vec![
            set,
            note(consumer_id, operator_id, NoteKind::ExclusionsChanged, text),
        ])
        .await?;
        self.exclusion_status(consumer_id)
    }

    /// Sets or clears a per-number exclusion. A user may exclude BY_USER (set or clear) and
    /// record a consumer's spoken opt-out BY_CUSTOMER; a BY_CUSTOMER exclusion is cleared
    /// only by the consumer's own START reply.
    pub async fn exclude_phone(
        &self,
        consumer_id: &str,
        phone: PhoneNumber,
        by: ExcludedBy,
        excluded: bool,
        operator_id: &str,
    ) -> Result<ExclusionStatus, EngineError> {
        self.require_consumer(consumer_id)?;
        let (op, kind, text) = match (by, excluded) {
            (ExcludedBy::User, true) => (
                WriteOp::SetUserExclusion {
                    consumer_id: consumer_id.to_string(),
                    phone,
                    excluded,
                },
                NoteKind::PhoneExcluded,
                format!("{phone} excluded by operator {}.", who(operator_id)),
            ),
            (ExcludedBy::User, false) => (
                WriteOp::SetUserExclusion {
                    consumer_id: consumer_id.to_string(),
                    phone,
                    excluded,
                },
                NoteKind::PhoneIncluded,
                format!("{phone}: exclusion by a user cleared by operator {}.", who(operator_id)),
            ),
            (ExcludedBy::Customer, true) => (
                // Spoken, to an operator: of no one text's purpose, so every purpose.
                WriteOp::SetOptOut {
                    phone,
                    at: Some(Utc::now()),
                    purpose: None,
                },
                NoteKind::OptedOut,
                format!(
                    "Operator {} recorded that the consumer opted {phone} out.",
                    who(operator_id)
                ),
            ),
            (ExcludedBy::Customer, false) => {
                return Err(EngineError::Precondition(format!(
                    "{phone} is excluded by the consumer: only the consumer's START reply clears that"
                )));
            }
        };
        self.commit(vec![op, note(consumer_id, operator_id, kind, text)])
            .await?;
        self.exclusion_status(consumer_id)
    }

    /// A text from a consumer: a revocation (`domain::keywords`) excludes the number
    /// BY_CUSTOMER for every consumer who has it, an opt-in that is the whole reply clears
    /// that; anything else changes nothing. The note quotes the reply and names the word or
    /// phrase that decided, so a compliance officer can see why.
    ///
    /// `caller_id` is the number whose text the reply answered: its program's purpose is
    /// the revocation's (`domain::revocation`); none, or no program's, is every purpose.
    pub async fn inbound_text(
        &self,
        phone: PhoneNumber,
        body: &str,
        at: DateTime<Utc>,
        caller_id: Option<PhoneNumber>,
    ) -> Result<InboundOutcome, EngineError> {
        let keyword = parse_keyword(body);
        let consumer_ids = self.inner.store.consumers_with(phone)?;
        let (change, kind, word) = match keyword {
            None => {
                let excluded = self.inner.book.opted_out_at(phone).is_some();
                return Ok(InboundOutcome {
                    phone,
                    keyword: None,
                    excluded,
                    consumer_ids,
                });
            }
            Some(TextKeyword::Stop(word)) => (Some(at), NoteKind::OptedOut, word),
            Some(TextKeyword::Start(word)) => (None, NoteKind::OptedIn, word),
        };
        let quoted = quote(body);
        let text = match change {
            Some(_) => format!("The consumer texted {quoted} from {phone} ({word}): the number is excluded."),
            None => format!("The consumer texted {quoted} from {phone} ({word}): the consumer's exclusion is cleared."),
        };
        let purpose = caller_id
            .and_then(|c| self.inner.registry.caller_facts(c, at))
            .map(|facts| facts.purpose);
        let mut ops = vec![WriteOp::SetOptOut {
            phone,
            at: change,
            purpose,
        }];
        ops.extend(consumer_ids.iter().map(|id| note(id, "", kind, text.clone())));
        self.commit(ops).await?;
        Ok(InboundOutcome {
            phone,
            keyword: Some(word),
            excluded: change.is_some(),
            consumer_ids,
        })
    }

    pub fn exclusion_status(&self, consumer_id: &str) -> Result<ExclusionStatus, EngineError> {
        self.inner
            .book
            .exclusion_status(consumer_id)
            .ok_or_else(|| EngineError::NotFound(format!("no consumer {consumer_id:?}")))
    }

    /// A consumer's audit notes, oldest first. There is no way to edit or delete one.
    pub fn audit_notes(&self, consumer_id: &str) -> Result<Vec<AuditNote>, EngineError> {
        Ok(self.inner.store.notes_of(consumer_id)?)
    }

    fn require_consumer(&self, consumer_id: &str) -> Result<(), EngineError> {
        if self.inner.book.exists(consumer_id) {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("no consumer {consumer_id:?}")))
        }
    }
}

/// A reply as a note quotes it: on one line, in quotes, cut at 500 characters.
fn quote(body: &str) -> String {
    const MAX: usize = 500;
    let one_line: String = body
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut cut: String = one_line.chars().take(MAX).collect();
    if one_line.chars().count() > MAX {
        cut.push('…');
    }
    format!("{cut:?}")
}
