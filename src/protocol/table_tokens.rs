//! Signed refresh tokens and query page tokens for table reads.
//!
//! Both carry their own state and are sealed with the engine's token key (see
//! [`super::signed_token`]), so any instance with the same key accepts them, and a token for
//! another table, another query or past its expiry is refused with the protocol's message.

use serde::{Deserialize, Serialize};

use super::signed_token::TokenKey;
use super::ApiError;

const REFRESH_PURPOSE: &str = "table-refresh";
const PAGE_PURPOSE: &str = "table-page";

/// What a refresh token pins: the table and the snapshot version whose files it re-signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshState {
    /// The table the token is bound to (its id and full name).
    #[serde(rename = "t")]
    pub table: String,
    /// The snapshot version.
    #[serde(rename = "v")]
    pub version: i64,
    /// Expiry, Unix milliseconds.
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
}

/// Seals a refresh token.
pub fn seal_refresh(key: &TokenKey, state: &RefreshState) -> String {
    key.seal(REFRESH_PURPOSE, &serde_json::to_vec(state).unwrap_or_default())
}

/// Opens a refresh token for `table` at `now_ms`.
pub fn open_refresh(key: &TokenKey, token: &str, table: &str, now_ms: i64) -> Result<RefreshState, ApiError> {
    let state: RefreshState = key
        .open(REFRESH_PURPOSE, token)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::invalid("Error decoding refresh token"))?;
    if state.table != table {
        return Err(ApiError::invalid(
            "The table specified in the refresh token does not match the table being queried.",
        ));
    }
    if now_ms >= state.expires_at_ms {
        return Err(ApiError::invalid("The refresh token has expired. Please restart the query."));
    }
    Ok(state)
}

/// Where the next page of a paginated query starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageState {
    /// The table the token is bound to (its id and full name).
    #[serde(rename = "t")]
    pub table: String,
    /// The snapshot version (or the starting version for streaming queries), so every page
    /// reads the same data.
    #[serde(rename = "v")]
    pub version: i64,
    /// The end of the version range for streaming queries.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub end_version: Option<i64>,
    /// SHA-256 (hex) of the query parameters other than the page fields.
    #[serde(rename = "c")]
    pub checksum: String,
    /// Index of the first action of the next page.
    #[serde(rename = "i")]
    pub next_index: u64,
    /// Expiry, Unix milliseconds.
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
}

/// Seals a query page token.
pub fn seal_page(key: &TokenKey, state: &PageState) -> String {
    key.seal(PAGE_PURPOSE, &serde_json::to_vec(state).unwrap_or_default())
}

/// Opens a query page token for `table` whose parameters hash to `checksum`.
pub fn open_page(key: &TokenKey, token: &str, table: &str, checksum: &str, now_ms: i64) -> Result<PageState, ApiError> {
    let state: PageState =
        key.open(PAGE_PURPOSE, token).and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or_else(|| {
            ApiError::invalid("Error decoding the page token: the token is malformed or was not issued here.")
        })?;
    if state.table != table {
        return Err(ApiError::invalid("The table specified in the page token does not match the table being queried."));
    }
    if state.checksum != checksum {
        return Err(ApiError::invalid(
            "Query parameter mismatch detected for the next page query. The query parameter cannot change when querying the next page results.",
        ));
    }
    if now_ms >= state.expires_at_ms {
        return Err(ApiError::invalid("The page token has expired. Please restart the query."));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_bound_to_table_and_time() {
        let key = TokenKey::new(&[1; 32]);
        let token = seal_refresh(&key, &RefreshState { table: "t1".into(), version: 4, expires_at_ms: 100 });
        assert_eq!(open_refresh(&key, &token, "t1", 99).unwrap().version, 4);
        assert!(open_refresh(&key, &token, "t2", 0).unwrap_err().message.contains("does not match"));
        assert!(open_refresh(&key, &token, "t1", 100).unwrap_err().message.contains("expired"));
        assert_eq!(open_refresh(&key, "garbage", "t1", 0).unwrap_err().message, "Error decoding refresh token");
        let page = seal_page(
            &key,
            &PageState {
                table: "t1".into(),
                version: 4,
                end_version: None,
                checksum: "c".into(),
                next_index: 1,
                expires_at_ms: 100,
            },
        );
        assert!(open_refresh(&key, &page, "t1", 0).is_err(), "a page token is not a refresh token");
    }

    #[test]
    fn page_tokens_are_bound_to_table_parameters_and_time() {
        let key = TokenKey::new(&[1; 32]);
        let state = PageState {
            table: "t1".into(),
            version: 4,
            end_version: Some(6),
            checksum: "abc".into(),
            next_index: 7,
            expires_at_ms: 100,
        };
        let token = seal_page(&key, &state);
        assert_eq!(open_page(&key, &token, "t1", "abc", 0).unwrap(), state);
        assert!(open_page(&key, &token, "t2", "abc", 0).unwrap_err().message.contains("does not match"));
        assert!(open_page(&key, &token, "t1", "xyz", 0).unwrap_err().message.contains("mismatch"));
        assert!(open_page(&key, &token, "t1", "abc", 100).unwrap_err().message.contains("expired"));
        assert!(open_page(&key, "x.y", "t1", "abc", 0)
            .unwrap_err()
            .message
            .starts_with("Error decoding the page token"));
    }
}
