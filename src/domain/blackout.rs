//! Emergency blackouts: an order (a governor's, after a hurricane) that suspends contacts
//! to consumers in named places for a time. A contact in the interval to a consumer in the
//! place is DENY `EMERGENCY_BLACKOUT` in every mode, allowed again at the order's end.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::consumer::Whereabouts;
use super::consumer::{Region, validate_id, validate_region};
use super::error::FieldError;
use super::kinds::{CallPurpose, Channel};
use super::place::Places;

/// A blackout as written in a rule set (`predial.v1.Blackout`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlackoutDraft {
    pub id: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub states: Vec<String>,
    pub counties: Vec<String>,
    pub postal_codes: Vec<String>,
    pub channels: Vec<Channel>,
    pub call_purposes: Vec<CallPurpose>,
    pub citation: String,
}

/// A blackout, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Blackout {
    pub id: Arc<str>,
    pub from_ms: i64,
    pub to: DateTime<Utc>,
    /// Empty: any state.
    pub states: Vec<Region>,
    pub places: Places,
    /// Empty: every channel.
    pub channels: Vec<Channel>,
    /// Empty: every purpose.
    pub purposes: Vec<CallPurpose>,
    pub citation: String,
}

impl Blackout {
    /// Checks a draft, naming each field that is wrong (relative to the blackout).
    pub fn compile(d: &BlackoutDraft) -> Result<Blackout, Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Err(e) = validate_id(&d.id, "id") {
            errors.push(e);
        }
        match (d.from, d.to) {
            (Some(from), Some(to)) if to <= from => errors.push(FieldError::new("to", "must be after from")),
            (None, _) => errors.push(FieldError::new("from", "is required")),
            (_, None) => errors.push(FieldError::new("to", "is required")),
            _ => {}
        }
        let mut states = Vec::new();
        for (i, s) in d.states.iter().enumerate() {
            match validate_region(s, &format!("states[{i}]"), 3) {
                Ok(Some(code)) => states.extend(Region::new(&code)),
                Ok(None) => errors.push(FieldError::new(format!("states[{i}]"), "is empty")),
                Err(e) => errors.push(e),
            }
        }
        let places = Places::parse(&d.postal_codes, &d.counties).unwrap_or_else(|es| {
            errors.extend(es);
            Places::default()
        });
        if d.states.is_empty() && d.counties.is_empty() && d.postal_codes.is_empty() {
            errors.push(FieldError::new(
                "states",
                "a blackout names its place: states, counties or postal_codes",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Blackout {
            id: Arc::from(d.id.trim()),
            from_ms: d.from.expect("checked").timestamp_millis(),
            to: d.to.expect("checked"),
            states,
            places,
            channels: d.channels.clone(),
            purposes: d.call_purposes.clone(),
            citation: d.citation.trim().to_string(),
        })
    }

    /// Whether it suspends a contact on `channel` of `purpose` (none: not known — bound)
    /// at `at_ms` to a consumer `at` a place.
    pub fn binds(&self, at_ms: i64, channel: Channel, purpose: Option<CallPurpose>, at: &Whereabouts) -> bool {
        (self.from_ms..self.to.timestamp_millis()).contains(&at_ms)
            && (self.channels.is_empty() || self.channels.contains(&channel))
            && (self.purposes.is_empty() || purpose.is_none_or(|p| self.purposes.contains(&p)))
            && (self.states.is_empty() || at.state.is_some_and(|s| self.states.contains(&s)))
            && self.places.binds(at.postal_code, at.county)
    }

    /// What a reason says of it.
    pub fn message(&self) -> String {
        let order = if self.citation.is_empty() {
            format!("emergency blackout {}", self.id)
        } else {
            self.citation.clone()
        };
        format!(
            "An emergency order suspends contacts in the consumer's place until {} ({order}).",
            self.to.format("%Y-%m-%d %H:%M UTC")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::place::{County, PostalCode};

    fn draft() -> BlackoutDraft {
        BlackoutDraft {
            id: "ian".into(),
            from: Some("2026-09-28T00:00:00Z".parse().unwrap()),
            to: Some("2026-10-12T00:00:00Z".parse().unwrap()),
            states: vec!["FL".into()],
            counties: vec!["Lee".into(), "Charlotte".into()],
            citation: "Executive Order 26-1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_blackout_binds_its_counties_for_its_interval_only() {
        let b = Blackout::compile(&draft()).unwrap();
        let at = |county: &str| Whereabouts {
            state: Region::new("FL"),
            county: County::new(county),
            postal_code: PostalCode::parse("33901").ok(),
            ..Default::default()
        };
        let during = "2026-10-01T15:00:00Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
            .timestamp_millis();
        assert!(b.binds(during, Channel::Phone, None, &at("Lee County")));
        assert!(
            !b.binds(during, Channel::Phone, None, &at("Collier")),
            "the county next door"
        );
        assert!(
            !b.binds(b.to.timestamp_millis(), Channel::Phone, None, &at("Lee")),
            "its end is free"
        );
        assert!(b.message().contains("2026-10-12 00:00 UTC") && b.message().contains("Executive Order"));
    }

    #[test]
    fn a_blackout_needs_a_forward_interval_and_a_place() {
        let fields = |d: BlackoutDraft| -> Vec<String> {
            Blackout::compile(&d)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        let backwards = BlackoutDraft {
            to: Some("2026-09-01T00:00:00Z".parse().unwrap()),
            ..draft()
        };
        assert_eq!(fields(backwards), ["to"]);
        let nowhere = BlackoutDraft {
            states: vec![],
            counties: vec![],
            ..draft()
        };
        assert_eq!(fields(nowhere), ["states"]);
        let bad_zip = BlackoutDraft {
            postal_codes: vec!["33a".into()],
            ..draft()
        };
        assert_eq!(fields(bad_zip), ["postal_codes[0]"]);
    }
}
