//! Serves `local` store files behind the engine's signed URLs: `GET` (200), `HEAD`
//! (Content-Length), and one `Range: bytes=a-b | a- | -n` (206 with Content-Range; 416 when
//! unsatisfiable). Files are streamed from disk in 64 KiB pieces, never loaded whole.

use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT_RANGES, ALLOW, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RANGE,
};
use hyper::{Method, StatusCode};
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt};
use opensharing::protocol::{ApiError, ErrorCode};

use crate::body::{HostBody, CHUNK};
use crate::config_file::now_ms;
use crate::log::{self, RequestLog};
use crate::service::{error, host_audit, Host, Response};
use crate::storage::error_chain;

const ROUTE: &str = "file";

/// What a `Range` header asks of an object of a given size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeAsk {
    /// No usable header (absent, another unit, or several ranges): the whole object.
    Whole,
    /// Bytes `[start, end)`.
    Part(u64, u64),
    /// Nothing of the object satisfies it.
    Unsatisfiable,
}

/// Parses `Range: bytes=…` against an object of `size` bytes.
fn parse_range(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return RangeAsk::Whole };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let bounds = match spec.split_once('-') {
        Some((first, "")) => number(first).map(|start| (start, size)),
        Some(("", suffix)) => number(suffix).map(|n| (size.saturating_sub(n), if n == 0 { 0 } else { size })),
        Some((first, last)) => match (number(first), number(last)) {
            (Some(start), Some(last)) if last >= start => Some((start, last.saturating_add(1).min(size))),
            _ => None,
        },
        None => None,
    };
    match bounds {
        Some((start, end)) if start < end => RangeAsk::Part(start, end),
        _ => RangeAsk::Unsatisfiable,
    }
}

/// `Last-Modified` form of a Unix time.
fn http_date(unix_seconds: i64) -> Option<String> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(unix_seconds).ok()?.format(&format).ok()
}

/// Reads `[start, start + len)` of `file` in pieces of at most 64 KiB, off the async threads.
fn read_file(file: std::fs::File, start: u64, len: u64) -> BoxStream<'static, io::Result<Bytes>> {
    futures_util::stream::try_unfold((file, start, len), |(file, pos, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let size = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; size];
            file.read_exact_at(&mut buf, pos).map(|()| (file, buf))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Some((Bytes::from(chunk), (file, pos + size as u64, left - size as u64))))
    })
    .boxed()
}

/// Answers a `{prefix}/files/…` request.
pub async fn serve(host: &Host, req: hyper::Request<Incoming>, peer: SocketAddr, log: RequestLog) -> Response {
    let head_only = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let e = ApiError::new(ErrorCode::MethodNotAllowed, "Use GET or HEAD for files");
            let mut response = error(ROUTE, peer, &e, log);
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
    };
    let target = req.uri().path_and_query().map_or_else(|| req.uri().path(), |pq| pq.as_str());
    let grant = match host.engine.verify_file_url(target, now_ms()) {
        Ok(grant) => grant,
        Err(e) => return error(ROUTE, peer, &ApiError::from(e), log),
    };
    let not_found = || ApiError::not_found("No such file");
    let stores = host.stores();
    if stores.escapes_root(&grant.store, &grant.key) {
        log::event("symlink_refused", serde_json::json!({"store": grant.store, "key": grant.key}));
        return error(ROUTE, peer, &not_found(), log);
    }
    let (Some(store), Ok(path)) = (stores.get(&grant.store).cloned(), StorePath::parse(&grant.key)) else {
        return error(ROUTE, peer, &not_found(), log);
    };
    let range = req.headers().get(RANGE).and_then(|v| v.to_str().ok()).map(str::to_string);
    match tokio::time::timeout(host.request_timeout, open(store, path, range.as_deref(), head_only)).await {
        Ok(Ok(opened)) => opened.respond(peer, log),
        Ok(Err(object_store::Error::NotFound { .. })) => error(ROUTE, peer, &not_found(), log),
        Ok(Err(e)) => {
            log::event("storage_error", serde_json::json!({"store": grant.store, "error": error_chain(&e)}));
            error(ROUTE, peer, &ApiError::internal(), log)
        }
        Err(_) => {
            let e = ApiError::new(ErrorCode::InternalError, "The request timed out reading storage");
            let mut response = error(ROUTE, peer, &e, log);
            *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
            response
        }
    }
}

/// An object looked up and, for a satisfiable GET, opened.
struct Opened {
    meta: object_store::ObjectMeta,
    range: RangeAsk,
    body: Option<BoxStream<'static, io::Result<Bytes>>>,
}

async fn open(
    store: Arc<dyn ObjectStore>,
    path: StorePath,
    range_header: Option<&str>,
    head_only: bool,
) -> object_store::Result<Opened> {
    let meta = store.head(&path).await?;
    let range = parse_range(range_header, meta.size);
    let (start, end) = match range {
        RangeAsk::Whole => (0, meta.size),
        RangeAsk::Part(start, end) => (start, end),
        RangeAsk::Unsatisfiable => return Ok(Opened { meta, range, body: None }),
    };
    if head_only || start == end {
        return Ok(Opened { meta, range, body: None });
    }
    let options = GetOptions { range: Some(GetRange::Bounded(start..end)), ..GetOptions::default() };
    let body = match store.get_opts(&path, options).await?.payload {
        GetResultPayload::File(file, _) => read_file(file, start, end - start),
        GetResultPayload::Stream(stream) => stream.map_err(io::Error::other).boxed(),
    };
    Ok(Opened { meta, range, body: Some(body) })
}

impl Opened {
    fn respond(self, peer: SocketAddr, log: RequestLog) -> Response {
        let size = self.meta.size;
        let (status, start, end) = match self.range {
            RangeAsk::Whole => (StatusCode::OK, 0, size),
            RangeAsk::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end),
            RangeAsk::Unsatisfiable => (StatusCode::RANGE_NOT_SATISFIABLE, 0, 0),
        };
        let audit = host_audit(ROUTE, peer, &log, status.as_u16(), None);
        let body = match self.body {
            Some(stream) => HostBody::stream(stream, audit, log),
            None => HostBody::full(Bytes::new(), audit, log),
        };
        let mut response = hyper::Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(end - start));
        let content_range = match self.range {
            RangeAsk::Whole => None,
            RangeAsk::Part(..) => Some(format!("bytes {start}-{}/{size}", end - 1)),
            RangeAsk::Unsatisfiable => Some(format!("bytes */{size}")),
        };
        if let Some(value) = content_range.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(CONTENT_RANGE, value);
        }
        if status == StatusCode::RANGE_NOT_SATISFIABLE {
            return response;
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        if let Some(value) = http_date(self.meta.last_modified.timestamp()).and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(LAST_MODIFIED, value);
        }
        if let Some(value) = self.meta.e_tag.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(ETAG, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        use RangeAsk::*;
        assert_eq!(parse_range(None, 10), Whole);
        assert_eq!(parse_range(Some("items=0-3"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Part(0, 4));
        assert_eq!(parse_range(Some("bytes=4-"), 10), Part(4, 10));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Part(7, 10));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Part(0, 10));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Part(5, 10));
        assert_eq!(parse_range(Some("bytes=9-9"), 10), Part(9, 10));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-3"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=3"), 10), Unsatisfiable);
    }

    #[test]
    fn formats_http_dates() {
        assert_eq!(http_date(1_767_225_600).as_deref(), Some("Thu, 01 Jan 2026 00:00:00 GMT"));
    }
}
