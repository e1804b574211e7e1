//! Answers that are a meeting in all but a detail of their text, and how they are read anyway.
//!
//! WeCom cuts a title at 60 *bytes*, so a character cut in half is to be expected: a raw UTF-8
//! sequence cut short (invalid UTF-8) or an escaped emoji cut between its two surrogates
//! (`"Weekly \ud83d"`, a lone surrogate). The typed parse refuses both; here they become U+FFFD
//! (�). A key given twice keeps its last value ([`without_duplicate_keys`]). Repairs happen when
//! a body is read, never in the store, which keeps what WeCom sent verbatim; and only for a body
//! the typed parse refused, so a sound body costs nothing more.

use crate::wecom::model::{MeetingInfo, without_duplicate_keys};

/// The escape that stands for U+FFFD, the replacement character.
const REPLACEMENT_ESCAPE: &[u8] = b"\\ufffd";
/// Length of a `\uXXXX` escape.
const ESCAPE_LEN: usize = 6;

/// A body repaired so that the typed parse reads it, and what was repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub body: Vec<u8>,
    pub repairs: Repairs,
}

/// What a repair changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Invalid UTF-8 or lone surrogates became U+FFFD.
    pub text: bool,
    /// A key given twice was kept once (its last value).
    pub keys: bool,
}

/// Whether the body's text needs no repair: it is UTF-8 and every surrogate escape is half of
/// a pair. Cheap: a UTF-8 check and a search for backslashes.
pub fn text_is_sound(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok_and(|text| !has_lone_surrogate(text))
}

