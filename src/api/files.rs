//! The files surface of directory assets: volumes, skills and model versions are each "a prefix
//! in a store". One listing, page by page with signed URLs, and one redirect to a file's signed
//! URL serve all three; the asset kind only decides the route and the root.
//!
//! This extends the protocol (the specs hand out credentials only):
//! - `GET {asset}/files?prefix=&maxResults=&pageToken=` answers
//!   `{"items":[{"path","size","modificationTime","url","expirationTimestamp"}],"nextPageToken"}`,
//!   recursive and sorted by path, `path` relative to the asset root;
//! - `GET|HEAD {asset}/files/{path}` answers `307` with `Location:` the signed URL.
//!
//! Each page is one bounded listing need (`max_keys` = `maxResults`), so a volume of millions
//! of files is never listed whole. The page token is sealed like the other page tokens and bound
//! to the recipient, the asset root and the prefix.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::credentials::locate;
use super::discovery::resolve_asset;
use super::{error_response, Ctx, Dispatch};
use crate::catalog::AssetFamily;
use crate::exchange::{Body, BodyStream, IoNeed, IoResult, Listing, Operation, Response, Turn};
use crate::http::{ResponseHead, CONTENT_TYPE_JSON};
use crate::protocol::paging::{parse_max_results, MAX_MAX_RESULTS};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::{AssetPath, VersionRef};
use crate::signing::store::UrlBatch;
use crate::state::EngineState;

const PURPOSE: &str = "files-page";

/// Which files request: the listing, or one file by its path relative to the root.
pub(super) struct FilesRequest<'a> {
    pub path: &'a AssetPath,
    pub family: AssetFamily,
    pub version: Option<&'a VersionRef>,
    pub file: Option<&'a str>,
}

/// Answers a files route.
pub(super) fn start(ctx: &Ctx<'_>, request: &FilesRequest<'_>) -> Dispatch {
    match prepare(ctx, request) {
        Ok(op) => Dispatch::Operate(op),
        Err(e) => Dispatch::Respond(error_response(&e)),
    }
}

fn prepare(ctx: &Ctx<'_>, request: &FilesRequest<'_>) -> Result<Box<dyn Operation>, ApiError> {
    let (_, _, asset) = resolve_asset(ctx, request.path, request.family)?;
    let location = locate(ctx, asset, request.version)?;
    let root = if location.prefix.is_empty() { String::new() } else { format!("{}/", location.prefix) };
    let store = ctx.state.stores.get(location.store_name).ok_or_else(ApiError::internal)?;
    let batch = store.signer.batch(ctx.now_ms, ctx.state.catalog.url_ttl_seconds).map_err(|e| {
        ApiError::new(ErrorCode::UnsupportedOperation, format!("this asset's files cannot be shared by URL: {e}"))
    })?;
    let at = Place { state: ctx.state.clone(), store: location.store_name.to_string(), root, batch };
    if let Some(file) = request.file {
        let key = format!("{}{file}", at.root);
        return Ok(Box::new(Redirect { at, key, file: file.to_string() }));
    }
    let query = ctx.request.query_pairs();
    let max_results = parse_max_results(query.get("maxResults").as_deref())?;
    if max_results == 0 {
        return Err(ApiError::invalid(format!(
            "Acceptable values of 'maxResults' are 1 to {MAX_MAX_RESULTS}, inclusive."
        )));
    }
    let prefix = query.get("prefix").map(|p| p.into_owned()).unwrap_or_default();
    check_prefix(&prefix)?;
    let scope = Scope { r: ctx.recipient.name.clone(), a: asset.id.clone(), t: at.root.clone(), p: prefix };
    let start_after = match query.get("pageToken").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => Some(scope.open(ctx.state, token.as_ref(), ctx.now_ms)?),
    };
    Ok(Box::new(ListFiles { at, scope, start_after, max: max_results, now_ms: ctx.now_ms }))
}

