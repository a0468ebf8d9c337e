//! Request parameters of the table endpoints: time-travel bounds, `/changes` query parameters,
//! the `fileidhash` header.

use crate::http::Request;
use crate::protocol::timestamp::parse_rfc3339_ms;
use crate::protocol::ApiError;

/// Parses a protocol timestamp: ISO-8601 with an offset, or `yyyy-mm-dd hh:mm:ss[.f]` in UTC.
pub fn parse_timestamp(text: &str) -> Result<i64, ApiError> {
    let text = text.trim();
    parse_rfc3339_ms(text)
        .or_else(|| parse_rfc3339_ms(&format!("{}Z", text.replacen(' ', "T", 1))))
        .ok_or_else(|| ApiError::invalid(format!("Invalid startingTimestamp: {text}")))
}

/// A version or a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// A version.
    Version(i64),
    /// A time, ms.
    Timestamp(i64),
}

/// The parameters of `GET …/changes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangesParams {
    /// Where the range starts.
    pub start: Bound,
    /// Where it ends (latest when absent).
    pub end: Option<Bound>,
    /// Emit metadata changes inside the range.
    pub include_historical_metadata: bool,
}

fn flag(value: Option<&str>, name: &str) -> Result<bool, ApiError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid(format!("{name} must be true or false, not '{other}'"))),
    }
}

fn version(value: &str, name: &str) -> Result<i64, ApiError> {
    let v: i64 = value.trim().parse().map_err(|_| ApiError::invalid(format!("{name} is not a valid number.")))?;
    if v < 0 {
        return Err(ApiError::invalid(format!("{name} cannot be negative.")));
    }
    Ok(v)
}

impl ChangesParams {
    /// Reads the query parameters of a `/changes` request.
    pub fn parse(request: &Request) -> Result<ChangesParams, ApiError> {
        let q = request.query_pairs();
        let (sv, st) = (q.get("startingVersion"), q.get("startingTimestamp"));
        let start = match (sv.as_deref(), st.as_deref()) {
            (None, None) => return Err(ApiError::invalid("No startingVersion or startingTimestamp provided for CDF read.")),
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "Multiple starting arguments provided for CDF read. Please provide one of either startingTimestamp or startingVersion.",
                ))
            }
            (Some(v), None) => Bound::Version(version(v, "startingVersion")?),
            (None, Some(t)) => Bound::Timestamp(parse_timestamp(t)?),
        };
        let end = match (q.get("endingVersion").as_deref(), q.get("endingTimestamp").as_deref()) {
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "Multiple ending arguments provided for CDF read. Please provide one of either endingTimestamp or endingVersion.",
                ))
            }
            (Some(v), None) => Some(Bound::Version(version(v, "endingVersion")?)),
            (None, Some(t)) => Some(Bound::Timestamp(
                parse_timestamp(t).map_err(|_| ApiError::invalid(format!("Invalid endingTimestamp: {t}")))?,
            )),
        };
        if let Some(m) = q.get("maxFiles") {
            let n: i64 = m.trim().parse().map_err(|_| ApiError::invalid("maxFiles is not a valid number."))?;
            if n <= 0 {
                return Err(ApiError::invalid("maxFiles must be positive."));
            }
        }
        Ok(ChangesParams {
            start,
            end,
            include_historical_metadata: flag(
                q.get("includeHistoricalMetadata").as_deref(),
                "includeHistoricalMetadata",
            )?,
        })
    }
}

/// The file-id hash a client asked for with the `fileidhash` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileIdHash {
    /// 32 hex digits.
    Parquet,
    /// 64 hex digits (SHA-256 of the path).
    Delta,
}

impl FileIdHash {
    /// Reads the header (`None` when absent).
    pub fn parse(request: &Request) -> Result<Option<FileIdHash>, ApiError> {
        match request.header_value("fileidhash") {
            None => Ok(None),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "parquet" => Ok(Some(FileIdHash::Parquet)),
                "delta" => Ok(Some(FileIdHash::Delta)),
                _ => Err(ApiError::invalid(format!("Unsupported fileidhash: '{v}'"))),
            },
        }
    }

    /// The header value echoed back.
    pub fn as_str(self) -> &'static str {
        match self {
            FileIdHash::Parquet => "parquet",
            FileIdHash::Delta => "delta",
        }
    }

    /// The id of the file at log path `path`: stable across requests, formats and instances.
    /// Parquet ids are the first 16 bytes of the path's SHA-256 (the reference uses MD5, which
    /// `ring` does not offer; clients only need ids to be stable and unique per file).
    pub fn id(self, path: &str) -> String {
        let mut digits = [0u8; 64];
        self.id_of_digest_in(&crate::util::sha256(path.as_bytes()), &mut digits).to_owned()
    }

    /// The id of a file whose path's SHA-256 is `digest`, written into `digits` (on the
    /// caller's stack): a 100,000-file response allocates no string per id.
    pub fn id_of_digest_in<'a>(self, digest: &[u8; 32], digits: &'a mut [u8; 64]) -> &'a str {
        *digits = crate::util::hex_digest_256(digest);
        let len = match self {
            FileIdHash::Parquet => 32,
            FileIdHash::Delta => 64,
        };
        std::str::from_utf8(&digits[..len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn parses_both_timestamp_forms() {
        assert_eq!(parse_timestamp("2024-01-01T00:00:00Z").unwrap(), 1_704_067_200_000);
        assert_eq!(parse_timestamp("2024-01-01T01:00:00+01:00").unwrap(), 1_704_067_200_000);
        assert_eq!(parse_timestamp("2024-01-01 00:00:00.5").unwrap(), 1_704_067_200_500);
        assert!(parse_timestamp("yesterday").unwrap_err().message.starts_with("Invalid startingTimestamp"));
    }

    #[test]
    fn parses_changes_parameters() {
        let p = |q: &str| ChangesParams::parse(&Request::new(Method::Get, format!("/c?{q}")));
        let ok = p("startingVersion=1&endingVersion=3&includeHistoricalMetadata=True").unwrap();
        assert_eq!(
            (ok.start, ok.end, ok.include_historical_metadata),
            (Bound::Version(1), Some(Bound::Version(3)), true)
        );
        assert!(p("").unwrap_err().message.starts_with("No startingVersion"));
        assert!(p("startingVersion=1&startingTimestamp=2024-01-01T00:00:00Z")
            .unwrap_err()
            .message
            .starts_with("Multiple starting"));
        assert!(p("startingVersion=x").unwrap_err().message.contains("not a valid number"));
        assert!(p("startingVersion=1&maxFiles=0").unwrap_err().message.contains("positive"));
    }

    #[test]
    fn file_ids_are_stable_hex() {
        assert_eq!(FileIdHash::Parquet.id("a").len(), 32);
        assert_eq!(FileIdHash::Delta.id("a").len(), 64);
        assert_eq!(FileIdHash::Delta.id("a"), FileIdHash::Delta.id("a"));
        let r = Request::new(Method::Get, "/").header("fileidhash", "sha512");
        assert_eq!(FileIdHash::parse(&r).unwrap_err().message, "Unsupported fileidhash: 'sha512'");
    }
}
