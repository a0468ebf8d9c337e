//! Deletion vector descriptors: where a `u` (relative, Z85-encoded UUID) vector's file lives.

const Z85: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decodes Z85 text (a multiple of 5 characters) into bytes.
fn z85_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(5) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 5 * 4);
    for chunk in text.as_bytes().chunks(5) {
        let mut value: u64 = 0;
        for &c in chunk {
            value = value * 85 + Z85.iter().position(|&z| z == c)? as u64;
        }
        out.extend_from_slice(&u32::try_from(value).ok()?.to_be_bytes());
    }
    Some(out)
}

/// The file of a `u` deletion vector, relative to the table root: the descriptor is a random
/// prefix followed by the Z85 form (20 characters) of the file's UUID.
pub fn relative_dv_path(path_or_inline_dv: &str) -> Option<String> {
    let split = path_or_inline_dv.len().checked_sub(20)?;
    let (prefix, encoded) = (path_or_inline_dv.get(..split)?, path_or_inline_dv.get(split..)?);
    let b = z85_decode(encoded)?;
    let h = crate::util::hex(&b);
    let uuid = format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]);
    Some(if prefix.is_empty() {
        format!("deletion_vector_{uuid}.bin")
    } else {
        format!("{prefix}/deletion_vector_{uuid}.bin")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_protocol_example() {
        // From the Delta protocol: "ab^-aqEH.-t@S}K{vb[*k^" → prefix "ab" and UUID
        // d2c639aa-8816-431a-aaf6-d3fe2512ff61.
        assert_eq!(
            relative_dv_path("ab^-aqEH.-t@S}K{vb[*k^").as_deref(),
            Some("ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin")
        );
        assert_eq!(relative_dv_path("short"), None);
        assert_eq!(relative_dv_path("ab~~~~~~~~~~~~~~~~~~~~"), None);
    }
}
