//! Calling programs: outbound caller-ID numbers registered with a call purpose and a
//! schedule, and the two-column CSV their numbers are imported from.

use chrono::{DateTime, Utc};

use super::consumer::validate_id;
use super::error::FieldError;
use super::kinds::CallPurpose;
use super::phone::PhoneNumber;

/// At most this many rows in one `ImportNumbersCsv`.
pub const MAX_CSV_ROWS: usize = 500;

/// A calling program, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub id: String,
    pub business_unit: String,
    pub program_type: String,
    pub name: String,
    pub call_purpose: Option<CallPurpose>,
    pub description: String,
    /// At most 32 printable characters (what a handset shows).
    pub display_name: String,
    /// At most 15 printable characters.
    pub shorthand_display: String,
    /// The program places calls in [start, end); an unset bound is open.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Program {
    /// Checks the fields a client chose; returns the program with its strings trimmed.
    pub fn validated(mut self) -> Result<Program, FieldError> {
        self.id = validate_id(&self.id, "id")?.to_string();
        for s in [
            &mut self.business_unit,
            &mut self.program_type,
            &mut self.name,
            &mut self.description,
        ] {
            *s = s.trim().to_string();
        }
        self.display_name = display_text(&self.display_name, "display_name", 32)?;
        self.shorthand_display = display_text(&self.shorthand_display, "shorthand_display", 15)?;
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if end <= start {
                return Err(FieldError::new("end", "must be later than start"));
            }
        }
        Ok(self)
    }

    /// Whether the program places calls at `at`.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}

fn display_text(text: &str, field: &str, max: usize) -> Result<String, FieldError> {
    let t = text.trim();
    if t.chars().count() > max {
        return Err(FieldError::new(field, format!("is longer than {max} characters")));
    }
    if t.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(field, "must be printable"));
    }
    Ok(t.to_string())
}

/// A caller-ID number of a program, with its purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramNumber {
    pub number: PhoneNumber,
    pub purpose: CallPurpose,
}

/// The display names of the call purposes, as carriers' registration forms spell them.
const PURPOSE_NAMES: [(&str, CallPurpose); 10] = [
    ("Customer Service", CallPurpose::CustomerService),
    ("Debt Collection", CallPurpose::DebtCollection),
    ("Informational/Notification", CallPurpose::InformationalNotification),
    ("Charity", CallPurpose::Charity),
    ("Political", CallPurpose::Political),
    ("Survey", CallPurpose::Survey),
    ("Telemarketing", CallPurpose::Telemarketing),
    ("Multi-Use Line", CallPurpose::MultiUseLine),
    ("Prison", CallPurpose::Prison),
    ("Do Not Originate", CallPurpose::DoNotOriginate),
];

/// Reads a call purpose by display name ("Debt Collection") or enum name
/// ("DEBT_COLLECTION", "CALL_PURPOSE_DEBT_COLLECTION"), ignoring case and spacing.
pub fn parse_purpose(text: &str) -> Option<CallPurpose> {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase()
    };
    let wanted = squash(text);
    let wanted = wanted.strip_prefix("CALLPURPOSE").unwrap_or(&wanted);
    PURPOSE_NAMES
        .iter()
        .find(|(name, _)| squash(name) == wanted)
        .map(|(_, p)| *p)
}

/// A rejected CSV row (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: u32,
    pub message: String,
}

/// Reads a program's numbers from CSV: two columns, no header — number, call purpose.
/// Every bad row is reported; a file with any bad row, or more than [`MAX_CSV_ROWS`]
/// rows, yields no numbers at all.
pub fn parse_numbers_csv(bytes: &[u8]) -> Result<Vec<ProgramNumber>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut numbers = Vec::new();
    let mut errors = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i as u32 + 1;
        if i >= MAX_CSV_ROWS {
            return Err(vec![RowError {
                row,
                message: format!("the file has more than {MAX_CSV_ROWS} rows"),
            }]);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    message: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        if record.len() != 2 {
            errors.push(RowError {
                row,
                message: format!("has {} columns; expected 2: number, call purpose", record.len()),
            });
            continue;
        }
        let number = PhoneNumber::parse(&record[0]);
        let purpose = parse_purpose(&record[1]);
        match (number, purpose) {
            (Ok(number), Some(purpose)) => numbers.push(ProgramNumber { number, purpose }),
            (Err(m), _) => errors.push(RowError {
                row,
                message: format!("number: {m}"),
            }),
            (_, None) => errors.push(RowError {
                row,
                message: format!("call purpose: {:?} is not a call purpose", &record[1]),
            }),
        }
    }
    if errors.is_empty() { Ok(numbers) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_read_by_display_or_enum_name() {
        assert_eq!(parse_purpose("Debt Collection"), Some(CallPurpose::DebtCollection));
        assert_eq!(
            parse_purpose("informational/notification"),
            Some(CallPurpose::InformationalNotification)
        );
        assert_eq!(parse_purpose("DO_NOT_ORIGINATE"), Some(CallPurpose::DoNotOriginate));
        assert_eq!(
            parse_purpose("CALL_PURPOSE_MULTI_USE_LINE"),
            Some(CallPurpose::MultiUseLine)
        );
        assert_eq!(parse_purpose("Sales"), None);
    }

    #[test]
    fn a_good_csv_gives_every_number() {
        let csv = b"(555) 123-4567, Debt Collection\n+15557654321,Do Not Originate\n\"555-000-1111\",\"Survey\"\n";
        let numbers = parse_numbers_csv(csv).unwrap();
        assert_eq!(numbers.len(), 3);
        assert_eq!(numbers[1].purpose, CallPurpose::DoNotOriginate);
    }

    #[test]
    fn a_bad_row_among_good_ones_is_reported_by_its_row_number_and_nothing_is_taken() {
        let csv = b"5551234567,Debt Collection\n123-4567,Survey\n5557654321,Sales\n5557654322\n";
        let errors = parse_numbers_csv(csv).unwrap_err();
        let rows: Vec<u32> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 3, 4]);
        assert!(errors[0].message.contains("area code"), "{}", errors[0].message);
    }

    #[test]
    fn more_than_500_rows_is_refused() {
        let csv: String = (0..501).map(|i| format!("+1555{:07},Survey\n", i)).collect();
        let errors = parse_numbers_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(errors[0].row, 501);
        let ok: String = (0..500).map(|i| format!("+1555{:07},Survey\n", i)).collect();
        assert_eq!(parse_numbers_csv(ok.as_bytes()).unwrap().len(), 500);
    }

    #[test]
    fn display_names_are_bounded_and_printable() {
        let p = Program {
            id: "p".into(),
            business_unit: String::new(),
            program_type: String::new(),
            name: String::new(),
            call_purpose: None,
            description: String::new(),
            display_name: "A".repeat(33),
            shorthand_display: String::new(),
            start: None,
            end: None,
        };
        assert_eq!(p.clone().validated().unwrap_err().field, "display_name");
        let short = Program {
            display_name: "ACME".into(),
            shorthand_display: "ACME\\u{7}".replace("\\u{7}", "\u{7}"),
            ..p
        };
        assert_eq!(short.validated().unwrap_err().field, "shorthand_display");
    }
}
