//! `os_exchange`: one request in progress, driven by the host.

use super::{guard, os_result, os_str, set_error, slice_arg, str_arg};
use crate::exchange::{Exchange, IoNeed, IoResult, ObjectMeta, Poll};
use crate::http::ResponseHead;

/// One request in progress. Use it from one thread at a time.
pub struct os_exchange {
    inner: Exchange,
    audit_json: String,
    /// Reply headers given with `os_exchange_supply_http_header`, sent with the next
    /// `os_exchange_supply_http`.
    reply_headers: Vec<(String, String)>,
}

impl os_exchange {
    pub(super) fn new(inner: Exchange) -> os_exchange {
        os_exchange { inner, audit_json: String::new(), reply_headers: Vec::new() }
    }
}

/// What the host should do next (see `os_exchange_poll`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum os_event {
    /// Perform the IO `os_exchange_need` describes, then call one `os_exchange_supply_*`.
    OS_EVENT_NEED = 0,
    /// Send the head: `os_exchange_status`, `os_exchange_header_count`, `os_exchange_header`.
    OS_EVENT_HEAD = 1,
    /// Pull body bytes with `os_exchange_read` until it yields 0 bytes.
    OS_EVENT_BODY = 2,
    /// The exchange is over; `os_exchange_audit_json` describes it.
    OS_EVENT_DONE = 3,
}

/// The kind of IO needed.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum os_need_kind {
    /// List objects under `key` (a prefix) after `start_after`; answer
    /// `os_exchange_supply_listing` with all of them sorted by key.
    OS_NEED_LIST = 0,
    /// Read object `key` (the range when `has_range`); answer `os_exchange_supply_bytes`.
    OS_NEED_GET = 1,
    /// Look object `key` up; answer `os_exchange_supply_meta`.
    OS_NEED_HEAD = 2,
    /// Send an HTTPS request to a credential service, or a GET of an OpenID provider's
    /// discovery document or key set (`key` holds its URL; `store` is empty);
    /// read it with `os_exchange_need_http` and `os_exchange_need_http_header`, and answer
    /// `os_exchange_supply_http` with the reply whatever its status (or
    /// `os_exchange_supply_error` when it could not be sent). Its headers and body carry
    /// credentials: never log them.
    OS_NEED_HTTP = 3,
    /// Read the request body (asked only when the request had `body_pending`): answer
    /// `os_exchange_supply_bytes` with it, stopping after `body_limit + 1` bytes (a longer body
    /// is answered 413), or `os_exchange_supply_error` when it could not be read.
    OS_NEED_BODY = 4,
}

/// The HTTP request of an `OS_NEED_HTTP` need. Borrows from the exchange like `os_need`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct os_http_call {
    /// `GET` or `POST`.
    pub method: os_str,
    /// The absolute URL.
    pub url: os_str,
    /// How many headers `os_exchange_need_http_header` yields (`Host` and `Content-Length` are
    /// the host's to add).
    pub header_count: usize,
    /// The body.
    pub body: os_str,
}

/// An IO need. Its strings borrow from the exchange and stay valid until the next call on it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct os_need {
    /// What to do.
    pub kind: os_need_kind,
    /// The store name from the configuration.
    pub store: os_str,
    /// The object key, or the prefix for a listing.
    pub key: os_str,
    /// For listings: only keys after this one (empty when `has_start_after` is false).
    pub start_after: os_str,
    /// Whether `start_after` is set.
    pub has_start_after: bool,
    /// For reads: whether only `[range_start, range_end)` is wanted.
    pub has_range: bool,
    /// First byte of the range.
    pub range_start: u64,
    /// One past the last byte of the range.
    pub range_end: u64,
    /// For `OS_NEED_BODY`: the largest body the engine accepts.
    pub body_limit: usize,
}

/// One object, as the host supplies it.
#[repr(C)]
pub struct os_object_meta {
    /// Full key bytes.
    pub key: *const u8,
    /// Key length.
    pub key_len: usize,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, Unix milliseconds.
    pub last_modified_unix_ms: i64,
}

