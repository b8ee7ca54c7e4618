//! `predial rules check FILE…` and `predial rules diff OLD NEW`: rule files read offline,
//! in the same spelling `--rules` and `PUT /v1/rules` take, checked by the same validation
//! a put runs.
//!
//! `check` prints every error of every file with its field and exits 1 when any file has
//! one (0 when all are good). What it cannot see offline is the version in force on a
//! server, so a channel the file leaves uncontrolled is the server's to refuse
//! (`POST /v1/rules:validate` asks it). `diff` prints what changed, control by control.

use std::path::Path;
use std::process::ExitCode;

use crate::domain::rule_history::{Refusal, guard};
use crate::domain::rules::ControlDraft;
use crate::domain::{FieldError, RuleDiff, RuleSet, RuleSetDraft, RuleSetMeta};
use crate::proto::convert::{opt_timestamp_from, rule_set_draft_from};
use crate::proto::json::rule_set_from_json;

/// A rule file read and checked: the rules, or every error with its field.
pub fn read(path: &Path) -> Result<RuleSetDraft, Vec<FieldError>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![FieldError::new("file", e.to_string())])?;
    let message = rule_set_from_json(&text).map_err(|e| vec![e])?;
    let draft = rule_set_draft_from(&message).map_err(|e| vec![e])?;
    let mut errors = match RuleSet::compile(draft.clone(), 0) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    };
    if let Err(Refusal::Invalid(e)) = guard(&draft, &RuleSetMeta::default(), None) {
        errors.push(e);
    }
    match opt_timestamp_from(&message.effective_at, "effective_at") {
        Err(e) => errors.push(e),
        Ok(Some(at)) if at < chrono::Utc::now() => errors.push(FieldError::new(
            "effective_at",
            format!("{} is in the past: a server would refuse this version", at.to_rfc3339()),
        )),
        Ok(_) => {}
    }
    match errors.is_empty() {
        true => Ok(draft),
        false => Err(errors),
    }
}

/// `predial rules check FILE…`.
pub fn check(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match read(file) {
            Ok(draft) => println!("{}: ok ({} controls)", file.display(), draft.controls.len()),
            Err(errors) => {
                failed = true;
                for e in errors {
                    println!("{}: {e}", file.display());
                }
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `predial rules diff OLD NEW`.
pub fn diff(old: &Path, new: &Path) -> ExitCode {
    let (a, b) = match (read(old), read(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            for (path, errors) in [(old, a.err()), (new, b.err())] {
                for e in errors.into_iter().flatten() {
                    eprintln!("{}: {e}", path.display());
                }
            }
            return ExitCode::from(2);
        }
    };
    print!("{}", describe(&RuleDiff::between(&a, &b), &a, &b));
    ExitCode::SUCCESS
}

/// The diff, control by control: `+ id` added, `- id` removed, `~ id` changed with each
/// field's old and new value, then the rule-set settings that changed.
pub fn describe(diff: &RuleDiff, old: &RuleSetDraft, new: &RuleSetDraft) -> String {
    if diff.is_empty() {
        return "no change\n".into();
    }
    let control = |list: &[ControlDraft], id: &str| list.iter().find(|c| c.id.trim() == id).cloned();
    let value = |c: &Option<ControlDraft>, field: &str| {
        c.as_ref()
            .and_then(|c| serde_json::to_value(c).ok())
            .and_then(|v| v.get(field).cloned())
            .map_or("(none)".to_string(), |v| v.to_string())
    };
    let mut text = String::new();
    for id in &diff.added {
        let c = control(&new.controls, id);
        let what = c.as_ref().map(|c| c.description.as_str()).unwrap_or_default();
        text.push_str(&format!("+ {id}: added  {what}\n"));
    }
    for id in &diff.removed {
        text.push_str(&format!("- {id}: removed\n"));
    }
    for (id, fields) in &diff.changed {
        let (before, after) = (control(&old.controls, id), control(&new.controls, id));
        text.push_str(&format!("~ {id}: changed\n"));
        for field in fields {
            text.push_str(&format!(
                "    {field}: {} -> {}\n",
                value(&before, field),
                value(&after, field)
            ));
        }
    }
    for setting in &diff.settings {
        text.push_str(&format!("* {setting}: changed\n"));
    }
    text
}
