//! The FCC's Reassigned Numbers Database, as decisions read its answers.
//!
//! The database answers, for a number and a date, whether the number was permanently
//! disconnected since that date: YES (whoever answers now is not who gave the number),
//! NO, or NO_DATA. A caller that asked it about the date of consent and heard NO has a
//! safe harbor; a caller that heard YES has no consent left. Dialers ask in batches, so
//! predial keeps the answers ([`ReassignedAnswer`]) and reads them against each number's
//! consent day ([`reassigned_since_consent`], [`missing_check`]).
//!
//! Choices where the law and the database say nothing more:
//! - The consent day is the date of `Phone.consent_at` in the consumer's time zone (UTC
//!   without one), as every day of a decision is; an answer `as_of` that day or later
//!   speaks for the time since consent, one `as_of` an earlier day does not.
//! - A YES is a fact about all time since its date, so any YES on or after the consent day
//!   denies, even when a later answer for a later date says NO (the number was disconnected,
//!   then given to someone else, whose line has not been disconnected since).
//! - With no `consent_at`, a YES still denies (nothing says the consent came after the
//!   disconnection), and no answer can be the check a control requires.
//! - One answer is kept per number and date asked; a later one (by `checked_at`) replaces it.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::error::FieldError;
use super::phone::PhoneNumber;

/// What the database answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    /// Permanently disconnected since the date asked.
    Yes,
    /// Not disconnected since the date asked.
    No,
    /// The database has no data for the number over that time.
    NoData,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Yes => "YES",
            AnswerKind::No => "NO",
            AnswerKind::NoData => "NO_DATA",
        }
    }

    /// Reads `YES`, `NO`, `NO_DATA` (any case; the `REASSIGNED_ANSWER_` prefix allowed).
    pub fn parse(text: &str) -> Result<AnswerKind, String> {
        let upper = text.trim().to_ascii_uppercase();
        match upper.strip_prefix("REASSIGNED_ANSWER_").unwrap_or(&upper) {
            "YES" => Ok(AnswerKind::Yes),
            "NO" => Ok(AnswerKind::No),
            "NO_DATA" => Ok(AnswerKind::NoData),
            _ => Err(format!("{text:?} is not YES, NO or NO_DATA")),
        }
    }
}

/// One answer about one number, as decisions read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The date asked about.
    pub as_of: NaiveDate,
    pub kind: AnswerKind,
    /// When the database answered.
    pub checked_at: DateTime<Utc>,
}

/// An answer as imported: the number it is about, and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassignedAnswer {
    pub number: PhoneNumber,
    pub answer: Answer,
}

/// The first day an answer may be about, and the first instant it may be checked at:
/// the database opened in 2021, and memory counts from here.
pub const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");

/// How old a required check may be, in days, when the control does not say.
pub const DEFAULT_MAX_AGE_DAYS: u32 = 31;

/// Seconds from [`EPOCH`] memory can count in 32 bits: until 2136-02-07.
const LAST_SECOND: i64 = u32::MAX as i64;

impl ReassignedAnswer {
    /// Checks an imported answer: a NANP number (the database covers US numbers only), a
    /// date from 2000 on, a `checked_at` from 2000 on and no later than a day after `now`
    /// (a future check would stay fresh for ever), and not before the date asked.
    pub fn new(number: PhoneNumber, answer: Answer, now: DateTime<Utc>) -> Result<ReassignedAnswer, FieldError> {
        if number.nanp_area_code().is_none() {
            return Err(FieldError::new(
                "number",
                format!("{number} is not a NANP number; the database covers US numbers only"),
            ));
        }
        if answer.as_of < EPOCH {
            return Err(FieldError::new("as_of", "must be 2000-01-01 or later"));
        }
        let since_epoch = answer.checked_at.timestamp() - epoch_seconds();
        if !(0..=LAST_SECOND).contains(&since_epoch) {
            return Err(FieldError::new("checked_at", "must be between 2000 and 2136"));
        }
        if answer.checked_at > now + chrono::Duration::days(1) {
            return Err(FieldError::new("checked_at", "is in the future"));
        }
        if answer.as_of > answer.checked_at.date_naive() {
            return Err(FieldError::new(
                "as_of",
                format!(
                    "{} is after the day it was checked ({}); the database answers about the past",
                    answer.as_of,
                    answer.checked_at.date_naive()
                ),
            ));
        }
        Ok(ReassignedAnswer { number, answer })
    }
}

