//! Leaf helpers shared across the crate: lower-case hex, constant-time comparison and a hasher
//! for keys that are hashes already. This module imports nothing from the crate, so every layer
//! may use it.

/// Appends the lower-case hex form of `bytes`.
pub(crate) fn hex_into(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for chunk in bytes.chunks(32) {
        let digits = hex_digest_256(chunk);
        out.push_str(std::str::from_utf8(&digits[..chunk.len() * 2]).unwrap_or_default());
    }
}

/// Returns the lower-case hex form of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    hex_into(&mut out, bytes);
    out
}

/// The lower-case hex form of a 32-byte digest, on the stack.
pub(crate) fn hex_digest_256(digest: &[u8]) -> [u8; 64] {
    let mut out = [b'0'; 64];
    if let Some(digest) = digest.first_chunk::<32>() {
        hex_32(digest, &mut out);
    } else {
        hex_to_slice(digest, &mut out);
    }
    out
}

/// The lower-case hex digit of `n` (< 16), branch-free.
#[inline(always)]
fn hex_digit(n: u8) -> u8 {
    n + b'0' + u8::from(n > 9) * (b'a' - b'0' - 10)
}

/// Writes the lower-case hex form of `bytes` into the start of `out` (as far as it holds).
fn hex_to_slice(bytes: &[u8], out: &mut [u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = hex_digit(b >> 4);
        pair[1] = hex_digit(b & 0xf);
    }
}

/// Writes the lower-case hex form of a 32-byte digest (a fixed-size loop that compiles to
/// SIMD shuffles).
fn hex_32(digest: &[u8; 32], out: &mut [u8; 64]) {
    let (pairs, _) = out.as_chunks_mut::<2>();
    for (pair, &b) in pairs.iter_mut().zip(digest) {
        *pair = [hex_digit(b >> 4), hex_digit(b & 0xf)];
    }
}

/// The 32 bytes that 64 hex digits (either case) spell, such as a SHA-256 in the configuration.
pub(crate) fn parse_hex_32(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Written here because `ring::constant_time` is deprecated and the comparison is eight lines;
/// `black_box` keeps the optimiser from short-circuiting the fold.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// How many bytes [`for_each_flagged`] classifies per step.
pub(crate) const FLAG_CHUNK: usize = 16;

/// Calls `found(i)`, in increasing order, for each index `i` of `bytes` that `flags` flags.
/// `flags` classifies 16 bytes at once: byte `i` (little-endian) of its result is 1 when
/// `chunk[i]` is flagged (SIMD compares, or a fixed-size loop that compiles to them), so runs
/// of unflagged bytes cost one branch per 16 bytes. `pad` is a byte `flags` does not flag (it
/// fills a short tail's chunk).
#[inline(always)]
pub(crate) fn for_each_flagged(
    bytes: &[u8],
    flags: impl Fn(&[u8; FLAG_CHUNK]) -> u128,
    pad: u8,
    mut found: impl FnMut(usize),
) {
    let mut report = |mut flags: u128, chunk_start: usize| {
        while flags != 0 {
            found(chunk_start + flags.trailing_zeros() as usize / 8);
            flags &= flags - 1;
        }
    };
    let (chunks, tail) = bytes.as_chunks::<FLAG_CHUNK>();
    for (k, chunk) in chunks.iter().enumerate() {
        let flags = flags(chunk);
        if flags != 0 {
            report(flags, k * FLAG_CHUNK);
        }
    }
    if !tail.is_empty() {
        // The last 16 bytes when there are that many (less those already classified),
        // otherwise the tail padded.
        let flags = match bytes.last_chunk::<FLAG_CHUNK>() {
            Some(last) => flags(last) >> (8 * (FLAG_CHUNK - tail.len())),
            None => {
                let mut chunk = [pad; FLAG_CHUNK];
                chunk[..tail.len()].copy_from_slice(tail);
                flags(&chunk)
            }
        };
        if flags != 0 {
            report(flags, bytes.len() - tail.len());
        }
    }
}

/// The hasher of a map whose keys are already uniform hashes (a SHA-256 digest, or a keyed hash
/// of the caller's): it keeps their first eight bytes. For token digests a second, keyed hash
/// (SipHash) adds little: aiming a token's digest at a bucket takes many hashes, and the table
/// is only looked up, never grown from a request, so such a token costs a few more probes at
/// worst.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // The key, and for a digest before it its length (the same for every key).
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(first);
    }
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn hex_of_every_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), expected);
        for chunk in bytes.chunks(32) {
            let digits = hex_digest_256(chunk);
            assert_eq!(std::str::from_utf8(&digits).unwrap(), &expected[2 * chunk[0] as usize..][..64]);
        }
        assert_eq!(&hex_digest_256(&[0xab])[..4], b"ab00");
    }

    #[test]
    fn parses_what_hex_writes_and_refuses_the_rest() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(parse_hex_32(&hex(&bytes)), Some(bytes));
        assert_eq!(parse_hex_32(&hex(&bytes).to_uppercase()), Some(bytes));
        assert_eq!(parse_hex_32(&hex(&bytes[..31])), None);
        assert_eq!(parse_hex_32(&format!("{}g", &hex(&bytes)[..63])), None);
        assert_eq!(parse_hex_32(&format!("+{}", &hex(&bytes)[..63])), None);
    }

    #[test]
    fn compares_by_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
