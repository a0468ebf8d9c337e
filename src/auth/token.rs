//! Token hashing and constant-time comparison.

/// SHA-256 of a bearer token.
pub fn token_sha256(token: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Lower-case hex SHA-256 of a bearer token, the form the configuration stores.
pub fn token_sha256_hex(token: &str) -> String {
    crate::signing::encode::hex(&token_sha256(token))
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Written here because `ring::constant_time` is deprecated and the comparison is eight lines;
/// `black_box` keeps the optimiser from short-circuiting the fold.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_compares() {
        assert_eq!(token_sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
