//! Page tokens: opaque to clients, checked when they come back.
//!
//! A token names where the next page starts (a key of the listing it came from) and
//! carries a check of that key and the listing's name, so a token that was not handed out
//! — edited, truncated, or from another listing — is INVALID_ARGUMENT instead of a silent
//! jump. Listings ordered by a key that never changes for a row give pages with no row
//! twice and none skipped, whatever is written between them.

use sha2::{Digest, Sha256};

use crate::domain::FieldError;

/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// The page size asked for: the default for 0, INVALID_ARGUMENT past the largest.
pub fn page_size(asked: u32) -> Result<usize, FieldError> {
    match asked {
        0 => Ok(DEFAULT_PAGE_SIZE as usize),
        n if n > MAX_PAGE_SIZE => Err(FieldError::new(
            "page_size",
            format!("{n} is more than the largest page, {MAX_PAGE_SIZE}"),
        )),
        n => Ok(n as usize),
    }
}

/// A token for the page of `listing` that starts at `key`.
pub fn token(listing: &str, key: &[u8]) -> String {
    let mut text = hex(key);
    text.push('.');
    text.push_str(&check(listing, key));
    text
}

/// Where the page a token names starts; `None` for the first page (no token).
pub fn start(listing: &str, token: &str) -> Result<Option<Vec<u8>>, FieldError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    let (key, sum) = token.split_once('.').ok_or_else(forged)?;
    let key = unhex(key).ok_or_else(forged)?;
    if check(listing, &key) != sum {
        return Err(forged());
    }
    Ok(Some(key))
}

/// [`start`] for a listing keyed by a number (big-endian, as [`token`] was given it).
pub fn start_number(listing: &str, token: &str) -> Result<Option<u64>, FieldError> {
    start(listing, token)?
        .map(|key| key.try_into().map(u64::from_be_bytes).map_err(|_| forged()))
        .transpose()
}

/// [`start`] for a listing keyed by text (an id).
pub fn start_text(listing: &str, token: &str) -> Result<Option<String>, FieldError> {
    start(listing, token)?
        .map(|key| String::from_utf8(key).map_err(|_| forged()))
        .transpose()
}

/// Keeps the first `size` of `page` (read one longer, to know whether more follow) and
/// answers the token of the page after it: empty when this is the last.
pub fn next_token<T>(page: &mut Vec<T>, size: usize, token: impl Fn(&T) -> String) -> String {
    if page.len() <= size {
        return String::new();
    }
    page.truncate(size);
    page.last().map(token).unwrap_or_default()
}

fn forged() -> FieldError {
    FieldError::new("page_token", "is not a page token this listing handed out")
}

fn check(listing: &str, key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"predial page token\0")
        .chain_update(listing.as_bytes())
        .chain_update([0])
        .chain_update(key)
        .finalize();
    hex(&digest[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 512 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_back_to_its_key_and_an_edited_one_is_refused() {
        let t = token("versions", &7u64.to_be_bytes());
        assert_eq!(start("versions", &t).unwrap(), Some(7u64.to_be_bytes().to_vec()));
        assert_eq!(start("versions", "").unwrap(), None);
        let edited = t.replacen('7', "8", 1);
        for bad in [
            edited.as_str(),
            "garbage",
            "00.00",
            &token("notes", &7u64.to_be_bytes()),
        ] {
            let e = start("versions", bad).unwrap_err();
            assert_eq!(e.field, "page_token");
        }
    }

    #[test]
    fn a_page_size_past_the_largest_is_refused() {
        assert_eq!(page_size(0).unwrap(), 100);
        assert_eq!(page_size(1000).unwrap(), 1000);
        assert_eq!(page_size(1001).unwrap_err().field, "page_size");
    }
}
