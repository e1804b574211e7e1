//! WeCom errcode classes (the table is in `docs/development.md`). WeCom answers errors as HTTP 200 with a non-zero `errcode`;
//! the job classifies by that number alone — never by `errmsg` text, never by HTTP status alone.

/// What the client does about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrClass {
    Ok,
    /// The access token is invalid or expired: refresh it (single-flight; see `token.rs`), retry.
    TokenInvalid,
    /// Transient trouble on WeCom's side: retry with backoff.
    Busy,
    /// The company-wide frequency (45009) or concurrency (45033) limit was hit: slow the whole run.
    Throttled,
    /// Configuration is wrong; retrying cannot help. Stop the run and say what to fix.
    FatalConfig,
    /// This meeting cannot be fetched; record it and go on with the rest.
    PerMeeting,
}

pub const OK: i64 = 0;
pub const SYSTEM_BUSY: i64 = -1;
pub const INVALID_TOKEN: i64 = 40014;
pub const TOKEN_EXPIRED: i64 = 42001;
pub const TOKEN_MISSING: i64 = 41001;
pub const FREQ_OUT_OF_LIMIT: i64 = 45009;
pub const CONCURRENCY_OUT_OF_LIMIT: i64 = 45033;

pub fn classify(errcode: i64) -> ErrClass {
    match errcode {
        OK => ErrClass::Ok,
        INVALID_TOKEN | TOKEN_EXPIRED | TOKEN_MISSING => ErrClass::TokenInvalid,
        SYSTEM_BUSY => ErrClass::Busy,
        FREQ_OUT_OF_LIMIT | CONCURRENCY_OUT_OF_LIMIT => ErrClass::Throttled,
        40001 | 40013 | 40091 | 60020 | 48002 | 400028 | 680106 => ErrClass::FatalConfig,
        _ => ErrClass::PerMeeting,
    }
}

/// What the operator should fix for a fatal configuration errcode.
pub fn fix_hint(errcode: i64) -> &'static str {
    match errcode {
        40001 => "the secret is invalid: check the secret environment variable or secret file",
        40013 => "the corpid is invalid: check the corpid environment variable",
        40091 => "the secret is invalid: check the secret environment variable or secret file",
        60020 => {
            "this machine's IP is not in the app's trusted IP list: add it in the WeCom admin console"
        }
        48002 => {
            "the API is forbidden for this app: enable the meeting API for the app in the WeCom admin console"
        }
        400028 => "the app has no permission for meetings: grant it in the WeCom admin console",
        680106 => {
            "the app cannot call this API: check the app's meeting permissions in the WeCom admin console"
        }
        _ => "check the job's credentials and the app's permissions",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_of_spec_section_2_is_recognised() {
        assert_eq!(classify(0), ErrClass::Ok);
        for c in [40014, 42001, 41001] {
            assert_eq!(classify(c), ErrClass::TokenInvalid, "{c}");
        }
        assert_eq!(classify(-1), ErrClass::Busy);
        assert_eq!(classify(45009), ErrClass::Throttled);
        assert_eq!(classify(45033), ErrClass::Throttled);
        for c in [40001, 40013, 40091, 60020, 48002, 400028, 680106] {
            assert_eq!(classify(c), ErrClass::FatalConfig, "{c}");
        }
        for c in [90602, 730005, 730008, 400041, 123456] {
            assert_eq!(classify(c), ErrClass::PerMeeting, "{c}");
        }
    }
}