/// Why the typed parse refuses the body as it is, or `Ok` when it reads it: the verdict the
/// transform gives a body before any repair.
pub fn typed_parse(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    serde_json::from_str::<MeetingInfo>(text)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The body repaired so that the typed parse reads it: its text first (U+FFFD for invalid UTF-8
/// and lone surrogates), then, if that is not enough, each key once. `None` when the typed
/// parse reads it as it is, or when no repair makes it readable (the caller then reports the
/// typed parse's own error). For a body the typed parse refused: one more parse, then the
/// repairs.
pub fn repair(body: &[u8]) -> Option<Repaired> {
    if typed_parse(body).is_ok() {
        return None;
    }
    let text = repair_text(body);
    let base = text.as_deref().unwrap_or(body);
    if text.is_some() && typed_parse(base).is_ok() {
        return text.map(|body| Repaired {
            body,
            repairs: Repairs {
                text: true,
                keys: false,
            },
        });
    }
    without_duplicate_keys(base)
        .filter(|fixed| fixed.as_slice() != base && typed_parse(fixed).is_ok())
        .map(|fixed| Repaired {
            body: fixed,
            repairs: Repairs {
                text: text.is_some(),
                keys: true,
            },
        })
}

/// The body with invalid UTF-8 and lone surrogate escapes replaced by U+FFFD; `None` when its
/// text is sound.
pub fn repair_text(body: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(body);
    let utf8_repaired = matches!(text, std::borrow::Cow::Owned(_));
    if !has_lone_surrogate(&text) {
        return utf8_repaired.then(|| text.into_owned().into_bytes());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut copied = 0;
    for_each_escape(&text, |at, lone| {
        if lone {
            out.extend_from_slice(&bytes[copied..at]);
            out.extend_from_slice(REPLACEMENT_ESCAPE);
            copied = at + ESCAPE_LEN;
        }
    });
    out.extend_from_slice(&bytes[copied..]);
    Some(out)
}

fn has_lone_surrogate(text: &str) -> bool {
    let mut lone = false;
    for_each_escape(text, |_, l| lone |= l);
    lone
}

/// Calls `f(at, lone)` for each `\uXXXX` escape that encodes a surrogate, `lone` telling
/// whether it lacks its other half. Escapes are walked from backslash to backslash (a fast
/// search), so an escaped backslash (`\\ud83d` is a backslash and text) is never taken for one.
fn for_each_escape(text: &str, mut f: impl FnMut(usize, bool)) {
    let mut i = 0;
    while let Some(off) = text.get(i..).and_then(|rest| rest.find('\\')) {
        let at = i + off;
        i = match surrogate_at(text, at) {
            Some(0xD800..=0xDBFF) => {
                let paired = surrogate_at(text, at + ESCAPE_LEN)
                    .is_some_and(|low| (0xDC00..=0xDFFF).contains(&low));
                f(at, !paired);
                if paired {
                    f(at + ESCAPE_LEN, false);
                    at + 2 * ESCAPE_LEN
                } else {
                    at + ESCAPE_LEN
                }
            }
            Some(_) => {
                f(at, true);
                at + ESCAPE_LEN
            }
            // Any other escape is the backslash and one character (`\"`, `\\`, `\n`, `\u4f1a`
            // whose hex digits are then plain text).
            None => at + 1 + text[at + 1..].chars().next().map_or(0, char::len_utf8),
        };
    }
}

/// The code unit of the `\uXXXX` escape at `at` when it is a surrogate (D800–DFFF).
fn surrogate_at(text: &str, at: usize) -> Option<u16> {
    let esc = text.as_bytes().get(at..at + ESCAPE_LEN)?;
    if esc[0] != b'\\' || esc[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&esc[2..]).ok()?;
    u16::from_str_radix(hex, 16)
        .ok()
        .filter(|u| (0xD800..=0xDFFF).contains(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(s: &[u8]) -> String {
        String::from_utf8(repair_text(s).expect("a repair")).unwrap()
    }

    #[test]
    fn a_lone_high_or_low_surrogate_becomes_the_replacement_character() {
        assert_eq!(
            fixed(br#"{"title":"Weekly \ud83d"}"#),
            r#"{"title":"Weekly \ufffd"}"#
        );
        assert_eq!(fixed(br#"{"t":"\uDE00x"}"#), r#"{"t":"\ufffdx"}"#);
        // A high surrogate followed by another high one: only the first is alone.
        assert_eq!(
            fixed(br#"{"t":"\ud83d\ud83d\ude00"}"#),
            r#"{"t":"\ufffd\ud83d\ude00"}"#
        );
    }

    #[test]
    fn sound_text_is_left_alone_and_an_escaped_backslash_is_not_an_escape() {
        for ok in [
            &br#"{"t":"\ud83d\ude00 \u4f1a \\ud83d \"q\" \n"}"#[..],
            "{\"t\":\"周会\"}".as_bytes(),
            br#"{"t":"\\"}"#,
            br#"{"t":"\"#,
        ] {
            assert!(text_is_sound(ok), "{}", String::from_utf8_lossy(ok));
            assert_eq!(repair_text(ok), None);
        }
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        // 会 is E4 BC 9A; cut after two of its bytes, as a 60-byte limit may cut it.
        let body = b"{\"title\":\"Weekly \xE4\xBC\"}";
        assert!(!text_is_sound(body));
        assert_eq!(fixed(body), "{\"title\":\"Weekly \u{fffd}\"}");
    }

    #[test]
    fn a_body_is_repaired_only_as_far_as_the_typed_parse_needs() {
        let r = repair(br#"{"title":"a\ud83d","status":3}"#).unwrap();
        assert!(r.repairs.text && !r.repairs.keys);
        assert_eq!(r.body, br#"{"title":"a\ufffd","status":3}"#);
        let r = repair(br#"{"title":"a\ud83d","status":3,"status":2}"#).unwrap();
        assert!(r.repairs.text && r.repairs.keys);
        let r = repair(br#"{"status":3,"status":2}"#).unwrap();
        assert!(!r.repairs.text && r.repairs.keys);
        assert_eq!(repair(br#"{"status":"soon"}"#), None);
        assert_eq!(repair(br#"{"title":"a\ud83d","status":"soon"}"#), None);
        assert_eq!(repair(br#"{"status":3}"#), None);
    }
}