/// Refuses a `prefix` that could leave the root: a leading `/`, `.` or `..` segments, empty
/// segments (a trailing `/` is fine: "this directory").
fn check_prefix(prefix: &str) -> Result<(), ApiError> {
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    if prefix.is_empty() {
        return Ok(());
    }
    let bad = body.split('/').any(|s| s.is_empty() || s == "." || s == "..") || prefix.contains('\0');
    if bad {
        return Err(ApiError::invalid(
            "'prefix' must be a relative path without '.', '..' or empty segments, e.g. 'docs/2026/'",
        ));
    }
    Ok(())
}

/// The asset root a files request works in, and the URLs it signs.
struct Place {
    state: Arc<EngineState>,
    store: String,
    /// The root's key prefix, ending in `/` (empty for a store's whole bucket).
    root: String,
    batch: UrlBatch,
}

impl Place {
    fn failed(&self, why: &str) -> Response {
        let mut r = error_response(&ApiError::internal());
        r.detail = Some(format!("store '{}': {why}", self.store));
        r
    }
}

/// What a files page token is bound to, and where the next page starts (`k`, relative).
#[derive(Serialize, Deserialize)]
struct Scope {
    r: String,
    a: String,
    t: String,
    p: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(flatten)]
    scope: Scope,
    k: String,
    e: i64,
}

impl Scope {
    fn bound(&self, other: &Scope) -> bool {
        self.r == other.r && self.a == other.a && self.t == other.t && self.p == other.p
    }

    /// The full key a token says to list after.
    fn open(&self, state: &EngineState, token: &str, now_ms: i64) -> Result<String, ApiError> {
        let invalid = || ApiError::invalid("invalid 'pageToken'");
        let bytes = state.token_key.open(PURPOSE, token).ok_or_else(invalid)?;
        let t: Token = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if !t.scope.bound(self) {
            return Err(invalid());
        }
        if now_ms >= t.e {
            return Err(ApiError::invalid("The page token has expired. Please restart the listing."));
        }
        Ok(format!("{}{}", self.t, t.k))
    }

    fn seal(&self, state: &EngineState, after: &str, now_ms: i64) -> String {
        let ttl_ms = i64::from(state.catalog.page_token_ttl_seconds) * 1000;
        let token = Token {
            scope: Scope { r: self.r.clone(), a: self.a.clone(), t: self.t.clone(), p: self.p.clone() },
            k: after.to_string(),
            e: now_ms.saturating_add(ttl_ms),
        };
        state.token_key.seal(PURPOSE, &serde_json::to_vec(&token).unwrap_or_default())
    }
}

/// One page of the listing.
struct ListFiles {
    at: Place,
    scope: Scope,
    /// The full key to list after.
    start_after: Option<String>,
    max: usize,
    now_ms: i64,
}

impl Operation for ListFiles {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        let listing = match input {
            None => {
                return Turn::Need(IoNeed::List {
                    store: self.at.store.clone(),
                    prefix: format!("{}{}", self.at.root, self.scope.p),
                    start_after: self.start_after.clone(),
                    max_keys: Some(self.max),
                })
            }
            Some(IoResult::Listing(listing)) => listing,
            Some(IoResult::NotFound) => Listing::default(),
            Some(IoResult::Failed(why)) => return Turn::Respond(self.at.failed(&why)),
            Some(_) => return Turn::Respond(self.at.failed("a listing was answered with something else")),
        };
        Turn::Respond(self.page(listing).unwrap_or_else(|e| error_response(&e)))
    }
}