fn epoch_seconds() -> i64 {
    EPOCH.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp()
}

/// `checked_at` as seconds since [`EPOCH`] (what memory keeps; checked on import).
pub fn checked_seconds(checked_at: DateTime<Utc>) -> u32 {
    (checked_at.timestamp() - epoch_seconds()).clamp(0, LAST_SECOND) as u32
}

/// The instant [`checked_seconds`] stands for.
pub fn checked_instant(seconds: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch_seconds() + i64::from(seconds), 0).expect("in range")
}

/// The YES on or after the consent day (any, with no consent day) that denies a contact:
/// the most recently checked of them.
pub fn reassigned_since_consent(answers: &[Answer], consent_day: Option<NaiveDate>) -> Option<&Answer> {
    answers
        .iter()
        .filter(|a| a.kind == AnswerKind::Yes && consent_day.is_none_or(|day| a.as_of >= day))
        .max_by_key(|a| (a.checked_at, a.as_of))
}

/// Why the number lacks the check a control requires at `at` (answers no older than
/// `max_age_days`), or `None` when its latest answer about the time since consent is a
/// fresh NO. A YES is [`reassigned_since_consent`]'s to say, not this.
pub fn missing_check(
    answers: &[Answer],
    consent_day: Option<NaiveDate>,
    at: DateTime<Utc>,
    max_age_days: u32,
) -> Option<String> {
    let Some(consent_day) = consent_day else {
        return Some(
            "The number has no consent_at, so no answer of the Reassigned Numbers Database can speak for the time since consent."
                .into(),
        );
    };
    let latest = answers
        .iter()
        .filter(|a| a.as_of >= consent_day)
        .max_by_key(|a| (a.checked_at, a.as_of));
    let Some(latest) = latest else {
        return Some(match answers.iter().max_by_key(|a| a.as_of) {
            None => "The Reassigned Numbers Database has no answer for this number.".into(),
            Some(a) => format!(
                "The Reassigned Numbers Database was asked about this number as of {} only, before the consent given on {consent_day}, which says nothing about the time since.",
                a.as_of
            ),
        });
    };
    let said = format!(
        "{} as of {}, checked {}",
        latest.kind.as_str(),
        latest.as_of,
        latest.checked_at.format("%Y-%m-%d %H:%M UTC")
    );
    match latest.kind {
        AnswerKind::Yes => None,
        AnswerKind::NoData => Some(format!(
            "The Reassigned Numbers Database's latest answer is {said}: no data is no check."
        )),
        AnswerKind::No => {
            let oldest_fresh = at.checked_sub_days(Days::new(u64::from(max_age_days)))?;
            (latest.checked_at < oldest_fresh).then(|| {
                format!("The Reassigned Numbers Database's latest answer is {said}: more than {max_age_days} days ago.")
            })
        }
    }
}

