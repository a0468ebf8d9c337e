//! `GET|HEAD {prefix}/files/{store}/{key}?X-Amz-…`: a `local` store's file behind the URL the
//! engine signed for it.
//!
//! The engine owns every answer but the bytes: the signature (403 when missing, malformed,
//! wrong or expired; 404 for a path that names no file of a local store), the lookup
//! ([`IoNeed::Head`]; 404 when the object is missing), the `Range` header (one range: 206, or
//! 416 when nothing of the object satisfies it), the head and the audit event (route `file`).
//! The bytes are the host's to send from its store ([`Step::ServeFile`](crate::Step)), so they
//! never pass through the engine. `HEAD` gets the same head and no bytes.

use std::sync::Arc;

use super::error_response;
use crate::auth::AuditEvent;
use crate::catalog::StoreConfig;
use crate::exchange::{Body, ByteRange, Exchange, FileGrant, IoNeed, IoResult, ObjectMeta, Operation, Response, Turn};
use crate::http::{parse_range, Method, RangeAsk, Request, ResponseHead};
use crate::protocol::{ApiError, ErrorCode};
use crate::signing::local::FILES_SEGMENT;
use crate::state::EngineState;

/// The audit route of file requests.
const ROUTE: &str = "file";
/// What every file is sent as.
const CONTENT_TYPE: &str = "application/octet-stream";

/// The request target after the prefix (`/files/…?…`) when `request` is a file request.
pub(super) fn target<'a>(prefix: &str, request: &'a Request) -> Option<&'a str> {
    let rest = request.target.strip_prefix(prefix)?;
    rest.strip_prefix('/')?.strip_prefix(FILES_SEGMENT)?.starts_with('/').then_some(rest)
}

/// Answers a file request (`rest`: the target after the prefix).
pub(super) fn handle(
    state: &Arc<EngineState>,
    request: &Request,
    rest: &str,
    now_ms: i64,
    audit: AuditEvent,
) -> Exchange {
    let audit = AuditEvent { route: ROUTE, ..audit };
    let head_only = request.method == Method::Head;
    if !matches!(request.method, Method::Get | Method::Head) {
        let mut response = error_response(&ApiError::new(ErrorCode::MethodNotAllowed, "Use GET or HEAD for files"));
        response.head.headers.push(("Allow".into(), "GET, HEAD".into()));
        return Exchange::responding(response, head_only, audit);
    }
    let checked =
        state.local_signer.verify(rest, now_ms).and_then(|file| match state.catalog.stores.get(&file.store) {
            Some(StoreConfig::Local(_)) => Ok(file),
            _ => Err(crate::signing::local::LocalUrlError::NotFound),
        });
    match checked {
        Ok(file) => {
            let range = request.header_value("range").map(str::to_string);
            let op = ServeFile { store: file.store, key: file.key, range };
            Exchange::operating(Box::new(op), head_only, audit)
        }
        Err(e) => {
            let mut response = error_response(&ApiError::from(e));
            response.detail = Some(e.to_string());
            Exchange::responding(response, head_only, audit)
        }
    }
}

/// Looks the object up, then answers its head and hands the bytes to the host.
struct ServeFile {
    store: String,
    key: String,
    /// The `Range` header, as sent.
    range: Option<String>,
}

impl Operation for ServeFile {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        Turn::Respond(match input {
            None => return Turn::Need(IoNeed::Head { store: self.store.clone(), key: self.key.clone() }),
            Some(IoResult::Meta(meta)) => self.respond(&meta),
            Some(IoResult::NotFound) => error_response(&ApiError::not_found("No such file")),
            Some(IoResult::Failed(why)) => self.failed(&why),
            Some(_) => self.failed("a lookup was answered with something else"),
        })
    }
}

impl ServeFile {
    fn respond(&mut self, meta: &ObjectMeta) -> Response {
        let size = meta.size;
        let (status, range) = match parse_range(self.range.as_deref(), size) {
            RangeAsk::Whole => (200, ByteRange { start: 0, end: size }),
            RangeAsk::Part(start, end) => (206, ByteRange { start, end }),
            RangeAsk::Unsatisfiable => {
                let e = ApiError::invalid(format!("The range is outside the file ({size} bytes)"));
                let mut response = error_response(&e);
                response.head.status = 416;
                response.head.headers.push(("Content-Range".into(), format!("bytes */{size}").into()));
                return response;
            }
        };
        let mut headers = vec![
            ("Content-Type".into(), CONTENT_TYPE.into()),
            ("Content-Length".into(), range.len().to_string().into()),
            ("Accept-Ranges".into(), "bytes".into()),
        ];
        if status == 206 {
            headers.push(("Content-Range".into(), format!("bytes {}-{}/{size}", range.start, range.end - 1).into()));
        }
        if let Some(date) = http_date(meta.last_modified_ms) {
            headers.push(("Last-Modified".into(), date.into()));
        }
        let body = if range.is_empty() {
            Body::Empty
        } else {
            let store = std::mem::take(&mut self.store);
            let key = std::mem::take(&mut self.key);
            Body::File(Box::new(FileGrant { store, key, range, content_type: CONTENT_TYPE.into() }))
        };
        Response { head: ResponseHead { status, headers }, body, error_code: None, detail: None }
    }

    fn failed(&self, why: &str) -> Response {
        let mut response = error_response(&ApiError::internal());
        response.detail = Some(format!("store '{}': {why}", self.store));
        response
    }
}

/// `Last-Modified` form of a Unix time in milliseconds (RFC 9110 IMF-fixdate).
fn http_date(unix_ms: i64) -> Option<String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000)).ok()?.format(&format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_http_dates() {
        assert_eq!(http_date(1_767_225_600_999).as_deref(), Some("Thu, 01 Jan 2026 00:00:00 GMT"));
    }

    #[test]
    fn only_targets_under_files_are_file_requests() {
        let at = |t: &str| target("/delta-sharing", &Request::new(Method::Get, t)).map(str::to_string);
        assert_eq!(at("/delta-sharing/files/s/k?x=1").as_deref(), Some("/files/s/k?x=1"));
        for other in ["/delta-sharing/files", "/delta-sharing/filesX/s", "/delta-sharing/shares", "/files/s/k"] {
            assert_eq!(at(other), None, "{other}");
        }
    }
}
