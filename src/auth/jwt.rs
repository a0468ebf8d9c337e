//! Compact JWS tokens (RFC 7515, RFC 7519): shape detection, bounded parsing and the
//! registered claims a recipient is matched on. Signatures are checked in [`super::jwk`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::jwk::{Alg, Jwk, VerifyError};

/// Longest token parsed; a longer one is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Whether `token` has the shape of a JWT: three base64url segments (the last may be empty)
/// whose first decodes to a JSON object. Opaque tokens fail on the first check that does not
/// hold, so they never reach the parser.
pub fn looks_like_jwt(token: &str) -> bool {
    let bytes = token.as_bytes();
    let mut dots = 0;
    for &b in bytes {
        match b {
            b'.' => dots += 1,
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            _ => return false,
        }
    }
    if dots != 2 {
        return false;
    }
    let header = token.split('.').next().unwrap_or_default();
    // Three bytes of the header are enough to see a `{` after optional white space.
    URL_SAFE_NO_PAD
        .decode(&header[..header.len().min(4)])
        .is_ok_and(|head| head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// Why a token was refused. The client always sees "invalid token"; [`JwtError::reason`] is for
/// the provider's audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three base64url segments of JSON.
    Malformed(&'static str),
    /// `alg` is `none`, HMAC or unknown.
    Algorithm(String),
    /// The header carries `crit` extensions, which this verifier does not implement.
    Critical,
    /// A required claim is missing or of the wrong type.
    Claim(&'static str),
}

impl JwtError {
    /// Why, in words, for the audit event.
    pub fn reason(&self) -> String {
        match self {
            JwtError::TooLarge => format!("token longer than {MAX_TOKEN_BYTES} bytes"),
            JwtError::Malformed(what) => format!("malformed JWT: {what}"),
            JwtError::Algorithm(alg) => format!("JWT algorithm {alg:?} is not accepted"),
            JwtError::Critical => "JWT header has crit extensions".into(),
            JwtError::Claim(claim) => format!("JWT claim {claim} missing or not valid"),
        }
    }
}

/// A parsed, not yet verified token.
#[derive(Debug)]
pub struct Jwt<'a> {
    /// The signature algorithm from the header.
    pub alg: Alg,
    /// The key id from the header.
    pub kid: Option<String>,
    /// The issuer (`iss`).
    pub iss: String,
    /// The subject (`sub`).
    pub sub: String,
    /// Expiry (`exp`), Unix seconds.
    pub exp: i64,
    /// Not-before (`nbf`), Unix seconds.
    pub nbf: Option<i64>,
    /// All claims, for `aud` and the claims a recipient lists.
    pub claims: Map<String, Value>,
    /// `header.payload`, the bytes the signature covers.
    signing_input: &'a [u8],
    signature: Vec<u8>,
}

impl<'a> Jwt<'a> {
    /// Parses a compact token. Size is checked first; JSON nesting is bounded by serde_json's
    /// recursion limit and the size.
    pub fn parse(token: &'a str) -> Result<Jwt<'a>, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed("not three segments"));
        };
        let decode = |segment: &str, what| URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::Malformed(what));
        let header: Map<String, Value> = serde_json::from_slice(&decode(header, "header is not base64url")?)
            .map_err(|_| JwtError::Malformed("header is not a JSON object"))?;
        let alg_name = header.get("alg").and_then(Value::as_str).ok_or(JwtError::Malformed("header has no alg"))?;
        let alg = Alg::parse(alg_name).ok_or_else(|| JwtError::Algorithm(alg_name.chars().take(16).collect()))?;
        if header.contains_key("crit") {
            return Err(JwtError::Critical);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(JwtError::Malformed("kid is not a string")),
        };
        let claims: Map<String, Value> = serde_json::from_slice(&decode(payload, "payload is not base64url")?)
            .map_err(|_| JwtError::Malformed("payload is not a JSON object"))?;
        let signature = decode(signature, "signature is not base64url")?;
        let text = |name: &'static str| match claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(JwtError::Claim(name)),
        };
        let (iss, sub) = (text("iss")?, text("sub")?);
        let exp = numeric_date(claims.get("exp")).ok_or(JwtError::Claim("exp"))?;
        let nbf = match claims.get("nbf") {
            None => None,
            value => Some(numeric_date(value).ok_or(JwtError::Claim("nbf"))?),
        };
        let signing_input = &token.as_bytes()[..token.rfind('.').unwrap_or_default()];
        Ok(Jwt { alg, kid, iss, sub, exp, nbf, claims, signing_input, signature })
    }

    /// Whether `aud` (a string or an array of strings) names one of `audiences`.
    pub fn has_audience(&self, audiences: &[String]) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(aud)) => audiences.iter().any(|a| a == aud),
            Some(Value::Array(list)) => {
                list.iter().any(|v| v.as_str().is_some_and(|aud| audiences.iter().any(|a| a == aud)))
            }
            _ => false,
        }
    }

    /// Whether claim `name` is `value`, or an array holding `value`.
    pub fn has_claim(&self, name: &str, value: &str) -> bool {
        match self.claims.get(name) {
            Some(Value::String(s)) => s == value,
            Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(value)),
            Some(Value::Bool(b)) => value == if *b { "true" } else { "false" },
            Some(Value::Number(n)) => n.to_string() == value,
            _ => false,
        }
    }

    /// Verifies the signature with `key`.
    pub fn verify(&self, key: &Jwk) -> Result<(), VerifyError> {
        key.verify(self.alg, self.signing_input, &self.signature)
    }
}

