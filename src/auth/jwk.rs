//! JSON Web Keys (RFC 7517) and the signature algorithms accepted for JWTs (RFC 7518, RFC 8037),
//! all verified with `ring`.
//!
//! Only asymmetric algorithms exist here: `none` and every HMAC algorithm have no [`Alg`], so a
//! token naming them is refused before any key is looked at. A key is used only with the
//! algorithm its type and curve fit, and only with the `alg` it names, if it names one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

/// Most keys read from one JWKS; the rest are ignored.
const MAX_KEYS: usize = 64;
/// Largest JWKS (and discovery document) accepted, in bytes.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Largest RSA modulus accepted (bytes): 8192 bits, ring's limit.
const MAX_RSA_MODULUS_BYTES: usize = 1024;

/// A JWS algorithm this engine verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// The algorithm named by a JOSE `alg` value; `None` for `none`, HMAC and anything unknown.
    pub fn parse(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            _ => return None,
        })
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// The public part of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Material {
    /// `kty: RSA`: modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `kty: EC`, `crv: P-256`: the uncompressed point `04 || x || y`.
    P256(Vec<u8>),
    /// `kty: EC`, `crv: P-384`: the uncompressed point.
    P384(Vec<u8>),
    /// `kty: OKP`, `crv: Ed25519`: the 32-byte public key.
    Ed25519(Vec<u8>),
}

/// One signing key of a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    kid: Option<String>,
    /// The `alg` the key is restricted to, when it names one.
    alg: Option<String>,
    material: Material,
}

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The key's type or curve does not fit the algorithm, or the key names another `alg`.
    KeyMismatch,
    /// The signature is wrong.
    BadSignature,
}

impl Jwk {
    /// Whether the key may verify `alg`: type and curve fit, and its own `alg` (if any) agrees.
    pub fn fits(&self, alg: Alg) -> bool {
        let kind_fits = matches!(
            (&self.material, alg),
            (Material::Rsa { .. }, Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512)
                | (Material::P256(_), Alg::Es256)
                | (Material::P384(_), Alg::Es384)
                | (Material::Ed25519(_), Alg::EdDsa)
        );
        kind_fits && self.alg.as_deref().is_none_or(|a| a == alg.name())
    }

    /// Verifies `signature` over `message` with `alg`.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        if !self.fits(alg) {
            return Err(VerifyError::KeyMismatch);
        }
        let ok = match &self.material {
            Material::Rsa { n, e } => {
                let params = match alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    _ => &signature::RSA_PSS_2048_8192_SHA512,
                };
                RsaPublicKeyComponents { n, e }.verify(params, message, signature).is_ok()
            }
            Material::P256(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, signature).is_ok()
            }
            Material::P384(point) => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point).verify(message, signature).is_ok()
            }
            Material::Ed25519(key) => {
                UnparsedPublicKey::new(&signature::ED25519, key).verify(message, signature).is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

/// A key set: the signing keys of one issuer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Reads a JWKS document. Keys that are not for signatures, of an unsupported type, or
    /// malformed are skipped (a key set often mixes key types); a document that is not a JWKS,
    /// or that is larger than 256 KiB, is an error.
    pub fn parse(bytes: &[u8]) -> Result<Jwks, String> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("JWKS is larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("JWKS is not JSON: {e}"))?;
        Jwks::from_value(&doc)
    }

    /// Reads an already parsed JWKS (the inline `jwks` of an issuer).
    pub fn from_value(doc: &Value) -> Result<Jwks, String> {
        let list = doc.get("keys").and_then(Value::as_array).ok_or("JWKS has no \"keys\" array")?;
        let keys = list.iter().take(MAX_KEYS).filter_map(parse_key).collect();
        Ok(Jwks { keys })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys that may verify a token with `kid` (any key when the token names none) and `alg`.
    pub fn candidates<'a>(&'a self, kid: Option<&'a str>, alg: Alg) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)) && k.fits(alg))
    }

    /// Whether a key has this `kid`, whatever its type.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

fn parse_key(key: &Value) -> Option<Jwk> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    let bytes = |name: &str| text(name).and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = key.get("key_ops").and_then(Value::as_array) {
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let material = match (text("kty")?, text("crv")) {
        ("RSA", _) => {
            let n = strip_leading_zeros(bytes("n")?);
            let e = strip_leading_zeros(bytes("e")?);
            if n.len() < 256 || n.len() > MAX_RSA_MODULUS_BYTES || e.is_empty() || e.len() > 8 {
                return None;
            }
            Material::Rsa { n, e }
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let size = if crv == "P-256" { 32 } else { 48 };
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != size || y.len() != size {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if crv == "P-256" {
                Material::P256(point)
            } else {
                Material::P384(point)
            }
        }
        ("OKP", Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return None;
            }
            Material::Ed25519(x)
        }
        _ => return None,
    };
    Some(Jwk { kid: text("kid").map(str::to_string), alg: text("alg").map(str::to_string), material })
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_none_and_hmac() {
        for name in ["none", "HS256", "HS384", "HS512", "rs256", "", "ES512"] {
            assert_eq!(Alg::parse(name), None, "{name}");
        }
        for name in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"] {
            assert_eq!(Alg::parse(name).map(Alg::name), Some(name));
        }
    }

    #[test]
    fn skips_unusable_keys() {
        let jwks = Jwks::parse(
            br#"{"keys":[
              {"kty":"oct","k":"c2VjcmV0","kid":"h"},
              {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"short"},
              {"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"bad-point"},
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"},
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ok"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(jwks.len(), 1);
        assert!(jwks.has_kid("ok"));
        assert_eq!(jwks.candidates(Some("ok"), Alg::EdDsa).count(), 1);
        assert_eq!(jwks.candidates(Some("ok"), Alg::Es256).count(), 0);
        assert!(Jwks::parse(b"[]").is_err());
        assert!(Jwks::parse(b"{\"keys\":{}}").is_err());
        assert!(Jwks::parse(&vec![b' '; MAX_DOCUMENT_BYTES + 1]).is_err());
    }
}
