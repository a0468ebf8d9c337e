//! Token hashing.

/// SHA-256 of a bearer token.
pub fn token_sha256(token: &str) -> [u8; 32] {
    crate::util::sha256(token.as_bytes())
}

/// Lower-case hex SHA-256 of a bearer token, the form the configuration stores.
pub fn token_sha256_hex(token: &str) -> String {
    crate::util::hex(&token_sha256(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_to_lower_case_hex() {
        assert_eq!(token_sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