/// Advances the exchange and writes what the host should do next to `*out`.
///
/// # Safety
/// `ex` must be a live exchange; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_poll(ex: *mut os_exchange, out: *mut os_event) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        if out.is_null() {
            return os_result::OS_NULL_ARGUMENT;
        }
        let event = match ex.inner.poll() {
            Poll::Need(_) => os_event::OS_EVENT_NEED,
            Poll::Head(_) => os_event::OS_EVENT_HEAD,
            Poll::Body => os_event::OS_EVENT_BODY,
            Poll::Done(audit) => {
                // Built once: a string handed out by `os_exchange_audit_json` stays valid when
                // DONE is polled again.
                if ex.audit_json.is_empty() {
                    ex.audit_json = audit.to_json();
                }
                os_event::OS_EVENT_DONE
            }
        };
        *out = event;
        os_result::OS_OK
    })
}

/// Describes the pending IO need. `OS_INVALID_STATE` when the exchange is not waiting for IO.
///
/// # Safety
/// `ex` must be live; `out` writable. The strings in `*out` borrow from `ex`.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_need(ex: *const os_exchange, out: *mut os_need) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_ref() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        if out.is_null() {
            return os_result::OS_NULL_ARGUMENT;
        }
        // A need with only a kind, a store and a key; the other fields are filled in below.
        let plain = |kind, store: &str, key: &str| os_need {
            kind,
            store: os_str::of(store),
            key: os_str::of(key),
            start_after: os_str::of(""),
            has_start_after: false,
            has_range: false,
            range_start: 0,
            range_end: 0,
            body_limit: 0,
        };
        let need = match ex.inner.pending_need() {
            None => return os_result::OS_INVALID_STATE,
            Some(IoNeed::List { store, prefix, start_after }) => os_need {
                start_after: os_str::of(start_after.as_deref().unwrap_or("")),
                has_start_after: start_after.is_some(),
                ..plain(os_need_kind::OS_NEED_LIST, store, prefix)
            },
            Some(IoNeed::Get { store, key, range }) => os_need {
                has_range: range.is_some(),
                range_start: range.map_or(0, |r| r.start),
                range_end: range.map_or(0, |r| r.end),
                ..plain(os_need_kind::OS_NEED_GET, store, key)
            },
            Some(IoNeed::Head { store, key }) => plain(os_need_kind::OS_NEED_HEAD, store, key),
            Some(IoNeed::Http(call)) => plain(os_need_kind::OS_NEED_HTTP, "", &call.url),
            Some(IoNeed::RequestBody { max_bytes }) => {
                os_need { body_limit: *max_bytes, ..plain(os_need_kind::OS_NEED_BODY, "", "") }
            }
        };
        *out = need;
        os_result::OS_OK
    })
}

fn pending_http(ex: &os_exchange) -> Option<&crate::exchange::HttpCall> {
    match ex.inner.pending_need() {
        Some(IoNeed::Http(call)) => Some(call),
        _ => None,
    }
}

/// Describes the pending `OS_NEED_HTTP` request. `OS_INVALID_STATE` when the exchange is not
/// waiting for one.
///
/// # Safety
/// `ex` must be live; `out` writable. The strings in `*out` borrow from `ex` and stay valid until
/// the next call that changes it.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_need_http(ex: *const os_exchange, out: *mut os_http_call) -> os_result {
    guard(|| {
        let (Some(ex), false) = (ex.as_ref(), out.is_null()) else {
            return os_result::OS_NULL_ARGUMENT;
        };
        let Some(call) = pending_http(ex) else {
            return os_result::OS_INVALID_STATE;
        };
        *out = os_http_call {
            method: os_str::of(call.method),
            url: os_str::of(&call.url),
            header_count: call.headers.len(),
            body: os_str { ptr: call.body.as_ptr(), len: call.body.len() },
        };
        os_result::OS_OK
    })
}

/// Writes header `index` of the pending `OS_NEED_HTTP` request to `*name` and `*value`.
/// `OS_NOT_FOUND` when `index` is past the last header.
///
/// # Safety
/// `ex` must be live; `name` and `value` writable. The strings borrow from `ex` like
/// `os_exchange_need_http`'s.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_need_http_header(
    ex: *const os_exchange,
    index: usize,
    name: *mut os_str,
    value: *mut os_str,
) -> os_result {
    guard(|| {
        let (Some(ex), false, false) = (ex.as_ref(), name.is_null(), value.is_null()) else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match pending_http(ex) {
            Some(call) => write_header(&call.headers, index, name, value),
            None => os_result::OS_INVALID_STATE,
        }
    })
}

