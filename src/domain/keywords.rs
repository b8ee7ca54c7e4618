//! Opt-out and opt-in keywords in a consumer's text reply (CTIA's STOP / START family).

/// What an inbound text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKeyword {
    /// Exclude the number BY_CUSTOMER.
    Stop(&'static str),
    /// Clear a BY_CUSTOMER exclusion.
    Start(&'static str),
}

const STOP: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
const START: [&str; 3] = ["START", "UNSTOP", "YES"];

/// Reads the keyword of a reply, ignoring case and white space.
///
/// A body that is a keyword alone ("stop", " S T O P ") is that keyword. A STOP-type word
/// that opens a longer reply ("Stop texting me!") also opts out: missing an opt-out costs a
/// lawsuit, honouring one by mistake costs a text. An opt-in must be the whole reply, so
/// "yes I got it, stop" never re-subscribes anyone.
pub fn parse_keyword(body: &str) -> Option<TextKeyword> {
    let squeezed: String = body
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let bare = squeezed.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if let Some(k) = STOP.iter().find(|k| **k == bare) {
        return Some(TextKeyword::Stop(k));
    }
    if let Some(k) = START.iter().find(|k| **k == bare) {
        return Some(TextKeyword::Start(k));
    }
    let first = body.split_whitespace().next()?.to_uppercase();
    let first = first.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    STOP.iter().find(|k| **k == first).map(|k| TextKeyword::Stop(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stop_keyword_opts_out_whatever_its_case_and_spacing() {
        for word in STOP {
            for body in [
                word.to_string(),
                word.to_lowercase(),
                format!("  {}\n", word.to_lowercase()),
            ] {
                assert_eq!(parse_keyword(&body), Some(TextKeyword::Stop(word)), "{body:?}");
            }
        }
        assert_eq!(parse_keyword("S t O p"), Some(TextKeyword::Stop("STOP")));
        assert_eq!(parse_keyword("Opt Out"), Some(TextKeyword::Stop("OPTOUT")));
        assert_eq!(parse_keyword("Stop texting me!"), Some(TextKeyword::Stop("STOP")));
        assert_eq!(parse_keyword("STOP."), Some(TextKeyword::Stop("STOP")));
    }

    #[test]
    fn start_keywords_opt_in_only_as_the_whole_reply() {
        for word in START {
            assert_eq!(parse_keyword(&word.to_lowercase()), Some(TextKeyword::Start(word)));
        }
        assert_eq!(parse_keyword("yes I will pay friday"), None);
        assert_eq!(parse_keyword("I will pay friday"), None);
        assert_eq!(parse_keyword(""), None);
    }
}
