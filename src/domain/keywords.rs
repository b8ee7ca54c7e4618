//! Reading a consumer's text reply: does it revoke consent (exclude the number
//! BY_CUSTOMER), or opt back in?
//!
//! Revocations follow the FCC's rule (47 CFR 64.1200(a)(10), FCC 24-24, in force since
//! April 11, 2025): a reply using the words *stop, quit, end, revoke, opt out, cancel* or
//! *unsubscribe* revokes wherever the word stands in it, and other reasonable wording
//! revokes too. What counts is data, not code: `data/opt-out-replies.txt` lists the words
//! (matched as words, whatever the case and the punctuation or spacing around or inside
//! them) and the phrases (matched as consecutive words), with the rule and the reasons.
//! The list errs toward honouring a request: a missed opt-out is a violation for every
//! later call and text to the number, a mistaken one costs a confirmation text.
//!
//! An opt-in (`START`, `UNSTOP`, `YES`) must be the whole reply: consent must be
//! unambiguous, so "yes I got it" or "stop, then start again next month" never
//! re-subscribes anyone. A reply with both a revocation and an opt-in word is a
//! revocation.

use std::sync::LazyLock;

/// What an inbound text asks for, with the word or phrase that said so (upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKeyword {
    /// Exclude the number BY_CUSTOMER.
    Stop(&'static str),
    /// Clear a BY_CUSTOMER exclusion.
    Start(&'static str),
}

/// Opt-ins, each only as the whole reply.
const START: [&str; 3] = ["START", "UNSTOP", "YES"];

/// The list of `data/opt-out-replies.txt`, compiled in.
const REPLIES: &str = include_str!("../../data/opt-out-replies.txt");

/// One entry of the list: a word's letters, or a phrase's words; and how it is reported.
struct Revocation {
    /// Lower-case letters of the word, or the phrase's words.
    words: Vec<String>,
    /// A word: matched across punctuation and spacing; a phrase: word by word.
    is_word: bool,
    keyword: String,
}

static REVOCATIONS: LazyLock<Vec<Revocation>> = LazyLock::new(|| parse_list(REPLIES));

/// Reads the list's lines (`word x`, `phrase x y z`; `#` comments).
fn parse_list(text: &str) -> Vec<Revocation> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (kind, rest) = l.split_once(' ').unwrap_or((l, ""));
            let words: Vec<String> = rest.split_whitespace().map(str::to_lowercase).collect();
            assert!(
                matches!(kind, "word" | "phrase") && !words.is_empty() && (kind == "phrase" || words.len() == 1),
                "data/opt-out-replies.txt: {l:?} is not `word <letters>` or `phrase <words>`"
            );
            Revocation {
                keyword: words.join(" ").to_uppercase(),
                is_word: kind == "word",
                words,
            }
        })
        .collect()
}

