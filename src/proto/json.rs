//! The one JSON spelling of every message: canonical proto3 JSON — field names as written
//! in `proto/` or in lowerCamelCase, 64-bit numbers as strings or numbers, enum values by
//! their full name (`PERIOD_WEEK`) or number — and, as rule files and people write them,
//! enum values without their enum's prefix (`WEEK`, `PHONE`).
//!
//! The HTTP/JSON API reads every body through [`message_from_json`], and `--rules`,
//! `predial rules check` and `predial rules diff` read rule files through
//! [`rule_set_from_json`], so a file that loads at start is a body `PUT /v1/rules` takes,
//! and what `GET /v1/rules` answers loads at start. A value that is neither spelling is
//! left as written, so the error names it in the caller's own spelling.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, EnumDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

use crate::domain::FieldError;
use crate::proto::v1 as pb;

/// Reads `value` as a `message`, accepting enum values without their prefix; an error
/// names the path of the field that does not fit (`controls[0].period: …`).
pub fn message_from_json(mut value: Value, message: &MessageDescriptor) -> Result<DynamicMessage, String> {
    accept_short_enum_names(&mut value, message);
    let mut track = serde_path_to_error::Track::new();
    DynamicMessage::deserialize(
        message.clone(),
        serde_path_to_error::Deserializer::new(value, &mut track),
    )
    .map_err(|e| match track.path().to_string() {
        path if path == "." => e.to_string(),
        path => format!("{path}: {e}"),
    })
}

/// An encoded `message` as canonical JSON, every field written (defaults too: a client
/// reading `attempts` finds 0, not nothing) — what every answer over HTTP is.
pub fn encoded_to_json(message: &MessageDescriptor, encoded: &[u8]) -> Result<Vec<u8>, String> {
    let answer =
        DynamicMessage::decode(message.clone(), encoded).map_err(|e| format!("the answer does not decode: {e}"))?;
    let mut json = Vec::new();
    answer
        .serialize_with_options(
            &mut serde_json::Serializer::new(&mut json),
            &prost_reflect::SerializeOptions::new().skip_default_fields(false),
        )
        .map_err(|e| format!("the answer does not encode: {e}"))?;
    Ok(json)
}

/// A rule file (or any `RuleSet` body) as the contract's message.
pub fn rule_set_from_json(text: &str) -> Result<pb::RuleSet, FieldError> {
    let value: Value = serde_json::from_str(text).map_err(|e| FieldError::new("rules", format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(FieldError::new("rules", "a rule set is a JSON object"));
    }
    let descriptor = pool()
        .get_message_by_name("predial.v1.RuleSet")
        .expect("the contract has RuleSet");
    let message = message_from_json(value, &descriptor).map_err(|e| match e.split_once(": ") {
        Some((path, message)) if !path.contains(' ') => FieldError::new(path, message),
        _ => FieldError::new("rules", e),
    })?;
    pb::RuleSet::decode(message.encode_to_vec().as_slice()).map_err(|e| FieldError::new("rules", e.to_string()))
}

/// A rule file's rules, read in that spelling (what `--rules` and `predial rules` read).
pub fn rule_set_draft_from_json(text: &str) -> Result<crate::domain::RuleSetDraft, FieldError> {
    crate::proto::convert::rule_set_draft_from(&rule_set_from_json(text)?)
}

/// Rewrites, in place, every enum value of `value` (read as a `message`) written without
/// its enum's prefix to its full name, where the full name is a value of the enum.
pub fn accept_short_enum_names(value: &mut Value, message: &MessageDescriptor) {
    let Value::Object(fields) = value else { return };
    for (key, v) in fields.iter_mut() {
        let Some(field) = message
            .get_field_by_name(key)
            .or_else(|| message.get_field_by_json_name(key))
        else {
            continue;
        };
        let items: Vec<&mut Value> = match v {
            Value::Array(items) => items.iter_mut().collect(),
            single => vec![single],
        };
        match field.kind() {
            Kind::Enum(e) => items.into_iter().for_each(|item| lengthen(item, &e)),
            Kind::Message(inner) if !field.is_map() => {
                items.into_iter().for_each(|item| accept_short_enum_names(item, &inner))
            }
            _ => {}
        }
    }
}

/// `WEEK` → `PERIOD_WEEK` when `PERIOD_WEEK` is a value of `e` and `WEEK` is not.
fn lengthen(item: &mut Value, e: &EnumDescriptor) {
    let Value::String(name) = item else { return };
    if e.get_value_by_name(name).is_some() {
        return;
    }
    let Some(prefix) = e
        .get_value(0)
        .and_then(|zero| zero.name().strip_suffix("UNSPECIFIED").map(str::to_string))
    else {
        return;
    };
    let full = format!("{prefix}{name}");
    if e.get_value_by_name(&full).is_some() {
        *name = full;
    }
}

/// The descriptors of the contract, decoded once.
pub fn pool() -> &'static DescriptorPool {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::proto::v1::FILE_DESCRIPTOR_SET).expect("the built-in descriptor set decodes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_enum_names_read_the_same_and_a_wrong_one_is_named_as_written() {
        let short = rule_set_from_json(
            r#"{"controls": [{"id": "c", "type": "PHONE", "max_total_contacts": 7, "period": "WEEK",
                "also_channels": ["TEXT"], "call_purposes": ["DEBT_COLLECTION"]}]}"#,
        )
        .unwrap();
        let full = rule_set_from_json(
            r#"{"controls": [{"id": "c", "type": "CHANNEL_PHONE", "maxTotalContacts": 7, "period": "PERIOD_WEEK",
                "alsoChannels": ["CHANNEL_TEXT"], "callPurposes": ["CALL_PURPOSE_DEBT_COLLECTION"]}],
                "version": "4", "activatedAt": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(short.controls, full.controls);
        let wrong =
            rule_set_from_json(r#"{"controls": [{"id": "c", "type": "PHONE", "period": "WEKK"}]}"#).unwrap_err();
        assert_eq!(wrong.field, "controls[0].period");
        assert!(wrong.message.contains("WEKK"), "{}", wrong.message);
    }
}
