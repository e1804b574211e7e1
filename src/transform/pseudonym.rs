//! Pure: the privacy switch. With `[output] identity = "pseudonym"`, every userid, external id
//! and name in the tables is replaced by `p_` + the first 16 bytes (hex) of its HMAC-SHA256
//! under the job's key: the same person gets the same pseudonym in every table and run (so
//! analysts can join and count), and nobody without the key can tell who it is. Departments
//! stay readable. The key is never written anywhere.

use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// SHA-256's block size, in bytes (HMAC pads the key to it).
const BLOCK: usize = 64;
/// Bytes of the MAC kept in a pseudonym: 128 bits, no collision in any company's directory.
const KEPT_BYTES: usize = 16;
/// Marks a pseudonym, so nobody mistakes it for a userid.
pub const PREFIX: &str = "p_";

/// The columns that name a person, in any table.
pub const PERSON_COLUMNS: [&str; 7] = [
    "admin_userid",
    "attendee_id",
    "external_userid",
    "attendee_name",
    "admin_name",
    "userid",
    "name",
];

/// A keyed HMAC-SHA256. Its `Debug` shows no key.
#[derive(Clone)]
pub struct Pseudonyms {
    inner: [u8; BLOCK],
    outer: [u8; BLOCK],
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(<key redacted>)")
    }
}

impl Pseudonyms {
    pub fn new(key: &[u8]) -> Pseudonyms {
        let mut k = [0u8; BLOCK];
        if key.len() > BLOCK {
            k[..32].copy_from_slice(Sha256::digest(key).as_slice());
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        Pseudonyms {
            inner: k.map(|b| b ^ 0x36),
            outer: k.map(|b| b ^ 0x5c),
        }
    }

    /// The full HMAC-SHA256 of `text` (RFC 2104).
    pub fn mac(&self, text: &str) -> [u8; 32] {
        let inner = Sha256::new()
            .chain_update(self.inner)
            .chain_update(text.as_bytes())
            .finalize();
        let outer = Sha256::new()
            .chain_update(self.outer)
            .chain_update(inner.as_slice())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(outer.as_slice());
        out
    }

    /// `p_` + 32 hex digits.
    pub fn of(&self, text: &str) -> String {
        let mac = self.mac(text);
        let mut s = String::with_capacity(PREFIX.len() + 2 * KEPT_BYTES);
        s.push_str(PREFIX);
        for b in &mac[..KEPT_BYTES] {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Replaces every person column of `df` present (text, nulls kept).
    pub fn apply(&self, mut df: DataFrame) -> PolarsResult<DataFrame> {
        for name in PERSON_COLUMNS {
            let Ok(c) = df.column(name) else { continue };
            let replaced: StringChunked = c.str()?.iter().map(|v| v.map(|v| self.of(v))).collect();
            df.with_column(replaced.with_name(name.into()).into_column())?;
        }
        Ok(df)
    }
}

impl crate::transform::people::People {
    /// `df` with its person columns pseudonymised when the job asks for it.
    pub fn pseudonymize(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        match &self.pseudonyms {
            Some(p) => p.apply(df),
            None => Ok(df),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        let p = Pseudonyms::new(b"Jefe");
        let hex: String = p
            .mac("what do ya want for nothing?")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_person_gets_one_pseudonym_per_key_and_nulls_stay_null() {
        let p = Pseudonyms::new(b"0123456789abcdef");
        assert_eq!(p.of("zhangsan"), p.of("zhangsan"));
        assert_ne!(p.of("zhangsan"), p.of("lisi"));
        assert_ne!(
            p.of("zhangsan"),
            Pseudonyms::new(b"another key 0123").of("zhangsan")
        );
        let df = df!("attendee_id" => [Some("zhangsan"), None], "title" => ["x", "y"]).unwrap();
        let out = p.apply(df).unwrap();
        let ids = out.column("attendee_id").unwrap().str().unwrap();
        assert_eq!(ids.get(0), Some(p.of("zhangsan").as_str()));
        assert_eq!(ids.get(1), None);
        assert_eq!(
            out.column("title").unwrap().str().unwrap().get(0),
            Some("x")
        );
    }
}
