//! A consumer's standing for the customer card: every binding control's counts over the
//! whole stored history (not only what memory keeps), the open attempts, the callbacks,
//! and when an automated call is next allowed — all as of one instant, under the rule-set
//! version a decision then would use.

use chrono::{DateTime, NaiveDate, Utc};

use super::book::Lookup;
use super::engine::{Engine, EngineError};
use crate::domain::decision::Request;
use crate::domain::lease::OpenLease;
use crate::domain::standing::{ControlStanding, standing};
use crate::domain::window::Tally;
use crate::domain::{Channel, Mode, PhoneNumber, RuleSet, Verdict};

/// What [`Engine::standing`] answers.
#[derive(Debug, Clone)]
pub struct Standing {
    pub at: DateTime<Utc>,
    pub rules: std::sync::Arc<RuleSet>,
    pub controls: Vec<ControlCount>,
    pub open_attempts: Vec<OpenLease>,
    pub callbacks: Vec<(PhoneNumber, i64)>,
    pub next_call_allowed_at: Option<DateTime<Utc>>,
}

/// One binding control's counts (`domain::standing::ControlStanding`, owned).
#[derive(Debug, Clone)]
pub struct ControlCount {
    /// Its index in the rules' controls.
    pub index: usize,
    pub tally: Tally,
    pub window_ms: (i64, i64),
    pub held_until: Option<NaiveDate>,
}

impl Engine {
    pub fn standing(&self, consumer_id: &str, at: DateTime<Utc>) -> Result<Standing, EngineError> {
        let rules = self
            .inner
            .rules
            .load()
            .deciding(at.timestamp_millis(), None, || Utc::now().timestamp_millis())
            .clone();
        let q = Lookup {
            phone: None,
            at_ms: at.timestamp_millis(),
            needed_from_ms: i64::MIN,
            do_not_call_listed: None,
            reassigned: &[],
        };
        let Some(snapshot) = self.inner.book.snapshot(consumer_id, q) else {
            return Err(EngineError::NotFound(format!("no consumer {consumer_id:?}")));
        };
        let own = self.full_history([consumer_id])?;
        let group = match snapshot.members.is_empty() {
            true => None,
            false => Some(self.full_history(snapshot.members.iter().map(|m| &**m))?),
        };
        let profile = &snapshot.profile;
        let counted: Vec<ControlStanding> = standing(
            &rules,
            &profile.whereabouts(),
            &own,
            group.as_ref(),
            at,
            profile.day_zone(),
        );
        let controls = counted
            .iter()
            .map(|s| ControlCount {
                index: s.index,
                tally: s.tally,
                window_ms: s.window_ms,
                held_until: s.held_until,
            })
            .collect();
        let next_call_allowed_at = match profile.phones.first() {
            None => None,
            Some(phone) => {
                let req = Request {
                    channel: Channel::Phone,
                    mode: Mode::Auto,
                    workflow: false,
                    phone: Some(phone.number),
                    purpose: None,
                    operator_id: "",
                    at,
                    caller: None,
                    rules_as_of: Some(rules.meta.activated_at),
                };
                let d = self.decide(consumer_id, &req, None)?;
                match d.verdict {
                    Verdict::Allow | Verdict::Warn => Some(at),
                    _ => d.next_allowed_at,
                }
            }
        };
        Ok(Standing {
            at,
            controls,
            open_attempts: self.unsettled_leases(consumer_id, None)?,
            callbacks: self.inner.book.callbacks_of(consumer_id),
            next_call_allowed_at,
            rules,
        })
    }
}
