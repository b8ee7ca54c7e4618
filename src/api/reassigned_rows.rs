//! A file of Reassigned Numbers Database answers as people have it — CSV rows
//! `number,as_of,answer,checked_at` (`+12015550123,2025-01-10,NO,2026-11-20T14:03:00Z`), a
//! header line allowed — sent as `ImportReassigned` chunks, and the import's errors said by
//! line. The HTTP route (`POST /v1/reassigned:import`) and `predial reassigned import` both
//! read files through here.
//!
//! Each line is one entry of its chunk — a blank line or the header an empty answer, which
//! the server skips — so an error about `chunks[i].answers[j]` is line `i × LINES + j + 1`.
//! The fields are plain (a number, a date, a word, a time: none holds a comma); one in
//! double quotes is unquoted.

use std::sync::{Arc, Mutex};

use chrono::DateTime;

use super::dnc_lines::entry_line;
use crate::domain::ReassignedAnswerKind;
use crate::proto::convert::{WireEnum, timestamp_to};
use crate::proto::v1 as pb;

/// Lines per chunk.
pub const LINES_PER_CHUNK: usize = 10_000;

/// The columns, in order.
const COLUMNS: [&str; 4] = ["number", "as_of", "answer", "checked_at"];

/// A line as an answer (an empty one for a blank line or the header), or why it is not one.
pub fn answer_of(line: &str) -> Result<pb::ReassignedAnswer, String> {
    let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"').trim()).collect();
    if line.trim().is_empty() || fields[0].eq_ignore_ascii_case(COLUMNS[0]) {
        return Ok(pb::ReassignedAnswer::default());
    }
    let [number, as_of, answer, checked_at] = fields[..] else {
        return Err(format!("{} fields; a row is {}", fields.len(), COLUMNS.join(",")));
    };
    let answer = ReassignedAnswerKind::parse(answer).map_err(|m| format!("answer: {m}"))?;
    let checked_at = DateTime::parse_from_rfc3339(checked_at)
        .map_err(|_| format!("checked_at: {checked_at:?} is not an RFC 3339 time (2026-11-20T14:03:00Z)"))?;
    Ok(pb::ReassignedAnswer {
        number: number.to_string(),
        as_of: as_of.to_string(),
        answer: answer.to_wire(),
        checked_at: Some(timestamp_to(checked_at.to_utc())),
    })
}

/// Chunk `index` of a file: its lines as answers, or the first line that is not one
/// (`line N: …`).
pub fn chunk(lines: &[String], index: usize) -> Result<pb::ReassignedChunk, String> {
    let answers = lines
        .iter()
        .enumerate()
        .map(|(j, line)| {
            answer_of(line)
                .map_err(|why| format!("line {}: {why}; nothing was imported", index * LINES_PER_CHUNK + j + 1))
        })
        .collect::<Result<_, _>>()?;
    Ok(pb::ReassignedChunk { answers })
}

/// The number of [`REFUSAL`]'s answer, which the server's error quotes.
const REFUSED: &str = "refused: a line could not be read";

/// What a sender streams after a line it could not read: one answer the server refuses
/// whatever else it was sent, so that the import ends with nothing written (a stream
/// merely ended would import what came before).
fn refusal() -> pb::ReassignedChunk {
    pb::ReassignedChunk {
        answers: vec![pb::ReassignedAnswer {
            number: REFUSED.into(),
            ..Default::default()
        }],
    }
}

/// A file's chunks as a sender makes them, one after another, remembering the first line
/// it could not read (sent as a refusal) to say in place of the server's refusal of it.
#[derive(Debug, Clone, Default)]
pub struct Chunks {
    unreadable: Arc<Mutex<Option<String>>>,
}

impl Chunks {
    /// What makes each chunk of lines, in order.
    pub fn maker(&self) -> impl FnMut(&[String]) -> pb::ReassignedChunk + Send + 'static {
        let unreadable = self.unreadable.clone();
        let mut index = 0;
        move |lines| {
            let made = chunk(lines, index);
            index += 1;
            made.unwrap_or_else(|why| {
                unreadable.lock().expect("unreadable lock").get_or_insert(why);
                refusal()
            })
        }
    }

    /// What to say of the server's error `message`: the line this side could not read when
    /// that is what the server refused (it may have refused an earlier line first), else
    /// the server's error by line.
    pub fn explain(&self, message: &str) -> String {
        match self.unreadable.lock().expect("unreadable lock").take() {
            Some(why) if message.contains(REFUSED) => why,
            _ => by_line(message),
        }
    }
}

/// An import's error with the line it is about, when it names one.
pub fn by_line(message: &str) -> String {
    entry_line(message, "answers", LINES_PER_CHUNK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_becomes_an_answer_and_a_header_or_blank_line_an_empty_one() {
        let a = answer_of("+12015550123, 2025-01-10 ,no,2026-11-20T14:03:00Z").unwrap();
        assert_eq!(a.number, "+12015550123");
        assert_eq!(a.as_of, "2025-01-10");
        assert_eq!(a.answer, pb::ReassignedAnswerKind::ReassignedAnswerNo as i32);
        assert_eq!(a.checked_at.unwrap().seconds, 1_795_183_380);
        assert_eq!(answer_of("number,as_of,answer,checked_at").unwrap(), Default::default());
        assert_eq!(answer_of("").unwrap(), Default::default());
    }

    #[test]
    fn a_row_that_cannot_be_read_is_said_by_its_line() {
        let lines = vec![
            "number,as_of,answer,checked_at".to_string(),
            "2015550123,2025-01-10,MAYBE,2026-11-20T14:03:00Z".into(),
        ];
        let why = chunk(&lines, 1).unwrap_err();
        assert_eq!(
            why,
            "line 10002: answer: \"MAYBE\" is not YES, NO or NO_DATA; nothing was imported"
        );
        let short = vec!["2015550123,2025-01-10,NO".to_string()];
        assert!(chunk(&short, 0).unwrap_err().starts_with("line 1: 3 fields"));
        let when = vec!["2015550123,2025-01-10,NO,yesterday".to_string()];
        assert!(chunk(&when, 0).unwrap_err().contains("checked_at: \"yesterday\""));
    }

    #[test]
    fn a_servers_error_about_an_answer_names_its_line() {
        assert_eq!(
            by_line("chunks[1].answers[4].as_of: \"2025-13-01\" is not a date"),
            "line 10005: as_of: \"2025-13-01\" is not a date; nothing was imported"
        );
    }
}
