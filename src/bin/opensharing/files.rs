//! Serves `local` store files behind the engine's signed URLs, with `HEAD` and `Range` (206).

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStoreExt};
use opensharing::signing::local::LocalUrlError;

use crate::serve::{full, log, now_ms, Host, HostBody};

fn status(code: u16, message: &'static str) -> hyper::Response<HostBody> {
    let body = serde_json::json!({"errorCode": if code == 403 { "PERMISSION_DENIED" } else { "RESOURCE_DOES_NOT_EXIST" }, "message": message});
    hyper::Response::builder()
        .status(code)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(full(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// Parses `Range: bytes=…` against an object of `size` bytes: `Ok(None)` for no (or an
/// unusable multi-range) header, `Err(())` when unsatisfiable.
fn parse_range(header: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            (size.saturating_sub(n), size)
        }
        (start, "") => (start.parse().map_err(|_| ())?, size),
        (start, last) => {
            let last: u64 = last.parse().map_err(|_| ())?;
            (start.parse().map_err(|_| ())?, last.saturating_add(1).min(size))
        }
    };
    if start >= end || start >= size {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// Answers a `{prefix}/files/…` request.
pub async fn serve(host: &Host, req: hyper::Request<Incoming>, target: &str) -> hyper::Response<HostBody> {
    let grant = match host.engine.verify_file_url(target, now_ms()) {
        Ok(g) => g,
        Err(LocalUrlError::Malformed) => return status(404, "No such file"),
        Err(LocalUrlError::BadSignature) => return status(403, "The request signature does not match"),
        Err(LocalUrlError::Expired) => return status(403, "The URL has expired"),
    };
    let stores = host.stores();
    let Some(store) = stores.get(&grant.store) else { return status(404, "No such file") };
    let path = StorePath::from(grant.key.as_str());
    let meta = match store.head(&path).await {
        Ok(m) => m,
        Err(object_store::Error::NotFound { .. }) => return status(404, "No such file"),
        Err(e) => {
            log(serde_json::json!({"event": "storage_error", "store": grant.store, "error": e.to_string()}));
            return status(404, "No such file");
        }
    };
    let range_header = req.headers().get(hyper::header::RANGE).and_then(|v| v.to_str().ok());
    let range = match parse_range(range_header, meta.size) {
        Ok(r) => r,
        Err(()) => {
            return hyper::Response::builder()
                .status(416)
                .header("Content-Range", format!("bytes */{}", meta.size))
                .body(full(Bytes::new()))
                .unwrap_or_default()
        }
    };
    let (start, end) = range.unwrap_or((0, meta.size));
    let mut response = hyper::Response::builder()
        .status(if range.is_some() { 206 } else { 200 })
        .header("Content-Length", end - start)
        .header("Accept-Ranges", "bytes")
        .header("Content-Type", "application/octet-stream");
    if range.is_some() {
        response = response.header("Content-Range", format!("bytes {start}-{}/{}", end - 1, meta.size));
    }
    if req.method() == hyper::Method::HEAD {
        // An empty body of unknown length, so hyper keeps the Content-Length header above.
        let none = futures_util::stream::empty::<Result<Frame<Bytes>, std::io::Error>>();
        return response.body(StreamBody::new(none).boxed_unsync()).unwrap_or_default();
    }
    let options = GetOptions { range: Some(GetRange::Bounded(start..end)), ..GetOptions::default() };
    match store.get_opts(&path, options).await {
        Ok(result) => {
            let stream = result.into_stream().map(|chunk| chunk.map(Frame::data).map_err(std::io::Error::other));
            response.body(StreamBody::new(stream).boxed_unsync()).unwrap_or_default()
        }
        Err(_) => status(404, "No such file"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn parses_ranges() {
        assert_eq!(parse_range(None, 10), Ok(None));
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Ok(Some((0, 4))));
        assert_eq!(parse_range(Some("bytes=4-"), 10), Ok(Some((4, 10))));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Ok(Some((7, 10))));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), Ok(Some((5, 10))));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Err(()));
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Ok(None));
    }
}
