//! HTTP request and response values. No sockets: a host fills a [`Request`] from whatever
//! server it runs and writes the [`ResponseHead`] back.

use std::borrow::Cow;

mod headers;
mod range;
pub use headers::Headers;
pub use range::{parse_range, RangeAsk};

/// An HTTP method. Methods the protocol never uses are kept as [`Method::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// Any other method.
    Other,
}

impl Method {
    /// Parses a method name (exact, upper-case as on the wire).
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// One request, as the host received it. `Debug` leaves out the values of headers that carry
/// credentials (`Authorization`, `Cookie`, `Proxy-Authorization`) and the body.
#[derive(Clone)]
pub struct Request {
    /// The request method.
    pub method: Method,
    /// The request target: path plus optional `?query`, exactly as sent.
    pub target: String,
    /// Header names and values, in order. Names are compared case-insensitively.
    pub headers: Headers,
    /// The request body (bounded by the host).
    pub body: Vec<u8>,
    /// The host has not read the body yet: the exchange asks for it with
    /// [`IoNeed::RequestBody`](crate::IoNeed::RequestBody) once the request is authenticated
    /// and routed. When `false`, `body` is the whole body.
    pub body_pending: bool,
    /// The peer address, for the audit event only.
    pub peer: Option<String>,
}

/// Headers whose values are credentials.
const SECRET_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let secret = SECRET_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s));
                (name, if secret { "<redacted>" } else { value })
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .field("body_pending", &self.body_pending)
            .field("peer", &self.peer)
            .finish()
    }
}

impl Request {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, target: impl Into<String>) -> Request {
        Request {
            method,
            target: target.into(),
            headers: Headers::new(),
            body: Vec::new(),
            body_pending: false,
            peer: None,
        }
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Request {
        self.headers.push(name.as_ref(), value.as_ref());
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The path part of the target (before `?`).
    pub fn path(&self) -> &str {
        &self.target[..self.query_start().unwrap_or(self.target.len())]
    }

    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> Query<'_> {
        Query { raw: self.query_start().map_or("", |at| &self.target[at + 1..]) }
    }

    /// Where `?` is in the target. A byte search: targets are short, and `str::split_once`'s
    /// general searcher cost more than the rest of routing a request.
    fn query_start(&self) -> Option<usize> {
        self.target.bytes().position(|b| b == b'?')
    }
}

/// The query string of a request.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    raw: &'a str,
}

impl<'a> Query<'a> {
    /// The first decoded value of parameter `name` (names are exact, as in the protocol).
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        url::form_urlencoded::parse(self.raw.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Decodes one `%XX`-encoded path segment. `+` stays `+`. Returns `None` for bytes that do not
/// form UTF-8.
pub fn decode_segment(segment: &str) -> Option<Cow<'_, str>> {
    percent_encoding::percent_decode_str(segment).decode_utf8().ok()
}

/// The status line and headers of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The HTTP status code.
    pub status: u16,
    /// Header names and values, in order. Names and most values are constants the engine
    /// writes (`Content-Type`, its JSON value): they are borrowed, not allocated per response.
    pub headers: Vec<(HeaderText, HeaderText)>,
}

/// A response header's name or value: a constant, or text made for this response.
pub type HeaderText = Cow<'static, str>;

impl ResponseHead {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

/// The largest request body the engine accepts (a `/query` body is a few KiB).
pub const MAX_REQUEST_BODY_BYTES: usize = 1 << 20;

/// `Content-Type` of one-line JSON bodies.
pub const CONTENT_TYPE_JSON: &str = "application/json; charset=utf-8";
/// `Content-Type` of Delta table responses.
pub const CONTENT_TYPE_NDJSON: &str = "application/x-ndjson; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_target_and_decodes_query() {
        let r = Request::new(Method::Get, "/a/b?maxResults=10&pageToken=a%2Bb&x");
        assert_eq!(r.path(), "/a/b");
        assert_eq!(r.query_pairs().get("maxResults").as_deref(), Some("10"));
        assert_eq!(r.query_pairs().get("pageToken").as_deref(), Some("a+b"));
        assert_eq!(r.query_pairs().get("x").as_deref(), Some(""));
        assert_eq!(r.query_pairs().get("nope"), None);
    }

    #[test]
    fn debug_output_hides_credentials() {
        let r = Request::new(Method::Get, "/shares")
            .header("authorization", "Bearer s3cret-token")
            .header("Cookie", "session=s3cret-cookie")
            .header("Accept", "application/json")
            .body("{\"s3cret\": 1}");
        let text = format!("{r:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("application/json") && text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn decodes_segments_without_touching_plus() {
        assert_eq!(decode_segment("a%20b+c").as_deref(), Some("a b+c"));
        assert_eq!(decode_segment("%ff"), None);
    }
}
