//! The bytes of an access line, written by hand. serde's derived serializer escapes every key
//! at run time and takes each field through its generic machinery: that was most of the cost
//! of logging a request. A test checks the line against the one serde writes for the flattened
//! struct, with every field of the audit event set, so a field added to [`AuditEvent`] fails it
//! until it is written here too.

use opensharing::auth::AuditEvent;

/// `,"name":` as one literal.
macro_rules! key {
    ($name:literal) => {
        concat!(",\"", $name, "\":").as_bytes()
    };
}

/// Appends the access line, without its newline: `event`, `method`, `path` and `duration_ms`,
/// then the fields of `audit` in their declared order, without those that are not set. Keys are
/// literals and integers go through `itoa`: the line is written on every request.
pub fn write(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    duration_ms: f64,
    audit: &AuditEvent,
) -> serde_json::Result<()> {
    out.extend_from_slice(br#"{"event":"request","method":"#);
    string(out, method)?;
    out.extend_from_slice(br#","path":"#);
    string(out, path)?;
    out.extend_from_slice(br#","duration_ms":"#);
    serde_json::to_writer(&mut *out, &duration_ms)?;
    optional(out, key!("recipient"), audit.recipient.as_deref())?;
    optional(out, key!("auth"), audit.auth)?;
    optional(out, key!("iss"), audit.iss.as_deref())?;
    optional(out, key!("sub"), audit.sub.as_deref())?;
    optional(out, key!("route"), Some(audit.route))?;
    optional(out, key!("share"), audit.share.as_deref())?;
    optional(out, key!("schema"), audit.schema.as_deref())?;
    optional(out, key!("asset"), audit.asset.as_deref())?;
    number(out, key!("status"), audit.status);
    optional(out, key!("error_code"), audit.error_code)?;
    optional(out, key!("detail"), audit.detail.as_deref())?;
    number(out, key!("started_at_ms"), audit.started_at_ms);
    number(out, key!("io_requests"), audit.io_requests);
    number(out, key!("urls_signed"), audit.urls_signed);
    number(out, key!("body_bytes"), audit.body_bytes);
    optional(out, key!("peer"), audit.peer.as_deref())?;
    out.push(b'}');
    Ok(())
}

/// A string field (its key written by [`key!`]), left out when `None`.
fn optional(out: &mut Vec<u8>, key: &[u8], value: Option<&str>) -> serde_json::Result<()> {
    match value {
        Some(value) => {
            out.extend_from_slice(key);
            string(out, value)
        }
        None => Ok(()),
    }
}

/// An integer field (its key written by [`key!`]).
fn number(out: &mut Vec<u8>, key: &[u8], value: impl itoa::Integer) {
    out.extend_from_slice(key);
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// A JSON string: copied between quotes when nothing in it needs escaping (the usual case),
/// else escaped by serde_json.
fn string(out: &mut Vec<u8>, value: &str) -> serde_json::Result<()> {
    if needs_escape(value.as_bytes()) {
        return serde_json::to_writer(&mut *out, value);
    }
    out.reserve(value.len() + 2);
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether `bytes` hold a control character, `"` or `\\`. Eight bytes at a time (the
/// byte-wise test cost more than the rest of writing the line): `x - 0x01..01 & !x & 0x80..80`
/// is non-zero exactly when some byte of `x` is zero, and `x - 0x20..20 & !x & 0x80..80` when
/// some byte is below 0x20.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut words = bytes.chunks_exact(8);
    let flagged = words.by_ref().any(|word| {
        let x = u64::from_ne_bytes(word.try_into().unwrap_or_default());
        below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1) != 0
    });
    flagged || words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// The line as serde writes the flattened struct, key order included.
    fn flattened(method: &str, path: &str, duration_ms: f64, audit: &AuditEvent) -> String {
        #[derive(Serialize)]
        struct Flat<'a> {
            event: &'static str,
            method: &'a str,
            path: &'a str,
            duration_ms: f64,
            #[serde(flatten)]
            audit: &'a AuditEvent,
        }
        serde_json::to_string(&Flat { event: "request", method, path, duration_ms, audit }).unwrap()
    }

    #[test]
    fn is_the_line_serde_writes() {
        let every_field = AuditEvent {
            recipient: Some("ac\"me\u{1}".into()),
            auth: Some("oidc"),
            iss: Some("https://idp.example/".into()),
            sub: Some("user\\1".into()),
            route: "query_table",
            share: Some("s\u{e9}".into()),
            schema: Some("default".into()),
            asset: Some("trips\n".into()),
            status: 403,
            error_code: Some("PERMISSION_DENIED"),
            detail: Some("no grant".into()),
            started_at_ms: -1_796_207_762_120,
            io_requests: u32::MAX,
            urls_signed: u64::MAX,
            body_bytes: 12_345,
            peer: Some("[::1]:34128".into()),
        };
        let cases = [
            ("GET", "/delta-sharing/shares", 0.065, &every_field),
            ("PO\"ST", "/a b/\\\t", 12.5, &AuditEvent::default()),
            ("HEAD", "/healthz", f64::NAN, &AuditEvent { route: "healthz", ..AuditEvent::default() }),
        ];
        for (method, path, duration_ms, audit) in cases {
            let mut out = Vec::new();
            write(&mut out, method, path, duration_ms, audit).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), flattened(method, path, duration_ms, audit));
        }
    }

    #[test]
    fn finds_every_byte_that_needs_escaping_at_every_position() {
        for len in 0..20 {
            assert!(!needs_escape(&vec![b'a'; len]));
            assert!(!needs_escape("\u{e9}\u{7f}".repeat(len).as_bytes()), "UTF-8 and DEL pass");
            for at in 0..len {
                for b in (0..0x20).chain([b'"', b'\\']) {
                    let mut bytes = vec![b' '; len];
                    bytes[at] = b;
                    assert!(needs_escape(&bytes), "{b:#x} at {at} of {len}");
                }
                let mut bytes = vec![b'a'; len];
                bytes[at] = 0x20;
                assert!(!needs_escape(&bytes));
            }
        }
    }
}
