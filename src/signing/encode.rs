//! Encoding primitives shared by every signing scheme.
//!
//! Hand-written on purpose: the signatures depend on the exact bytes (upper-case `%XX`, `/`
//! kept or not, no dot-segment normalisation), which general-purpose URL crates do not promise,
//! and the presign hot path appends into a caller-owned buffer without allocating.

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Bytes `UriEncode` passes through: `A-Z a-z 0-9 - . _ ~`, plus `/` when `keep_slash` is set.
const fn pass_through(keep_slash: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/');
        i += 1;
    }
    table
}

const PASS_STRICT: [bool; 256] = pass_through(false);
const PASS_KEEP_SLASH: [bool; 256] = pass_through(true);

/// Appends the RFC 3986 encoding of `input` used by SigV4 and GCS V4 (`UriEncode`).
///
/// Bytes `A-Z a-z 0-9 - . _ ~` pass through; every other byte becomes `%XX` with upper-case
/// hex. `/` passes through only when `keep_slash` is set (object-key paths).
pub fn uri_encode_into(out: &mut String, input: &str, keep_slash: bool) {
    let pass = if keep_slash { &PASS_KEEP_SLASH } else { &PASS_STRICT };
    let bytes = input.as_bytes();
    out.reserve(bytes.len());
    // Runs of pass-through bytes are copied at once. They are ASCII, so a non-empty run starts
    // and ends on a character boundary.
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if pass[b as usize] {
            continue;
        }
        if run_start < i {
            out.push_str(&input[run_start..i]);
        }
        out.push('%');
        out.push(HEX_UPPER[(b >> 4) as usize] as char);
        out.push(HEX_UPPER[(b & 0xf) as usize] as char);
        run_start = i + 1;
    }
    if run_start < bytes.len() {
        out.push_str(&input[run_start..]);
    }
}

/// Returns the `UriEncode` of `input` as a new string (see [`uri_encode_into`]).
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    uri_encode_into(&mut out, input, keep_slash);
    out
}

/// Appends the lower-case hex form of `bytes`.
pub fn hex_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for chunk in bytes.chunks(32) {
        let digits = hex_digest_256(chunk);
        out.push_str(std::str::from_utf8(&digits[..chunk.len() * 2]).unwrap_or_default());
    }
}

/// The lower-case hex form of a 32-byte digest, on the stack.
pub fn hex_digest_256(digest: &[u8]) -> [u8; 64] {
    let mut out = [b'0'; 64];
    for (i, &b) in digest.iter().take(32).enumerate() {
        out[2 * i] = HEX_LOWER[(b >> 4) as usize];
        out[2 * i + 1] = HEX_LOWER[(b & 0xf) as usize];
    }
    out
}

/// Returns the lower-case hex form of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    hex_into(&mut out, bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_utf8_bytes() {
        assert_eq!(uri_encode("a b+c/d!*'()~", false), "a%20b%2Bc%2Fd%21%2A%27%28%29~");
        assert_eq!(uri_encode("dir/ü.txt", true), "dir/%C3%BC.txt");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
