//! Recording a contact's outcome: once per event id, settling its lease, and — when the
//! rules call its code a wrong number — excluding the number for its consumer in the same
//! job.

use super::engine::{Engine, EngineError, Recorded};
use super::notes::note;
use crate::domain::audit::NoteKind;
use crate::domain::decision::tightest_tally;
use crate::domain::{Channel, Contact, FieldError};
use crate::store::{Applied, Rejected, WriteOp};

impl Engine {
    /// Records a contact outcome durably, once per `event_id`, settling the lease it names
    /// (or the oldest of its consumer, channel and number). A lease it may not settle is
    /// INVALID_ARGUMENT naming `attempt_id`, and nothing is recorded.
    ///
    /// An outcome whose code the rules in force call a wrong number excludes its number
    /// BY_USER for its consumer in the same job, with a note quoting the code (not for a
    /// duplicate, whose job writes nothing more).
    pub async fn record_contact(&self, contact: Contact) -> Result<Recorded, EngineError> {
        let (consumer_id, at, channel) = (contact.consumer_id.clone(), contact.occurred_at, contact.channel);
        let brought_about = self.wrong_number_writes(&contact);
        let mut job = vec![WriteOp::RecordContact(contact)];
        job.extend(brought_about);
        let applied = self.commit(job).await.map_err(|e| match e {
            EngineError::Rejected(Rejected::Settle(r)) => {
                EngineError::Invalid(FieldError::new("attempt_id", r.to_string()).into())
            }
            e => e,
        })?;
        let rules = self.inner.rules.now();
        // No subject: no consumer has the id (yet); the contact is recorded all the same.
        let (unknown_consumer, (tally, _)) =
            self.with_subject(&consumer_id, None, Default::default(), at, &rules, &|subject| {
                (
                    subject.is_none(),
                    subject
                        .map(|s| tightest_tally(&rules, s, channel, at))
                        .unwrap_or_default(),
                )
            })?;
        if unknown_consumer {
            crate::metrics::metrics().unknown_consumer_contact();
        }
        Ok(Recorded {
            duplicate: applied.first() == Some(&Applied::Duplicate),
            unknown_consumer,
            attempts: tally.attempts,
            rpcs: tally.rpcs,
            settled: match applied.first() {
                Some(Applied::Settled(id)) => Some(*id),
                _ => None,
            },
        })
    }

    /// What an outcome the rules in force call a wrong number brings about: its number
    /// excluded BY_USER for its consumer, and the note saying why (nothing otherwise, or
    /// for a consumer predial does not know).
    fn wrong_number_writes(&self, contact: &Contact) -> Vec<WriteOp> {
        let Some(phone) = contact.phone else { return Vec::new() };
        if !matches!(contact.channel, Channel::Phone | Channel::Text)
            || !self.inner.rules.now().is_wrong_number(contact.result_code)
            || !self.inner.book.exists(&contact.consumer_id)
        {
            return Vec::new();
        }
        let text = format!(
            "{phone} excluded: the outcome recorded for event {} was result code {}, a wrong number (the rule set's wrong_number_codes); clearing it is a user's act.",
            contact.event_id, contact.result_code
        );
        vec![
            WriteOp::SetUserExclusion {
                consumer_id: contact.consumer_id.clone(),
                phone,
                excluded: true,
            },
            note(
                &contact.consumer_id,
                &contact.operator_id,
                NoteKind::PhoneExcluded,
                text,
            ),
        ]
    }
}