/// Points `name` and `value` at header `index`; `OS_NOT_FOUND` past the last one. Writes through
/// the raw pointers, so a caller passing the same pointer twice gets the value, not UB.
///
/// # Safety
/// `name` and `value` are non-NULL and writable.
unsafe fn write_header(headers: &[(String, String)], index: usize, name: *mut os_str, value: *mut os_str) -> os_result {
    let Some((n, v)) = headers.get(index) else {
        return os_result::OS_NOT_FOUND;
    };
    name.write(os_str::of(n));
    value.write(os_str::of(v));
    os_result::OS_OK
}

/// Adds a header of the reply to an `OS_NEED_HTTP` need (copied), before
/// `os_exchange_supply_http`. Optional: the engine reads only `Cache-Control` (how long an
/// OpenID provider's key set may be cached; one hour without it).
///
/// # Safety
/// `ex` must be live; `name` and `value` valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_http_header(
    ex: *mut os_exchange,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        if pending_http(ex).is_none() {
            set_error("the exchange is not waiting for an HTTP reply");
            return os_result::OS_INVALID_STATE;
        }
        match (str_arg(name, name_len), str_arg(value, value_len)) {
            (Ok(name), Ok(value)) => {
                ex.reply_headers.push((name.to_string(), value.to_string()));
                os_result::OS_OK
            }
            (Err(e), _) | (_, Err(e)) => e,
        }
    })
}

/// Answers an `OS_NEED_HTTP` need with the reply's status and body (copied), and the headers
/// given before with `os_exchange_supply_http_header`.
///
/// # Safety
/// `ex` must be live; `body` valid for `len` bytes (NULL allowed with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_http(
    ex: *mut os_exchange,
    status: u16,
    body: *const u8,
    len: usize,
) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match slice_arg(body, len) {
            Ok(body) => {
                let headers = std::mem::take(&mut ex.reply_headers);
                supply(ex, IoResult::Http(crate::exchange::HttpReply { status, body: body.to_vec(), headers }))
            }
            Err(e) => e,
        }
    })
}

fn supply(ex: &mut os_exchange, result: IoResult) -> os_result {
    ex.reply_headers.clear();
    match ex.inner.supply(result) {
        Ok(()) => os_result::OS_OK,
        Err(e) => {
            set_error(e.to_string());
            os_result::OS_INVALID_STATE
        }
    }
}

/// Answers a GET need with the object's bytes (copied).
///
/// # Safety
/// `ex` must be live; `data` valid for `len` bytes (NULL allowed with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_bytes(ex: *mut os_exchange, data: *const u8, len: usize) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match slice_arg(data, len) {
            Ok(bytes) => supply(ex, IoResult::Bytes(bytes.to_vec())),
            Err(e) => e,
        }
    })
}

unsafe fn meta(m: &os_object_meta) -> Result<ObjectMeta, os_result> {
    Ok(ObjectMeta {
        key: str_arg(m.key, m.key_len)?.to_string(),
        size: m.size,
        last_modified_ms: m.last_modified_unix_ms,
    })
}

/// Answers a LIST need with `count` entries (copied).
///
/// # Safety
/// `ex` must be live; `entries` valid for `count` items whose keys are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_listing(
    ex: *mut os_exchange,
    entries: *const os_object_meta,
    count: usize,
) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        let listing: Result<Vec<_>, _> = slice_arg(entries, count).and_then(|s| s.iter().map(|m| meta(m)).collect());
        match listing {
            Ok(list) => supply(ex, IoResult::Listing(list)),
            Err(e) => e,
        }
    })
}

/// Answers a HEAD need with the object's metadata (copied).
///
/// # Safety
/// `ex` must be live; `object` valid.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_meta(ex: *mut os_exchange, object: *const os_object_meta) -> os_result {
    guard(|| {
        let (Some(ex), Some(object)) = (ex.as_mut(), object.as_ref()) else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match meta(object) {
            Ok(m) => supply(ex, IoResult::Meta(m)),
            Err(e) => e,
        }
    })
}

/// Answers any need with "the object does not exist".
///
/// # Safety
/// `ex` must be live.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_not_found(ex: *mut os_exchange) -> os_result {
    guard(|| match ex.as_mut() {
        Some(ex) => supply(ex, IoResult::NotFound),
        None => os_result::OS_NULL_ARGUMENT,
    })
}

