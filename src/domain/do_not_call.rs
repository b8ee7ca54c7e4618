//! Do Not Call lists: named (`national`, `internal`, a state's list…), each replaced whole
//! by a registry download, or changed by a delta of numbers to add or to remove.
//!
//! An import is all or nothing whatever its mode: its numbers are stored as they arrive,
//! and only its last write makes them the list's (`docs/operations.md`, "Do Not Call
//! lists"). A list is so its last REPLACE (its base) and the ADDs and REMOVEs since, in
//! order.

use chrono::{DateTime, Utc};

use super::error::FieldError;

/// The list an import names none of: the list predial kept before lists had names.
pub const DEFAULT_LIST: &str = "default";

/// What an import does to its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// The list becomes exactly the numbers sent, at once when the import ends.
    Replace,
    /// The numbers sent join the list.
    #[default]
    Add,
    /// The numbers sent leave the list (which must exist).
    Remove,
}

impl ImportMode {
    pub fn parse(text: &str) -> Result<ImportMode, FieldError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "" | "ADD" => Ok(ImportMode::Add),
            "REPLACE" => Ok(ImportMode::Replace),
            "REMOVE" => Ok(ImportMode::Remove),
            other => Err(FieldError::new(
                "mode",
                format!("{other:?} is not REPLACE, ADD or REMOVE"),
            )),
        }
    }
}

/// A list's name: letters, digits, `-` and `_`, at most 64; lower-cased. Empty names the
/// [`DEFAULT_LIST`].
pub fn validate_list_name(text: &str) -> Result<String, FieldError> {
    let name = text.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Ok(DEFAULT_LIST.to_string());
    }
    if name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new(
            "list",
            format!("{text:?}: a list's name is letters, digits, - and _ (at most 64)"),
        ));
    }
    Ok(name)
}

/// One import whose numbers a list holds: where its numbers are stored, in how many
/// chunks, and whether they were added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportRef {
    pub import_id: u64,
    pub chunks: u64,
    pub remove: bool,
}

/// A list as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredList {
    pub name: String,
    /// The last REPLACE; none when the list was only ever added to.
    pub base: Option<ImportRef>,
    /// ADDs and REMOVEs since, oldest first.
    pub deltas: Vec<ImportRef>,
    /// Also the numbers stored before lists had names (the default list only).
    pub legacy: bool,
    pub numbers: u64,
    pub updated_at: DateTime<Utc>,
}

impl StoredList {
    /// Every import whose numbers make the list, in the order they apply.
    pub fn imports(&self) -> impl Iterator<Item = &ImportRef> {
        self.base.iter().chain(&self.deltas)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_name_is_a_plain_word_and_empty_is_the_default_list() {
        assert_eq!(validate_list_name(" National ").unwrap(), "national");
        assert_eq!(validate_list_name("").unwrap(), DEFAULT_LIST);
        assert_eq!(validate_list_name("state-ma_2026").unwrap(), "state-ma_2026");
        assert_eq!(validate_list_name("a b").unwrap_err().field, "list");
        assert!(validate_list_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn a_mode_is_replace_add_or_remove() {
        assert_eq!(ImportMode::parse("replace").unwrap(), ImportMode::Replace);
        assert_eq!(ImportMode::parse("").unwrap(), ImportMode::Add);
        assert_eq!(ImportMode::parse("wipe").unwrap_err().field, "mode");
    }
}
