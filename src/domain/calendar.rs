//! Business days, the validation-notice end date, and US federal holidays.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The validation end date of a notice sent on `sent` (a local date): `business_days`
/// business days later (skipping Saturdays, Sundays and `holidays`), then
/// `calendar_days` more calendar days.
pub fn validation_end_date(
    sent: NaiveDate,
    business_days: u32,
    calendar_days: u32,
    holidays: &[NaiveDate],
) -> NaiveDate {
    let mut day = sent;
    let mut counted = 0;
    while counted < business_days {
        day = day + Days::new(1);
        if is_business_day(day, holidays) {
            counted += 1;
        }
    }
    day + Days::new(calendar_days as u64)
}

pub fn is_business_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// Whether a template name is a send of `report`: case-insensitive, the template starts
/// with or contains the report name ("Letter 1 - Spanish" is a "Letter 1").
pub fn template_matches(template: &str, report: &str) -> bool {
    let (t, r) = (template.trim().to_lowercase(), report.trim().to_lowercase());
    !r.is_empty() && t.contains(&r)
}

/// The US federal holidays of `year` (5 U.S.C. 6103), on the days they are observed: a
/// fixed-date holiday on a Saturday is observed the Friday before, on a Sunday the Monday
/// after. For a rule set's `holidays`: `predial holidays --year 2027` prints them.
pub fn us_federal_holidays(year: i32) -> Vec<NaiveDate> {
    let fixed = |m, d| observed(NaiveDate::from_ymd_opt(year, m, d).expect("a real date"));
    let nth = |m, wd, n| NaiveDate::from_weekday_of_month_opt(year, m, wd, n).expect("a real date");
    let last_monday_of_may = (25..=31)
        .rev()
        .map(|d| NaiveDate::from_ymd_opt(year, 5, d).expect("a real date"))
        .find(|d| d.weekday() == Weekday::Mon)
        .expect("May has a last Monday");
    let mut days = vec![
        fixed(1, 1),
        nth(1, Weekday::Mon, 3),
        nth(2, Weekday::Mon, 3),
        last_monday_of_may,
        fixed(6, 19),
        fixed(7, 4),
        nth(9, Weekday::Mon, 1),
        nth(10, Weekday::Mon, 2),
        fixed(11, 11),
        nth(11, Weekday::Thu, 4),
        fixed(12, 25),
    ];
    days.sort();
    days
}

fn observed(day: NaiveDate) -> NaiveDate {
    match day.weekday() {
        Weekday::Sat => day - Days::new(1),
        Weekday::Sun => day + Days::new(1),
        _ => day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_validation_period_skips_a_weekend_and_a_holiday() {
        // Sent Thursday July 2, 2026; Friday July 3 is the observed Independence Day.
        let holidays = us_federal_holidays(2026);
        assert!(holidays.contains(&d("2026-07-03")));
        // Business days: Mon 6, Tue 7, Wed 8 → Wednesday July 8; then 30 calendar days.
        assert_eq!(validation_end_date(d("2026-07-02"), 3, 0, &holidays), d("2026-07-08"));
        assert_eq!(validation_end_date(d("2026-07-02"), 3, 30, &holidays), d("2026-08-07"));
        assert_eq!(validation_end_date(d("2026-07-02"), 0, 0, &holidays), d("2026-07-02"));
    }

    #[test]
    fn the_2026_federal_holidays_are_the_observed_days() {
        let expected = [
            "2026-01-01",
            "2026-01-19",
            "2026-02-16",
            "2026-05-25",
            "2026-06-19",
            "2026-07-03",
            "2026-09-07",
            "2026-10-12",
            "2026-11-11",
            "2026-11-26",
            "2026-12-25",
        ];
        assert_eq!(us_federal_holidays(2026), expected.map(d));
        // 2027: Christmas falls on a Saturday, observed Friday Dec 24; Juneteenth on a
        // Saturday, observed Friday June 18.
        let h = us_federal_holidays(2027);
        assert!(h.contains(&d("2027-12-24")) && h.contains(&d("2027-06-18")));
    }

    #[test]
    fn templates_match_on_the_report_name_near_enough() {
        assert!(template_matches("Letter 1 - Spanish", "Letter 1"));
        assert!(template_matches("VALIDATION letter 1", "letter 1"));
        assert!(!template_matches("Letter 2", "Letter 1"));
        assert!(!template_matches("Letter 1", ""));
    }
}