/// A NumericDate: seconds since the epoch, possibly fractional (truncated).
fn numeric_date(value: Option<&Value>) -> Option<i64> {
    let n = value?.as_number()?;
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(claims), b64("sig"))
    }

    const CLAIMS: &str = r#"{"iss":"https://idp","sub":"s","aud":["a","b"],"exp":2000000000,"nbf":1.5,"grp":["x"]}"#;

    #[test]
    fn detects_the_shape_only() {
        assert!(looks_like_jwt(&token(r#"{"alg":"RS256"}"#, "{}")));
        assert!(looks_like_jwt(&token(r#" {"alg":"RS256"}"#, "{}")));
        assert!(looks_like_jwt(&format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64("{}"))));
        for opaque in ["os_abcdef", "a.b.c", "eyJ.eyJ", "eyJ.a.b.c", "ey J.a.b", "", "..", "YWJj.YWJj.YWJj"] {
            assert!(!looks_like_jwt(opaque), "{opaque}");
        }
    }

    #[test]
    fn parses_registered_claims() {
        let t = token(r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#, CLAIMS);
        let jwt = Jwt::parse(&t).unwrap();
        assert_eq!(
            (jwt.alg, jwt.kid.as_deref(), jwt.iss.as_str(), jwt.sub.as_str()),
            (Alg::Es256, Some("k1"), "https://idp", "s")
        );
        assert_eq!((jwt.exp, jwt.nbf), (2_000_000_000, Some(1)));
        assert!(jwt.has_audience(&["b".into()]) && !jwt.has_audience(&["c".into()]));
        assert!(jwt.has_claim("grp", "x") && !jwt.has_claim("grp", "y") && !jwt.has_claim("none", "x"));
        assert_eq!(jwt.signing_input, t.rsplit_once('.').unwrap().0.as_bytes());
    }

    #[test]
    fn refuses_bad_tokens() {
        let cases = [
            (token(r#"{"alg":"none"}"#, CLAIMS), JwtError::Algorithm("none".into())),
            (token(r#"{"alg":"HS256"}"#, CLAIMS), JwtError::Algorithm("HS256".into())),
            (token(r#"{"alg":"RS256","crit":["b64"]}"#, CLAIMS), JwtError::Critical),
            (token(r#"{"alg":"RS256","kid":1}"#, CLAIMS), JwtError::Malformed("kid is not a string")),
            (token(r#"{"kid":"x"}"#, CLAIMS), JwtError::Malformed("header has no alg")),
            (token("[]", CLAIMS), JwtError::Malformed("header is not a JSON object")),
            (token(r#"{"alg":"RS256"}"#, r#"{"iss":"i","sub":"s"}"#), JwtError::Claim("exp")),
            (token(r#"{"alg":"RS256"}"#, r#"{"iss":"i","exp":1}"#), JwtError::Claim("sub")),
            (token(r#"{"alg":"RS256"}"#, r#"{"iss":"i","sub":"s","exp":"1"}"#), JwtError::Claim("exp")),
            (token(r#"{"alg":"RS256"}"#, r#"{"iss":"i","sub":"s","exp":1,"nbf":null}"#), JwtError::Claim("nbf")),
            (format!("{}.e30=.x", b64(r#"{"alg":"RS256"}"#)), JwtError::Malformed("payload is not base64url")),
            ("a.b".into(), JwtError::Malformed("not three segments")),
            ("x".repeat(MAX_TOKEN_BYTES + 1), JwtError::TooLarge),
        ];
        for (t, want) in cases {
            assert_eq!(Jwt::parse(&t).unwrap_err(), want, "{t}");
        }
    }
}
