//! A Do Not Call list file as people have it — one number per line, in the registry's
//! download form (area code and number, `2015550123` or `201,5550123`) or E.164 — sent as
//! `ImportDoNotCall` chunks, and the import's errors said by line. The HTTP route
//! (`POST /v1/dnc/{list}:import`) and `predial dnc import` both read files through here.

use crate::proto::v1 as pb;

/// Lines per chunk: each line is one entry of its chunk (a blank one an empty string the
/// server skips), so an error's `chunks[i].numbers[j]` is line `i × LINES + j + 1`.
pub const LINES_PER_CHUNK: usize = 10_000;

/// The number a line holds, as the import reads it: the registry's `area,number` joined,
/// anything else as written (the server says what it cannot read).
pub fn line_number(line: &str) -> String {
    let line = line.trim();
    match line.split_once(',') {
        Some((area, rest)) if area.len() == 3 && area.bytes().all(|b| b.is_ascii_digit()) => {
            let number = rest.split(',').next().unwrap_or_default().trim();
            format!("{area}{number}")
        }
        _ => line.to_string(),
    }
}

/// A chunk of lines; `first` says which list and mode the import is (the first chunk
/// carries them, the others need not).
pub fn chunk(lines: &[String], first: Option<(&str, pb::ImportMode)>) -> pb::DoNotCallChunk {
    let (list, mode) = first.map_or((String::new(), 0), |(l, m)| (l.to_string(), m as i32));
    pb::DoNotCallChunk {
        numbers: lines.iter().map(|l| line_number(l)).collect(),
        list,
        mode,
    }
}

/// An import's error with the line it is about, when it names one
/// (`chunks[2].numbers[5]: …` → `line 20006: …`).
pub fn by_line(message: &str) -> String {
    entry_line(message, "numbers", LINES_PER_CHUNK)
}

/// An import's error about entry `chunks[i].{entries}[j]` of a stream sent `per_chunk`
/// lines a chunk (one entry per line), said by its line: `line i × per_chunk + j + 1`.
pub fn entry_line(message: &str, entries: &str, per_chunk: usize) -> String {
    let line = || -> Option<(usize, &str)> {
        let rest = message.strip_prefix("chunks[")?;
        let (chunk, rest) = rest.split_once(&format!("].{entries}["))?;
        let (index, rest) = rest.split_once(']')?;
        let n = chunk.parse::<usize>().ok()? * per_chunk + index.parse::<usize>().ok()? + 1;
        Some((n, rest.trim_start_matches(['.', ':']).trim_start()))
    };
    match line() {
        Some((n, why)) => format!("line {n}: {why}; nothing was imported"),
        None => message.to_string(),
    }
}

/// A mode as a person writes it.
pub fn mode(text: &str) -> Result<pb::ImportMode, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "add" => Ok(pb::ImportMode::Add),
        "replace" => Ok(pb::ImportMode::Replace),
        "remove" => Ok(pb::ImportMode::Remove),
        other => Err(format!("mode: {other:?} is not replace, add or remove")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_line_is_its_area_code_and_number() {
        assert_eq!(line_number("201,5550123"), "2015550123");
        assert_eq!(line_number(" 2015550123 "), "2015550123");
        assert_eq!(line_number("+442071838750"), "+442071838750");
        assert_eq!(line_number(""), "");
    }

    #[test]
    fn an_error_about_an_entry_names_its_line() {
        assert_eq!(
            by_line("chunks[2].numbers[5]: \"12\" is not a phone number"),
            "line 20006: \"12\" is not a phone number; nothing was imported"
        );
        assert_eq!(by_line("list: no such list"), "list: no such list");
    }
}
