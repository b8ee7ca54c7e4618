//! Report-writer queries (`Compliance.Query`): the equivalents of Collect!'s @CCCALLOK …
//! @CCRPCS, each as of an instant.
//!
//! The OK kinds are the decision for that channel (AUTO, a collection-workflow step) at
//! `as_of`. ATTEMPTS, RPCS and VALIDATION_DATE read the durable history and count only what
//! had happened by `as_of`, so a report about last month is what it would have said then.

use chrono::{DateTime, NaiveDate, Utc};

use super::book::Lookup;
use super::engine::{Engine, EngineError};
use crate::domain::calendar::{template_matches, validation_end_date};
use crate::domain::decision::{Request, tightest_tally};
use crate::domain::time::local_date;
use crate::domain::{Channel, Contact, Mode, PhoneNumber, ReasonCode, Verdict};

/// What a report asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplianceKind {
    CallOk,
    TextOk,
    LetterOk,
    EmailOk,
    SmsOk,
    TzCallOk,
    ValidationDate,
    Attempts,
    Rpcs,
}

/// The answer: `ok`, a count, a local date — each kind fills what it means.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComplianceAnswer {
    pub ok: bool,
    pub count: u32,
    pub date: Option<NaiveDate>,
}

impl Engine {
    /// Answers a report-writer query about `consumer_id` (and `phone`, else the consumer's
    /// first number) as of `as_of`.
    ///
    /// Long on purpose: one arm per report query kind, each a few lines, so the kinds
    /// read side by side.
    pub fn compliance(
        &self,
        consumer_id: &str,
        phone: Option<PhoneNumber>,
        kind: ComplianceKind,
        as_of: DateTime<Utc>,
        rules_as_of: Option<DateTime<Utc>>,
    ) -> Result<ComplianceAnswer, EngineError> {
        // The version a decision about `as_of` is made under (see `Timeline::deciding`).
        let rules = self
            .inner
            .rules
            .load()
            .deciding(as_of.timestamp_millis(), rules_as_of, || Utc::now().timestamp_millis())
            .clone();
        let q = Lookup {
            phone,
            at_ms: as_of.timestamp_millis(),
            needed_from_ms: i64::MIN,
            do_not_call_listed: None,
            reassigned: &[],
        };
        let Some(snapshot) = self.inner.book.snapshot(consumer_id, q) else {
            return Err(EngineError::NotFound(format!("no consumer {consumer_id:?}")));
        };
        let phone = phone.or_else(|| snapshot.profile.phones.first().map(|p| p.number));
        let day_zone = snapshot.profile.day_zone();
        let decide = |channel: Channel| {
            let needs_phone = matches!(channel, Channel::Phone | Channel::Text);
            let req = Request {
                channel,
                mode: Mode::Auto,
                workflow: true,
                phone: if needs_phone { phone } else { None },
                purpose: None,
                operator_id: "",
                at: as_of,
                caller: None,
                // Pinned to the version chosen above: the instant it took effect selects it.
                rules_as_of: Some(rules.meta.activated_at),
            };
            self.decide(consumer_id, &req, None)
        };
        let ok_answer = |channel: Channel| -> Result<ComplianceAnswer, EngineError> {
            let d = decide(channel)?;
            Ok(ComplianceAnswer {
                ok: matches!(d.verdict, Verdict::Allow | Verdict::Warn),
                count: d.attempts,
                date: d.next_allowed_at.map(|t| local_date(t, day_zone)),
            })
        };
        match kind {
            ComplianceKind::CallOk => ok_answer(Channel::Phone),
            ComplianceKind::TextOk => ok_answer(Channel::Text),
            ComplianceKind::LetterOk => ok_answer(Channel::Letter),
            ComplianceKind::EmailOk => ok_answer(Channel::Email),
            ComplianceKind::TzCallOk => {
                let d = decide(Channel::Phone)?;
                let ok = !d.has(ReasonCode::OutsideCallingHours) && !d.has(ReasonCode::UnknownTimeZone);
                Ok(ComplianceAnswer {
                    ok,
                    count: 0,
                    date: None,
                })
            }
            ComplianceKind::SmsOk => {
                let d = decide(Channel::Text)?;
                let days = rules
                    .controls
                    .iter()
                    .filter(|c| c.channels.contains(Channel::Text))
                    .filter_map(|c| c.sms_reauth_days)
                    .min();
                let authorized = phone
                    .and_then(|p| snapshot.profile.phone(p))
                    .and_then(|p| p.sms_authorized_at_ms());
                let expires = match (authorized, days) {
                    (Some(ms), Some(days)) => DateTime::from_timestamp_millis(ms + days as i64 * 86_400_000),
                    _ => None,
                };
                let ok = authorized.is_some() && !d.has(ReasonCode::SmsReauthRequired);
                Ok(ComplianceAnswer {
                    ok,
                    count: 0,
                    date: expires.map(|t| local_date(t, day_zone)),
                })
            }
            ComplianceKind::ValidationDate => {
                let contacts = self.contacts_as_of(&[consumer_id], as_of)?;
                let at = snapshot.profile.whereabouts();
                let mut end: Option<NaiveDate> = None;
                for control in &rules.controls {
                    let Some(rule) = &control.validation else { continue };
                    if !control.applies_to(control.channel, &at, None) {
                        continue;
                    }
                    let sent = contacts
                        .iter()
                        .rev()
                        .find(|c| control.channels.contains(c.channel) && template_matches(&c.template, &rule.report));
                    if let Some(sent) = sent {
                        let date = validation_end_date(
                            local_date(sent.occurred_at, day_zone),
                            rule.business_days,
                            rule.calendar_days,
                            &rules.holidays,
                        );
                        end = end.max(Some(date));
                    }
                }
                Ok(ComplianceAnswer {
                    ok: end.is_some(),
                    count: 0,
                    date: end,
                })
            }
            ComplianceKind::Attempts | ComplianceKind::Rpcs => {
                // Unsettled leases taken by then count as attempts, as in a decision.
                let own = self.history_as_of(&[consumer_id], as_of)?;
                let group = match snapshot.profile.group {
                    Some(_) => {
                        let members: Vec<&str> = snapshot.members.iter().map(|m| &**m).collect();
                        Some(self.history_as_of(&members, as_of)?)
                    }
                    None => None,
                };
                let subject = snapshot.subject(&own, group.as_ref());
                let (tally, _) = tightest_tally(&rules, &subject, Channel::Phone, as_of);
                let count = if kind == ComplianceKind::Attempts {
                    tally.attempts
                } else {
                    tally.rpcs
                };
                Ok(ComplianceAnswer {
                    ok: true,
                    count,
                    date: None,
                })
            }
        }
    }

    /// The contacts of `ids` that had happened by `as_of`, and their unsettled leases taken
    /// by then, as one history.
    fn history_as_of(&self, ids: &[&str], as_of: DateTime<Utc>) -> Result<crate::domain::History, EngineError> {
        let mut recs: Vec<_> = self.contacts_as_of(ids, as_of)?.iter().map(Contact::rec).collect();
        for id in ids {
            recs.extend(self.unsettled_leases(id, Some(as_of))?.iter().map(|l| l.rec()));
        }
        Ok(crate::domain::History::from_unsorted(recs, i64::MIN))
    }

    /// The stored contacts of `ids` that had happened by `as_of`, oldest first.
    fn contacts_as_of(&self, ids: &[&str], as_of: DateTime<Utc>) -> Result<Vec<Contact>, EngineError> {
        let mut contacts = Vec::new();
        for id in ids {
            self.inner.store.contacts_of(id, &mut |c| {
                if c.occurred_at <= as_of {
                    contacts.push(c)
                }
            })?;
        }
        contacts.sort_by_key(|c| c.occurred_at);
        Ok(contacts)
    }
}