/// Answers any need with a failure. The message is for the host's log; clients never see it.
///
/// # Safety
/// `ex` must be live; `message` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_supply_error(ex: *mut os_exchange, message: *const u8, len: usize) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match str_arg(message, len) {
            Ok(m) => supply(ex, IoResult::Failed(m.to_string())),
            Err(e) => e,
        }
    })
}

/// Writes the response status to `*out`. `OS_INVALID_STATE` before `OS_EVENT_HEAD`.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_status(ex: *const os_exchange, out: *mut u16) -> os_result {
    guard(|| write_from_head(ex, out, |h| h.status))
}

/// Writes `read(head)` to `*out` once the exchange has its response head.
///
/// # Safety
/// `ex` must be NULL or live; `out` NULL or writable.
unsafe fn write_from_head<T>(ex: *const os_exchange, out: *mut T, read: impl Fn(&ResponseHead) -> T) -> os_result {
    let Some(ex) = ex.as_ref() else { return os_result::OS_NULL_ARGUMENT };
    match (ex.inner.head(), out.is_null()) {
        (_, true) => os_result::OS_NULL_ARGUMENT,
        (None, _) => os_result::OS_INVALID_STATE,
        (Some(h), false) => {
            *out = read(h);
            os_result::OS_OK
        }
    }
}

/// Writes the number of response headers to `*out`. `OS_INVALID_STATE` before `OS_EVENT_HEAD`.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_header_count(ex: *const os_exchange, out: *mut usize) -> os_result {
    guard(|| write_from_head(ex, out, |h| h.headers.len()))
}

/// Writes response header `index` to `*name` and `*value`; they borrow from `ex` until it is
/// freed. `OS_NOT_FOUND` past the last header.
///
/// # Safety
/// `ex` must be live; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_header(
    ex: *const os_exchange,
    index: usize,
    name: *mut os_str,
    value: *mut os_str,
) -> os_result {
    guard(|| {
        let (Some(ex), false, false) = (ex.as_ref(), name.is_null(), value.is_null()) else {
            return os_result::OS_NULL_ARGUMENT;
        };
        match ex.inner.head() {
            Some(head) => write_header(&head.headers, index, name, value),
            None => os_result::OS_INVALID_STATE,
        }
    })
}

/// Copies up to `cap` body bytes into `buf` and writes the count to `*out_len`; 0 means the
/// body is complete. `OS_INVALID_STATE` before the head was polled (`OS_EVENT_HEAD`). `buf` may
/// be uninitialised memory.
///
/// # Safety
/// `ex` must be live; `buf` valid for writes of `cap` bytes; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_read(
    ex: *mut os_exchange,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_mut() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        if out_len.is_null() || (buf.is_null() && cap > 0) {
            return os_result::OS_NULL_ARGUMENT;
        }
        if ex.inner.head().is_none() {
            set_error("os_exchange_read before OS_EVENT_HEAD: there is no body yet");
            return os_result::OS_INVALID_STATE;
        }
        let n = if cap == 0 {
            0
        } else {
            ex.inner.read_uninit(std::slice::from_raw_parts_mut(buf.cast::<std::mem::MaybeUninit<u8>>(), cap))
        };
        *out_len = n;
        os_result::OS_OK
    })
}

/// Writes the audit event (one line of JSON) to `*out`; it borrows from `ex` until it is freed.
/// `OS_INVALID_STATE` before `OS_EVENT_DONE`.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_audit_json(ex: *const os_exchange, out: *mut os_str) -> os_result {
    guard(|| {
        let Some(ex) = ex.as_ref() else {
            return os_result::OS_NULL_ARGUMENT;
        };
        if out.is_null() {
            return os_result::OS_NULL_ARGUMENT;
        }
        if ex.audit_json.is_empty() {
            return os_result::OS_INVALID_STATE;
        }
        *out = os_str::of(&ex.audit_json);
        os_result::OS_OK
    })
}

/// Frees an exchange, finished or not. NULL does nothing.
///
/// # Safety
/// `ex` must come from `os_engine_handle` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn os_exchange_free(ex: *mut os_exchange) {
    let _ = guard(|| {
        if !ex.is_null() {
            drop(Box::from_raw(ex));
        }
        os_result::OS_OK
    });
}