/// A reply, normalised once for every entry to be looked for in it.
struct Reply {
    /// Its letters and digits, lower case, each marked with whether a word boundary
    /// (space, punctuation, emoji, the start) came before it.
    letters: Vec<(char, bool)>,
    /// Its words: split at anything that is not a letter, a digit or an apostrophe;
    /// apostrophes dropped ("don’t" is "dont").
    words: Vec<String>,
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`' | '´')
}

impl Reply {
    fn of(body: &str) -> Reply {
        let mut letters = Vec::with_capacity(body.len());
        let mut boundary = true;
        for c in body.chars() {
            if c.is_alphanumeric() {
                for lower in c.to_lowercase() {
                    letters.push((lower, boundary));
                    boundary = false;
                }
            } else if !is_apostrophe(c) {
                boundary = true;
            }
        }
        let words = body
            .split(|c: char| !(c.is_alphanumeric() || is_apostrophe(c)))
            .map(|w| {
                w.chars()
                    .filter(|c| !is_apostrophe(*c))
                    .collect::<String>()
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect();
        Reply { letters, words }
    }

    /// Whether `word`'s letters stand in the reply as a word: starting after a boundary and
    /// followed by one (or the end), with anything but letters allowed between them.
    fn has_word(&self, word: &str) -> bool {
        let target: Vec<char> = word.chars().collect();
        let n = target.len();
        if n == 0 || self.letters.len() < n {
            return false;
        }
        (0..=self.letters.len() - n).any(|i| {
            self.letters[i].1
                && self.letters[i..i + n]
                    .iter()
                    .map(|(c, _)| *c)
                    .eq(target.iter().copied())
                && self.letters.get(i + n).is_none_or(|(_, boundary)| *boundary)
        })
    }

    /// Whether `phrase`'s words stand in the reply one after another.
    fn has_phrase(&self, phrase: &[String]) -> bool {
        self.words.windows(phrase.len()).any(|w| w == phrase)
    }

    /// The reply as one word, if it is one (its letters alone, spacing and punctuation
    /// dropped): for opt-ins, which must be the whole reply.
    fn whole(&self) -> String {
        self.letters.iter().map(|(c, _)| *c).collect::<String>().to_uppercase()
    }
}

/// Reads what a reply asks for: a revocation wherever it stands, else an opt-in that is the
/// whole reply, else nothing.
pub fn parse_keyword(body: &str) -> Option<TextKeyword> {
    let reply = Reply::of(body);
    let revoked = REVOCATIONS.iter().find(|r| {
        if r.is_word {
            reply.has_word(&r.words[0])
        } else {
            reply.has_phrase(&r.words)
        }
    });
    if let Some(r) = revoked {
        return Some(TextKeyword::Stop(r.keyword.as_str()));
    }
    let whole = reply.whole();
    START.iter().find(|k| **k == whole).map(|k| TextKeyword::Start(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(body: &str) -> Option<TextKeyword> {
        parse_keyword(body)
    }

    fn stop(word: &'static str) -> Option<TextKeyword> {
        Some(TextKeyword::Stop(word))
    }

    #[test]
    fn replies_read_the_way_the_fccs_rule_reads_them() {
        let table: &[(&str, Option<TextKeyword>)] = &[
            // The seven words, wherever they stand and however they are written.
            ("STOP", stop("STOP")),
            ("stop please", stop("STOP")),
            ("Quit texting", stop("QUIT")),
            ("Please stop texting me", stop("STOP")),
            ("Stop.", stop("STOP")),
            ("STOP!!", stop("STOP")),
            ("  S t O p ", stop("STOP")),
            ("S.T.O.P", stop("STOP")),
            ("OPT-OUT", stop("OPTOUT")),
            ("Opt Out", stop("OPTOUT")),
            ("OPTOUT", stop("OPTOUT")),
            ("i want to opt out now", stop("OPTOUT")),
            ("un-subscribe", stop("UNSUBSCRIBE")),
            ("Unsubscribe me from this", stop("UNSUBSCRIBE")),
            ("please END this", stop("END")),
            ("I revoke my consent", stop("REVOKE")),
            ("cancel", stop("CANCEL")),
            ("stop, then start again next month", stop("STOP")),
            ("STOP\nSTART", stop("STOP")),
            ("🛑 stop 🛑", stop("STOP")),
            ("stop🙏", stop("STOP")),
            // Other words.
            ("Leave me alone", stop("LEAVE ME ALONE")),
            ("leave me ALONE!!!", stop("LEAVE ME ALONE")),
            ("don't text me anymore", stop("DONT TEXT ME")),
            ("Don’t text me", stop("DONT TEXT ME")),
            ("dont call me", stop("DONT CALL ME")),
            ("Do not contact me again.", stop("DO NOT CONTACT ME")),
            ("do not text me", stop("DO NOT TEXT ME")),
            ("No more texts", stop("NO MORE TEXTS")),
            ("no more calls please", stop("NO MORE CALLS")),
            ("Remove me from your list", stop("REMOVE ME")),
            ("take me off your list", stop("TAKE ME OFF")),
            ("Wrong number", stop("WRONG NUMBER")),
            ("wrong number!\r\nwho is this", stop("WRONG NUMBER")),
            // Spanish.
            ("ALTO", stop("ALTO")),
            ("parar", stop("PARAR")),
            ("¡Basta!", stop("BASTA")),
            ("Cancelar", stop("CANCELAR")),
            // Opt-ins: only as the whole reply.
            ("START", Some(TextKeyword::Start("START"))),
            (" unstop ", Some(TextKeyword::Start("UNSTOP"))),
            ("Yes", Some(TextKeyword::Start("YES"))),
            ("yes.", Some(TextKeyword::Start("YES"))),
            ("yes I got it", None),
            ("start sending me the bill", None),
            // What does not revoke.
            ("Thanks, got it", None),
            ("I will pay on Friday", None),
            ("What is my balance?", None),
            ("Can you call me tomorrow?", None),
            ("", None),
            ("   ", None),
            ("👍", None),
            ("unstoppable", None),
            ("my weekend is free", None),
            ("quite right", None),
            ("I'll send it", None),
            ("the stopwatch", None),
        ];
        for (body, expected) in table {
            assert_eq!(reads(body), *expected, "{body:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_reply_with_a_listed_word_as_a_word_revokes(
            before in "[a-z ,.!?]{0,40}", after in "[a-z ,.!?]{0,40}", which in 0usize..16, upper in proptest::bool::ANY,
        ) {
            let words: Vec<&Revocation> = REVOCATIONS.iter().filter(|r| r.is_word).collect();
            let word = &words[which % words.len()].words[0];
            let word = if upper { word.to_uppercase() } else { word.clone() };
            let body = format!("{before} {word}! {after}");
            proptest::prop_assert!(matches!(reads(&body), Some(TextKeyword::Stop(_))), "{:?}", body);
        }

        #[test]
        fn no_reply_makes_the_reader_panic(body in "\\PC{0,200}") {
            let _ = reads(&body);
        }
    }

    #[test]
    fn a_very_long_reply_is_read_whole_and_the_word_found_at_its_end() {
        let long = "blah ".repeat(100_000) + "stop";
        assert_eq!(reads(&long), stop("STOP"));
        assert_eq!(reads(&"blah ".repeat(100_000)), None);
    }

    #[test]
    fn every_entry_of_the_list_is_read_and_revokes_as_written() {
        assert!(REVOCATIONS.len() >= 40);
        for r in REVOCATIONS.iter() {
            let body = format!("well, {} then.", r.words.join(" "));
            assert_eq!(reads(&body), stop(r.keyword.as_str()), "{body:?}");
        }
    }
}