impl ListFiles {
    fn page(&self, listing: Listing) -> Result<Response, ApiError> {
        let after = self.start_after.as_deref();
        let Listing { entries, continue_after } = listing;
        // A host that answered more than asked is cut here, as if it had said where to go on.
        let mut page = Listing::page(entries, Some(self.max));
        if page.continue_after.is_none() {
            page.continue_after = continue_after;
        }
        if let Some(next) = &page.continue_after {
            if after.is_some_and(|a| next.as_str() <= a) {
                return Ok(self.at.failed("the listing did not advance past its start"));
            }
        }
        let mut body = String::with_capacity(64 + page.entries.len() * 400);
        body.push_str("{\"items\":[");
        let mut urls = 0u64;
        let expires = self.at.batch.expires_at_ms;
        for entry in &page.entries {
            let Some(path) = entry.key.strip_prefix(self.at.root.as_str()) else { continue };
            if path.is_empty() || after.is_some_and(|a| entry.key.as_str() <= a) {
                continue;
            }
            if urls > 0 {
                body.push(',');
            }
            body.push_str("{\"path\":");
            push_json_str(&mut body, path);
            let _ = write!(body, ",\"size\":{},\"modificationTime\":{},\"url\":\"", entry.size, entry.last_modified_ms);
            self.at.batch.sign_into(&entry.key, &mut body).map_err(|e| ApiError::invalid(e.to_string()))?;
            let _ = write!(body, "\",\"expirationTimestamp\":{expires}}}");
            urls += 1;
        }
        body.push(']');
        let next = page.continue_after.as_deref().and_then(|k| k.strip_prefix(self.at.root.as_str()));
        if let Some(next) = next {
            body.push_str(",\"nextPageToken\":");
            push_json_str(&mut body, &self.scope.seal(&self.at.state, next, self.now_ms));
        }
        body.push('}');
        let head = ResponseHead {
            status: 200,
            headers: vec![
                ("Content-Type".into(), CONTENT_TYPE_JSON.into()),
                ("Content-Length".into(), body.len().to_string().into()),
            ],
        };
        Ok(signed(head, body.into_bytes(), urls))
    }
}

/// The redirect to one file.
struct Redirect {
    at: Place,
    key: String,
    file: String,
}

impl Operation for Redirect {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        match input {
            None => Turn::Need(IoNeed::Head { store: self.at.store.clone(), key: self.key.clone() }),
            Some(IoResult::Meta(_)) => {
                let mut url = String::new();
                if let Err(e) = self.at.batch.sign_into(&self.key, &mut url) {
                    return Turn::Respond(error_response(&ApiError::invalid(e.to_string())));
                }
                let head = ResponseHead {
                    status: 307,
                    headers: vec![
                        ("Location".into(), url.into()),
                        ("Cache-Control".into(), "no-store".into()),
                        ("Content-Length".into(), "0".into()),
                    ],
                };
                Turn::Respond(signed(head, Vec::new(), 1))
            }
            Some(IoResult::NotFound) => {
                Turn::Respond(error_response(&ApiError::not_found(format!("file '{}' not found", self.file))))
            }
            Some(IoResult::Failed(why)) => Turn::Respond(self.at.failed(&why)),
            Some(_) => Turn::Respond(self.at.failed("a lookup was answered with something else")),
        }
    }
}

/// A response whose body carries `urls` signed URLs (counted in the audit event).
fn signed(head: ResponseHead, body: Vec<u8>, urls: u64) -> Response {
    Response { head, body: Body::Stream(Box::new(Signed { body: Some(body), urls })), error_code: None, detail: None }
}

struct Signed {
    body: Option<Vec<u8>>,
    urls: u64,
}

impl BodyStream for Signed {
    fn next_chunk(&mut self, out: &mut Vec<u8>) -> bool {
        if let Some(body) = self.body.take() {
            out.extend_from_slice(&body);
        }
        false
    }

    fn urls_signed(&self) -> u64 {
        self.urls
    }
}

/// Appends `s` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stay_inside_the_root() {
        for ok in ["", "docs/", "docs/2026", "a/b/c.txt", "x"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["/", "/etc", "..", "../x", "a/../b", "a//b", "./a", "a/./", "a\0"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escapes_paths_only_when_needed() {
        let mut out = String::new();
        push_json_str(&mut out, "a/b c.txt");
        push_json_str(&mut out, "q\"\\\n");
        assert_eq!(out, r#""a/b c.txt""q\"\\\n""#);
    }
}
