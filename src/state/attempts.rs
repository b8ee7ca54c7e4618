//! Leases outside a decision: one taken when an operator confirms a prompted call, and
//! one released because its attempt was never placed. (A decision's own lease is taken in
//! `checks.rs`; an outcome settles one in `Engine::record_contact`.)

use super::checks::allows;
use super::engine::{Engine, EngineError};
use super::notes::{note, who};
use crate::domain::audit::NoteKind;
use crate::domain::decision::Request;
use crate::domain::lease::{AttemptId, Grant, Lease, ReleaseRejection};
use crate::domain::prompt::PromptedRequest;
use crate::domain::window::reach_ms;
use crate::domain::{ReasonCode, Verdict};
use crate::store::{Applied, Rejected, WriteOp};

impl Engine {
    /// Decides a prompted request again, as it was asked, and takes its lease into memory
    /// when nothing beyond the contact-control findings the operator overrode stands in
    /// the way. Under the consumer's reservation stripe, like any reserving decision.
    pub(super) fn take_confirmed_lease(
        &self,
        consumer_id: &str,
        operator_id: &str,
        asked: &PromptedRequest,
    ) -> Result<(Lease, u64), EngineError> {
        let _held = self.inner.book.lock_for_reservation(consumer_id);
        let seen = self.inner.commits.position();
        let req = Request {
            channel: asked.channel,
            mode: asked.mode,
            workflow: asked.workflow,
            phone: asked.phone,
            purpose: asked.purpose,
            operator_id,
            at: asked.at,
            caller: None,
            rules_as_of: None,
        };
        let decision = self.decide(consumer_id, &req, asked.caller_id)?;
        // A person's contact-control violation is a PROMPT, which this confirmation
        // answers; a DENY is what no operator may override.
        if !(allows(decision.verdict) || decision.verdict == Verdict::Prompt) {
            let why: Vec<&str> = decision
                .reasons
                .iter()
                .filter(|r| !r.code.is_contact_control() && r.code != ReasonCode::NearMaxContacts)
                .map(|r| r.message.as_str())
                .collect();
            return Err(EngineError::Precondition(format!(
                "prompt_token: the call can no longer be placed, whatever the operator confirms: {}",
                why.join(" ")
            )));
        }
        // Granted by the prompted decision the operator confirmed (its findings are what
        // the override note names).
        let lease = self.new_lease(consumer_id, &asked.request_id, &req, Grant::of(&decision));
        self.inner
            .book
            .take_lease(&lease, reach_ms(self.inner.rules.load().max_retention_days()));
        Ok((lease, seen))
    }

    /// Commits a job whose effects may already be in memory (a lease taken ahead of its
    /// write): queued at once, and undone in memory if it cannot even be queued.
    pub(super) async fn commit_queued(&self, ops: Vec<WriteOp>) -> Result<Vec<Applied>, EngineError> {
        match self.inner.commits.queue(ops.clone()) {
            Ok(queued) => Ok(queued.await??),
            Err(e) => {
                ops.iter().for_each(|op| self.inner.book.undo(op));
                Err(e.into())
            }
        }
    }

    /// Says an attempt was never placed: its lease stops counting and frees its slot, with
    /// an audit note. An unknown attempt id is NOT_FOUND, a settled one FAILED_PRECONDITION;
    /// releasing one already released answers `false` and changes nothing.
    pub async fn release_attempt(&self, attempt_id: AttemptId, operator_id: &str) -> Result<bool, EngineError> {
        let not_found = || EngineError::NotFound(format!("attempt_id: no attempt {attempt_id} was issued"));
        let Some((lease, _)) = self.inner.store.lease(attempt_id)? else {
            return Err(not_found());
        };
        let what = match lease.phone {
            Some(phone) => format!("{} to {phone}", lease.channel.noun(1)),
            None => lease.channel.noun(1).to_string(),
        };
        let text = format!(
            "Operator {} released attempt {attempt_id} ({what}, allowed at {}): it was never placed and no longer counts.",
            who(operator_id),
            lease.at.to_rfc3339()
        );
        let ops = vec![
            WriteOp::ReleaseLease {
                consumer_id: lease.consumer_id.clone(),
                attempt_id,
            },
            note(&lease.consumer_id, operator_id, NoteKind::AttemptReleased, text),
        ];
        match self.commit(ops).await {
            Ok(_) => Ok(true),
            Err(EngineError::Rejected(Rejected::Release(r))) => match r {
                ReleaseRejection::AlreadyReleased => Ok(false),
                ReleaseRejection::NotFound => Err(not_found()),
                ReleaseRejection::Settled => Err(EngineError::Precondition(format!("attempt_id: {r}"))),
            },
            Err(e) => Err(e),
        }
    }
}
