//! Text a server wrote — an `errmsg`, a value a parse error quotes — as the job's messages may
//! show it. With `[output] identity = "pseudonym"` it is withheld and only the errcode is kept:
//! an errmsg may echo a userid or a name (a proxy's message, or a future WeCom one), and it
//! would otherwise reach the run report, the WARN log and the stderr summary verbatim, where no
//! pseudonym can cover it (nobody knows every raw id it might name). The errcode alone
//! classifies an answer anyway. The switch is set once, when the job is loaded ([`withhold`]),
//! so every stage — the client, the fetch, the transform — follows it without passing it along.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether server text is withheld (pseudonym mode).
static WITHHELD: AtomicBool = AtomicBool::new(false);

/// What a quoted value of a parse error becomes when server text is withheld.
const MASKED_VALUE: &str = "…";

/// Withholds server text from now on (`true` in pseudonym mode).
pub fn withhold(on: bool) {
    WITHHELD.store(on, Ordering::Relaxed);
}

/// An answer's `errmsg` as a message may quote it: `None` when it is empty or withheld.
pub fn errmsg(msg: &str) -> Option<&str> {
    errmsg_when(msg, WITHHELD.load(Ordering::Relaxed))
}

fn errmsg_when(msg: &str, withheld: bool) -> Option<&str> {
    let msg = msg.trim();
    (!withheld && !msg.is_empty()).then_some(msg)
}

/// A parse error's text (serde quotes the values it refused: `invalid type: string "zhangsan"`),
/// with those values masked when server text is withheld.
pub fn parse_error(text: &str) -> String {
    parse_error_when(text, WITHHELD.load(Ordering::Relaxed))
}

fn parse_error_when(text: &str, withheld: bool) -> String {
    if !withheld {
        return text.to_owned();
    }
    // Between each pair of `"` or of `` ` ``, the quoted value goes.
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str(MASKED_VALUE);
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '"' || c == '`' {
                    open = Some(c);
                }
            }
        }
    }
    if open.is_some() {
        out.push_str(MASKED_VALUE);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_errmsg_is_kept_in_plain_mode_and_withheld_in_pseudonym_mode() {
        assert_eq!(
            errmsg_when(" no such user zhangsan ", false),
            Some("no such user zhangsan")
        );
        assert_eq!(errmsg_when("", false), None);
        assert_eq!(errmsg_when("no such user zhangsan", true), None);
    }

    #[test]
    fn a_parse_error_keeps_its_shape_but_not_the_values_it_quotes_in_pseudonym_mode() {
        let e = "invalid type: string \"zhangsan\", expected i64 at line 1 column 40";
        assert_eq!(parse_error_when(e, false), e);
        assert_eq!(
            parse_error_when(e, true),
            "invalid type: string \"…\", expected i64 at line 1 column 40"
        );
        assert_eq!(
            parse_error_when("unknown variant `张三`, cut \"li", true),
            "unknown variant `…`, cut \"…"
        );
    }
}
