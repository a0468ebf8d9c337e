//! Percent-encoding shared by every signing scheme.
//!
//! Hand-written on purpose: the signatures depend on the exact bytes (upper-case `%XX`, `/`
//! kept or not, no dot-segment normalisation), which general-purpose URL crates do not promise,
//! and the presign hot path appends into a caller-owned buffer without allocating.

use crate::util::{for_each_flagged, FLAG_CHUNK};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `UriEncode` must escape `b`: all but `A-Z a-z 0-9 - . _ ~`, and `/` unless
/// `keep_slash`. Branch-free, so that a fixed-size loop over it compiles to SIMD compares.
#[inline(always)]
fn must_escape(b: u8, keep_slash: bool) -> bool {
    // With bit 5 set, A-Z lands on a-z and nothing else does.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    // `-` `.` `/` `0`..=`9` are the contiguous bytes 0x2D..=0x39.
    let dash_to_nine = b.wrapping_sub(b'-') < 13;
    let slash_ok = keep_slash | (b != b'/');
    !(letter | (dash_to_nine & slash_ok) | (b == b'_') | (b == b'~'))
}

/// Byte `i` (little-endian) is 1 when `chunk[i]` must be escaped, else 0.
#[inline(always)]
fn escape_flags(chunk: &[u8; FLAG_CHUNK], keep_slash: bool) -> u128 {
    let mut flags = [0u8; FLAG_CHUNK];
    for (flag, &b) in flags.iter_mut().zip(chunk) {
        *flag = u8::from(must_escape(b, keep_slash));
    }
    u128::from_le_bytes(flags)
}

/// Appends the RFC 3986 encoding of `input` used by SigV4 and GCS V4 (`UriEncode`).
///
/// Bytes `A-Z a-z 0-9 - . _ ~` pass through; every other byte becomes `%XX` with upper-case
/// hex. `/` passes through only when `keep_slash` is set (object-key paths).
pub fn uri_encode_into(out: &mut String, input: &str, keep_slash: bool) {
    let bytes = input.as_bytes();
    out.reserve(bytes.len());
    // Runs of pass-through bytes are copied at once. They are ASCII, so a non-empty run starts
    // and ends on a character boundary. Object keys are mostly such runs: they are classified
    // 16 bytes per step (SIMD compares where the target has them), one branch per step.
    let mut run_start = 0;
    for_each_flagged(
        bytes,
        |chunk| escape_flags(chunk, keep_slash),
        b'a',
        |i| {
            if run_start < i {
                out.push_str(&input[run_start..i]);
            }
            out.push_str(percent_escape(bytes[i]));
            run_start = i + 1;
        },
    );
    if run_start < bytes.len() {
        out.push_str(&input[run_start..]);
    }
}

/// `%00%01…%FF`: the escapes of all bytes, three characters each.
const PERCENT_ESCAPES: &str = {
    const BYTES: [u8; 768] = {
        let mut t = [0u8; 768];
        let mut i = 0;
        while i < 256 {
            t[3 * i] = b'%';
            t[3 * i + 1] = HEX_UPPER[i >> 4];
            t[3 * i + 2] = HEX_UPPER[i & 0xf];
            i += 1;
        }
        t
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("ASCII"),
    }
};

/// `%XX` for `b`.
fn percent_escape(b: u8) -> &'static str {
    let i = 3 * b as usize;
    &PERCENT_ESCAPES[i..i + 3]
}

/// Returns the `UriEncode` of `input` as a new string (see [`uri_encode_into`]).
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    uri_encode_into(&mut out, input, keep_slash);
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

    /// The plain byte-by-byte `UriEncode`, to check the chunked one against.
    fn reference_encode(input: &str, keep_slash: bool) -> String {
        let mut out = String::new();
        for &b in input.as_bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    #[test]
    fn classifies_every_byte_in_every_position() {
        for keep_slash in [false, true] {
            for b in 0..=255u8 {
                let pass =
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/');
                assert_eq!(must_escape(b, keep_slash), !pass, "{b:#04x} keep_slash={keep_slash}");
                for pos in 0..FLAG_CHUNK {
                    for fill in [b'a', b'%', 0xff] {
                        let mut chunk = [fill; FLAG_CHUNK];
                        chunk[pos] = b;
                        let expected = chunk
                            .iter()
                            .enumerate()
                            .filter(|&(_, &x)| must_escape(x, keep_slash))
                            .fold(0u128, |acc, (i, _)| acc | 1 << (8 * i));
                        assert_eq!(escape_flags(&chunk, keep_slash), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn chunked_encoding_matches_the_byte_by_byte_one() {
        // Every length around the 16-byte chunks, with an escape at every position, runs of
        // escapes, multi-byte characters across chunk edges, and appending after other text.
        let specials = ["=", " ", "/", "ü", "€", "%", "~", "😀"];
        for len in 0..70 {
            let plain: String = (0..len).map(|i| char::from(b"abcXYZ019-._"[i % 12])).collect();
            for keep_slash in [false, true] {
                let mut out = String::from("pre");
                uri_encode_into(&mut out, &plain, keep_slash);
                assert_eq!(out, format!("pre{}", reference_encode(&plain, keep_slash)));
                for pos in 0..=len {
                    for special in specials {
                        let mut key = plain.clone();
                        key.insert_str(pos, special);
                        key.push_str(special);
                        let mut out = String::from("pre");
                        uri_encode_into(&mut out, &key, keep_slash);
                        assert_eq!(out, format!("pre{}", reference_encode(&key, keep_slash)), "{key:?}");
                    }
                }
            }
        }
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        for keep_slash in [false, true] {
            assert_eq!(uri_encode(&all, keep_slash), reference_encode(&all, keep_slash));
        }
    }
}
