//! The evidence export as a file: CSV with a header row (what an examiner opens in a
//! spreadsheet) or NDJSON (one canonical-JSON record a line, what a program reads). Both
//! the HTTP route and `predial export` write through [`ExportWriter`], so a file is the
//! same whichever way it was fetched.

use std::io::Write;

use prost::Message;

use crate::proto::v1 as pb;

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Ndjson,
}

impl Format {
    pub fn parse(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "csv" => Ok(Format::Csv),
            "ndjson" | "jsonl" => Ok(Format::Ndjson),
            other => Err(format!("{other:?} is not csv or ndjson")),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// The CSV columns, in order: the record's fields as `proto/` names them.
pub const CSV_HEADER: [&str; 14] = [
    "at",
    "kind",
    "consumer_id",
    "channel",
    "phone",
    "result_code",
    "counted",
    "operator_id",
    "caller_id",
    "attempt_id",
    "rule_set_version",
    "verdict",
    "reasons",
    "text",
];

/// What a file starts with: the CSV header row (nothing for NDJSON).
pub fn header(format: Format) -> Vec<u8> {
    match format {
        Format::Csv => csv_line(CSV_HEADER.map(String::from)),
        Format::Ndjson => Vec::new(),
    }
}

/// One record as a line of the file.
pub fn line(format: Format, r: &pb::EvidenceRecord) -> Vec<u8> {
    match format {
        Format::Csv => csv_line(csv_row(r)),
        Format::Ndjson => {
            let descriptor = crate::proto::json::pool()
                .get_message_by_name("predial.v1.EvidenceRecord")
                .expect("the contract has EvidenceRecord");
            let mut line = crate::proto::json::encoded_to_json(&descriptor, &r.encode_to_vec())
                .expect("a record the server built encodes");
            line.push(b'\n');
            line
        }
    }
}

fn csv_line(fields: [String; 14]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&fields).expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

/// Writes records one at a time to a file or any sink; nothing is held but the sink's own
/// buffer.
pub struct ExportWriter<W: Write> {
    format: Format,
    out: W,
}

impl<W: Write> ExportWriter<W> {
    /// A writer that has written the file's header.
    pub fn new(format: Format, mut out: W) -> std::io::Result<ExportWriter<W>> {
        out.write_all(&header(format))?;
        Ok(ExportWriter { format, out })
    }

    pub fn write(&mut self, r: &pb::EvidenceRecord) -> std::io::Result<()> {
        self.out.write_all(&line(self.format, r))
    }

    /// Flushes, and gives the sink back.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An enum value's name without its enum's prefix (`PHONE`), empty for UNSPECIFIED.
fn short(name: &str, prefix: &str) -> String {
    match name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => String::new(),
        Some(short) => short.to_string(),
    }
}

/// One record as CSV fields: enums by short name, reasons as `CODE (control): words`
/// joined by `; `.
pub fn csv_row(r: &pb::EvidenceRecord) -> [String; 14] {
    let at =
        r.at.as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
    let channel = pb::Channel::try_from(r.channel).map_or(String::new(), |c| short(c.as_str_name(), "CHANNEL_"));
    let verdict = pb::Verdict::try_from(r.verdict).map_or(String::new(), |v| short(v.as_str_name(), "VERDICT_"));
    let reasons: Vec<String> = r
        .reasons
        .iter()
        .map(|reason| {
            let code = pb::ReasonCode::try_from(reason.code)
                .map_or(reason.code.to_string(), |c| short(c.as_str_name(), "REASON_CODE_"));
            match reason.control_id.as_str() {
                "" => format!("{code}: {}", reason.message),
                control => format!("{code} ({control}): {}", reason.message),
            }
        })
        .collect();
    [
        at,
        r.kind.clone(),
        r.consumer_id.clone(),
        channel,
        r.phone.clone(),
        r.result_code.to_string(),
        r.counted.to_string(),
        r.operator_id.clone(),
        r.caller_id.clone(),
        r.attempt_id.clone(),
        r.rule_set_version.to_string(),
        verdict,
        reasons.join("; "),
        r.text.clone(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> pb::EvidenceRecord {
        pb::EvidenceRecord {
            at: Some(prost_types::Timestamp {
                seconds: 1_780_000_000,
                nanos: 5_000_000,
            }),
            kind: "LEASE".into(),
            consumer_id: "c1".into(),
            channel: pb::Channel::Phone as i32,
            phone: "+16175550100".into(),
            counted: true,
            verdict: pb::Verdict::Warn as i32,
            reasons: vec![pb::Reason {
                code: pb::ReasonCode::NearMaxContacts as i32,
                control_id: "reg-f".into(),
                message: "6 of 7 calls, \"last\" one".into(),
            }],
            rule_set_version: 3,
            text: "a, b\nc".into(),
            ..Default::default()
        }
    }

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_it() {
        let mut w = ExportWriter::new(Format::Csv, Vec::new()).unwrap();
        w.write(&record()).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let mut rows = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(rows.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
        let row = rows.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "2026-05-28T20:26:40.005Z");
        assert_eq!(&row[3], "PHONE");
        assert_eq!(&row[11], "WARN");
        assert_eq!(&row[12], "NEAR_MAX_CONTACTS (reg-f): 6 of 7 calls, \"last\" one");
        assert_eq!(&row[13], "a, b\nc");
    }

    #[test]
    fn ndjson_is_one_canonical_json_record_a_line() {
        let mut w = ExportWriter::new(Format::Ndjson, Vec::new()).unwrap();
        w.write(&record()).unwrap();
        w.write(&record()).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["kind"], "LEASE");
        assert_eq!(v["verdict"], "VERDICT_WARN");
        assert_eq!(v["ruleSetVersion"], "3");
    }

    #[test]
    fn a_format_is_csv_or_ndjson() {
        assert_eq!(Format::parse(""), Ok(Format::Csv));
        assert_eq!(Format::parse("NDJSON"), Ok(Format::Ndjson));
        assert!(Format::parse("xml").is_err());
    }
}
