//! An attempt lease's id, on its own: the history of contacts names the lease a record
//! stands for, and the lease rules build on that history, so the id sits beneath both.

use std::fmt;

use super::error::FieldError;

/// A lease's id: 128 random bits, written as 32 lower-case hex digits. Random rather than
/// counted, so that nodes of a cluster never hand out the same one without asking each
/// other, and so that an id cannot be guessed from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId([u8; 16]);

impl AttemptId {
    pub fn from_bytes(bytes: [u8; 16]) -> AttemptId {
        AttemptId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Reads an id as the server wrote it (case-insensitive, surrounding spaces ignored).
    pub fn parse(text: &str) -> Result<AttemptId, String> {
        let t = text.trim();
        let wrong = || format!("{t:?} is not an attempt id this server issued (32 hex digits)");
        if t.len() != 32 {
            return Err(wrong());
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in t.as_bytes().chunks_exact(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| wrong())?;
            bytes[i] = u8::from_str_radix(hex, 16).map_err(|_| wrong())?;
        }
        Ok(AttemptId(bytes))
    }

    /// [`parse`](Self::parse), naming `field` on error.
    pub fn parse_field(text: &str, field: &str) -> Result<AttemptId, FieldError> {
        Self::parse(text).map_err(|m| FieldError::new(field, m))
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