/// The reason a YES gives.
pub fn reassigned_message(answer: &Answer, consent_day: Option<NaiveDate>) -> String {
    let consent = match consent_day {
        Some(day) => format!("on or after the consent given on {day}"),
        None => "and no consent date is on record".into(),
    };
    format!(
        "The Reassigned Numbers Database answered YES on {}: the number was permanently disconnected after {}, {consent}.",
        answer.checked_at.format("%Y-%m-%d"),
        answer.as_of,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn answer(as_of: &str, kind: AnswerKind, checked: &str) -> Answer {
        Answer {
            as_of: day(as_of),
            kind,
            checked_at: at(checked),
        }
    }

    #[test]
    fn a_yes_on_or_after_the_consent_day_denies_and_one_before_it_does_not() {
        let yes = [answer("2025-03-01", AnswerKind::Yes, "2026-11-01T10:00:00Z")];
        assert!(reassigned_since_consent(&yes, Some(day("2025-03-01"))).is_some());
        assert!(reassigned_since_consent(&yes, Some(day("2025-02-01"))).is_some());
        assert!(reassigned_since_consent(&yes, Some(day("2025-03-02"))).is_none());
        assert!(
            reassigned_since_consent(&yes, None).is_some(),
            "no consent date: a YES still denies"
        );
    }

    #[test]
    fn a_later_no_for_a_later_date_does_not_undo_a_yes_since_consent() {
        let answers = [
            answer("2024-01-01", AnswerKind::Yes, "2025-01-01T00:00:00Z"),
            answer("2025-06-01", AnswerKind::No, "2026-11-01T00:00:00Z"),
        ];
        assert!(reassigned_since_consent(&answers, Some(day("2024-01-01"))).is_some());
    }

    #[test]
    fn a_fresh_no_since_consent_is_the_check_and_a_stale_one_is_not() {
        let now = at("2026-12-01T12:00:00Z");
        let fresh = [answer("2025-01-10", AnswerKind::No, "2026-11-15T00:00:00Z")];
        assert_eq!(missing_check(&fresh, Some(day("2025-01-10")), now, 31), None);
        let stale = [answer("2025-01-10", AnswerKind::No, "2026-10-01T00:00:00Z")];
        let why = missing_check(&stale, Some(day("2025-01-10")), now, 31).unwrap();
        assert!(why.contains("more than 31 days ago"), "{why}");
        assert_eq!(missing_check(&stale, Some(day("2025-01-10")), now, 90), None);
    }

    #[test]
    fn no_answer_no_data_an_answer_before_consent_or_no_consent_date_is_no_check() {
        let now = at("2026-12-01T12:00:00Z");
        let consent = Some(day("2025-01-10"));
        assert!(missing_check(&[], consent, now, 31).unwrap().contains("no answer"));
        let no_data = [answer("2025-01-10", AnswerKind::NoData, "2026-11-30T00:00:00Z")];
        assert!(missing_check(&no_data, consent, now, 31).unwrap().contains("NO_DATA"));
        let before = [answer("2024-12-31", AnswerKind::No, "2026-11-30T00:00:00Z")];
        let why = missing_check(&before, consent, now, 31).unwrap();
        assert!(
            why.contains("as of 2024-12-31 only, before the consent given on 2025-01-10"),
            "{why}"
        );
        let fresh = [answer("2025-01-10", AnswerKind::No, "2026-11-30T00:00:00Z")];
        assert!(missing_check(&fresh, None, now, 31).unwrap().contains("no consent_at"));
    }

    #[test]
    fn the_latest_answer_since_consent_is_the_one_read() {
        let now = at("2026-12-01T12:00:00Z");
        let answers = [
            answer("2025-01-10", AnswerKind::No, "2026-11-20T00:00:00Z"),
            answer("2025-02-01", AnswerKind::NoData, "2026-11-25T00:00:00Z"),
        ];
        assert!(missing_check(&answers, Some(day("2025-01-10")), now, 31).is_some());
        assert_eq!(missing_check(&answers[..1], Some(day("2025-01-10")), now, 31), None);
    }

    #[test]
    fn an_import_refuses_what_memory_or_the_database_cannot_mean() {
        let now = at("2026-12-01T00:00:00Z");
        let us = PhoneNumber::parse("+12015550123").unwrap();
        let ok = answer("2025-01-10", AnswerKind::No, "2026-11-20T00:00:00Z");
        assert!(ReassignedAnswer::new(us, ok, now).is_ok());
        let uk = PhoneNumber::parse("+442071838750").unwrap();
        assert_eq!(ReassignedAnswer::new(uk, ok, now).unwrap_err().field, "number");
        let future = answer("2025-01-10", AnswerKind::No, "2026-12-03T00:00:00Z");
        assert_eq!(ReassignedAnswer::new(us, future, now).unwrap_err().field, "checked_at");
        let after = answer("2026-11-21", AnswerKind::No, "2026-11-20T00:00:00Z");
        assert_eq!(ReassignedAnswer::new(us, after, now).unwrap_err().field, "as_of");
        let ancient = answer("1999-12-31", AnswerKind::No, "2026-11-20T00:00:00Z");
        assert_eq!(ReassignedAnswer::new(us, ancient, now).unwrap_err().field, "as_of");
    }

    #[test]
    fn checked_at_survives_memory_to_the_second() {
        let t = at("2026-11-20T13:14:15Z");
        assert_eq!(checked_instant(checked_seconds(t)), t);
        assert_eq!(AnswerKind::parse("reassigned_answer_no_data"), Ok(AnswerKind::NoData));
        assert!(AnswerKind::parse("MAYBE").is_err());
    }
}
