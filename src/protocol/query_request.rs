//! The body of `POST …/query`, read with proto3 JSON rules like the reference server: numbers
//! may come as strings, unknown fields are ignored, `null` means absent.

use crate::http::MAX_REQUEST_BODY_BYTES;
use serde_json::{Map, Value};

use super::ApiError;

/// A parsed query request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryRequest {
    /// Deprecated SQL hints (kept for the page-token checksum; not evaluated).
    pub predicate_hints: Vec<String>,
    /// JSON predicate hints (a JSON document in a string).
    pub json_predicate_hints: Option<String>,
    /// Best-effort row limit.
    pub limit_hint: Option<i64>,
    /// Snapshot version.
    pub version: Option<i64>,
    /// Snapshot timestamp text.
    pub timestamp: Option<String>,
    /// Streaming start version.
    pub starting_version: Option<i64>,
    /// Streaming end version.
    pub ending_version: Option<i64>,
    /// Page size; turns on pagination.
    pub max_files: Option<i32>,
    /// The previous page's token.
    pub page_token: Option<String>,
    /// Whether to return a refresh token.
    pub include_refresh_token: bool,
    /// A refresh token from an earlier response.
    pub refresh_token: Option<String>,
    /// Emit historical protocol lines (delta format, streaming).
    pub include_historical_protocol: bool,
    /// Async query key (`idempotencyKey` or `idempotency_key`).
    pub idempotency_key: Option<String>,
}

fn int64(obj: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| ApiError::malformed(format!("Not an int64 value: {n}")))
        }
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| ApiError::malformed(format!("Not a numeric value: {s}")))
        }
        Some(other) => Err(ApiError::malformed(format!("Not a numeric value: {other}"))),
    }
}

fn string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::malformed(format!("Expected a string for field {name} of QueryTableRequest"))),
    }
}

fn boolean(obj: &Map<String, Value>, name: &str) -> Result<bool, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
            Ok(s.eq_ignore_ascii_case("true"))
        }
        Some(_) => Err(ApiError::malformed(format!("Expected a boolean for field {name} of QueryTableRequest"))),
    }
}

