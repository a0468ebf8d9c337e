//! List pagination: `maxResults` parsing and signed, stateless page tokens.
//!
//! A page token records who asked (recipient), which list (route, share, schema), where the next
//! page starts and when the token expires. It is sealed with the engine's token key, so any
//! instance with the same key continues the listing, and a token replayed on another list, by
//! another recipient, after expiry or after tampering is refused.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::signed_token::TokenKey;

/// Items per page when `maxResults` is absent.
pub const DEFAULT_MAX_RESULTS: usize = 500;
/// The largest `maxResults` accepted.
pub const MAX_MAX_RESULTS: usize = 1000;

const PURPOSE: &str = "list-page";

/// Parses the `maxResults` query parameter.
pub fn parse_max_results(value: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = value else {
        return Ok(DEFAULT_MAX_RESULTS);
    };
    let n: i64 = text
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("expected a number but the string didn't have the appropriate format"))?;
    usize::try_from(n).ok().filter(|&n| n <= MAX_MAX_RESULTS).ok_or_else(|| {
        ApiError::invalid(format!(
            "Acceptable values of 'maxResults' are 0 to {MAX_MAX_RESULTS}, inclusive. (Default: {DEFAULT_MAX_RESULTS})"
        ))
    })
}

/// What a page token is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListScope<'a> {
    /// The recipient name.
    pub recipient: &'a str,
    /// The list route, e.g. `list_tables`.
    pub route: &'a str,
    /// The share (case-folded), or empty.
    pub share: &'a str,
    /// The schema (case-folded), or empty.
    pub schema: &'a str,
}

#[derive(Serialize, Deserialize)]
struct PagePayload {
    r: String,
    l: String,
    s: String,
    c: String,
    o: usize,
    e: i64,
}

/// One page of a list of `total` items.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// The index range of the items on this page.
    pub range: std::ops::Range<usize>,
    /// The token of the next page, if there is one.
    pub next_token: Option<String>,
}

/// Everything needed to cut a page.
pub struct Pager<'a> {
    /// The engine's token key.
    pub key: &'a TokenKey,
    /// The current time.
    pub now_ms: i64,
    /// Token lifetime.
    pub ttl_ms: i64,
}

impl Pager<'_> {
    /// Cuts the page that `page_token` (or the start) points at.
    pub fn page(
        &self,
        scope: &ListScope<'_>,
        total: usize,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<Page, ApiError> {
        let start = match page_token.filter(|t| !t.is_empty()) {
            None => 0,
            Some(token) => self.open(scope, token, total)?,
        };
        let end = start.saturating_add(max_results).min(total);
        let next_token = (end < total).then(|| self.seal(scope, end));
        Ok(Page { range: start..end, next_token })
    }

    fn seal(&self, scope: &ListScope<'_>, offset: usize) -> String {
        let payload = PagePayload {
            r: scope.recipient.into(),
            l: scope.route.into(),
            s: scope.share.into(),
            c: scope.schema.into(),
            o: offset,
            e: self.now_ms.saturating_add(self.ttl_ms),
        };
        self.key.seal(PURPOSE, &serde_json::to_vec(&payload).unwrap_or_default())
    }

    fn open(&self, scope: &ListScope<'_>, token: &str, total: usize) -> Result<usize, ApiError> {
        let invalid = || ApiError::invalid("invalid 'nextPageToken'");
        let bytes = self.key.open(PURPOSE, token).ok_or_else(invalid)?;
        let p: PagePayload = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let bound = p.r == scope.recipient && p.l == scope.route && p.s == scope.share && p.c == scope.schema;
        if !bound || p.o > total {
            return Err(invalid());
        }
        if self.now_ms >= p.e {
            return Err(ApiError::invalid("The page token has expired. Please restart the listing."));
        }
        Ok(p.o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_max_results() {
        assert_eq!(parse_max_results(None).unwrap(), 500);
        assert_eq!(parse_max_results(Some("0")).unwrap(), 0);
        assert_eq!(parse_max_results(Some("1000")).unwrap(), 1000);
        assert!(parse_max_results(Some("1001")).unwrap_err().message.contains("0 to 1000"));
        assert!(parse_max_results(Some("-1")).is_err());
        assert!(parse_max_results(Some("ten")).unwrap_err().message.contains("expected a number"));
    }

    #[test]
    fn pages_and_binds_tokens() {
        let key = TokenKey::new(&[7; 32]);
        let pager = Pager { key: &key, now_ms: 0, ttl_ms: 1000 };
        let scope = ListScope { recipient: "r", route: "list_shares", share: "", schema: "" };
        let first = pager.page(&scope, 3, 2, None).unwrap();
        assert_eq!(first.range, 0..2);
        let token = first.next_token.unwrap();
        let second = pager.page(&scope, 3, 2, Some(&token)).unwrap();
        assert_eq!(second, Page { range: 2..3, next_token: None });
        let other = ListScope { recipient: "x", ..scope.clone() };
        assert!(pager.page(&other, 3, 2, Some(&token)).is_err());
        let late = Pager { key: &key, now_ms: 1000, ttl_ms: 1000 };
        assert!(late.page(&scope, 3, 2, Some(&token)).unwrap_err().message.contains("expired"));
        assert!(pager.page(&scope, 1, 2, Some(&token)).is_err(), "offset past the end");
    }
}