impl QueryRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<QueryRequest, ApiError> {
        if body.len() > MAX_REQUEST_BODY_BYTES {
            return Err(ApiError::malformed("The request body is too large"));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::malformed("No content to map due to end-of-input"));
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("Invalid JSON body: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(ApiError::malformed("The request body must be a JSON object"));
        };
        let predicate_hints = match obj.get("predicateHints") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::malformed("Expected strings in repeated field predicateHints"))?,
            Some(_) => {
                return Err(ApiError::malformed(
                    "Expected an array for repeated field predicateHints of QueryTableRequest",
                ))
            }
        };
        let max_files = match int64(&obj, "maxFiles")? {
            None => None,
            Some(n) => Some(i32::try_from(n).map_err(|_| ApiError::malformed(format!("Not an int32 value: {n}")))?),
        };
        Ok(QueryRequest {
            predicate_hints,
            json_predicate_hints: string(&obj, "jsonPredicateHints")?,
            limit_hint: int64(&obj, "limitHint")?,
            version: int64(&obj, "version")?,
            timestamp: string(&obj, "timestamp")?,
            starting_version: int64(&obj, "startingVersion")?,
            ending_version: int64(&obj, "endingVersion")?,
            max_files,
            page_token: string(&obj, "pageToken")?,
            include_refresh_token: boolean(&obj, "includeRefreshToken")?,
            refresh_token: string(&obj, "refreshToken")?,
            include_historical_protocol: boolean(&obj, "includeHistoricalProtocol")?,
            idempotency_key: match string(&obj, "idempotencyKey")? {
                Some(k) => Some(k),
                None => string(&obj, "idempotency_key")?,
            },
        })
    }

    /// Checks the combinations the protocol forbids (history sharing is checked by the caller).
    pub fn validate(&self) -> Result<(), ApiError> {
        let set = [self.version.is_some(), self.timestamp.is_some(), self.starting_version.is_some()];
        if set.iter().filter(|&&b| b).count() > 1 {
            return Err(ApiError::invalid("Please only provide one of: version,timestamp,startingVersion"));
        }
        if self.version.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid("table version cannot be negative."));
        }
        if self.starting_version.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid("startingVersion cannot be negative."));
        }
        if let (Some(start), Some(end)) = (self.starting_version, self.ending_version) {
            if end < start {
                return Err(ApiError::invalid(format!(
                    "startingVersion({start}) must be smaller than or equal to endingVersion({end})"
                )));
            }
        }
        if self.max_files.is_some_and(|n| n <= 0) {
            return Err(ApiError::invalid("maxFiles must be positive."));
        }
        if self.limit_hint.is_some_and(|n| n < 0) {
            return Err(ApiError::invalid("limitHint cannot be negative."));
        }
        let time_travel = self.version.is_some() || self.timestamp.is_some() || self.starting_version.is_some();
        if self.include_refresh_token && time_travel {
            return Err(ApiError::invalid("includeRefreshToken cannot be used when querying a specific version."));
        }
        if self.refresh_token.is_some() && time_travel {
            return Err(ApiError::invalid("refreshToken cannot be used when querying a specific version."));
        }
        if self.page_token.is_some() && self.include_refresh_token {
            return Err(ApiError::invalid("includeRefreshToken must be used in the first page request."));
        }
        if self.page_token.is_some() && self.refresh_token.is_some() {
            return Err(ApiError::invalid("refreshToken must be used in the first page request."));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    #[test]
    fn accepts_numbers_as_strings_and_ignores_unknown_fields() {
        let q = QueryRequest::parse(br#"{"version":"3","limitHint":2,"whatever":[1],"timestamp":null}"#).unwrap();
        assert_eq!((q.version, q.limit_hint, q.timestamp), (Some(3), Some(2), None));
        assert_eq!(QueryRequest::parse(b"{}").unwrap(), QueryRequest::default());
        let q = QueryRequest::parse(br#"{"idempotency_key":"k","includeRefreshToken":true}"#).unwrap();
        assert_eq!((q.idempotency_key.as_deref(), q.include_refresh_token), (Some("k"), true));
    }

    #[test]
    fn refuses_wrong_types_with_the_reference_messages() {
        let err = |body: &str| QueryRequest::parse(body.as_bytes()).unwrap_err();
        assert_eq!(err(r#"{"version":"x3"}"#).message, "Not a numeric value: x3");
        assert_eq!(err(r#"{"version":"x3"}"#).code, ErrorCode::MalformedRequest);
        assert_eq!(
            err(r#"{"predicateHints":{}}"#).message,
            "Expected an array for repeated field predicateHints of QueryTableRequest"
        );
        assert_eq!(err("").message, "No content to map due to end-of-input");
        assert_eq!(err(r#"{"maxFiles":3000000000}"#).message, "Not an int32 value: 3000000000");
        assert!(err("[1]").message.contains("JSON object"));
        assert!(err("{").message.starts_with("Invalid JSON body"));
        assert!(err(r#"{"includeRefreshToken":3}"#).message.contains("boolean"));
    }

    #[test]
    fn validates_combinations() {
        let invalid = |body: &str| QueryRequest::parse(body.as_bytes()).unwrap().validate().unwrap_err().message;
        assert_eq!(
            invalid(r#"{"version":1,"timestamp":"2024-01-01T00:00:00Z"}"#),
            "Please only provide one of: version,timestamp,startingVersion"
        );
        assert_eq!(invalid(r#"{"version":-1}"#), "table version cannot be negative.");
        assert_eq!(invalid(r#"{"startingVersion":-1}"#), "startingVersion cannot be negative.");
        assert_eq!(
            invalid(r#"{"startingVersion":3,"endingVersion":2}"#),
            "startingVersion(3) must be smaller than or equal to endingVersion(2)"
        );
        assert_eq!(invalid(r#"{"maxFiles":0}"#), "maxFiles must be positive.");
        assert_eq!(
            invalid(r#"{"version":1,"includeRefreshToken":true}"#),
            "includeRefreshToken cannot be used when querying a specific version."
        );
        assert_eq!(
            invalid(r#"{"pageToken":"t","includeRefreshToken":true}"#),
            "includeRefreshToken must be used in the first page request."
        );
        assert_eq!(
            invalid(r#"{"pageToken":"t","refreshToken":"r"}"#),
            "refreshToken must be used in the first page request."
        );
        assert_eq!(
            invalid(r#"{"startingVersion":1,"refreshToken":"r"}"#),
            "refreshToken cannot be used when querying a specific version."
        );
    }
}
