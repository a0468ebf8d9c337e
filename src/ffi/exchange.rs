//! `opensharing_exchange`: one request in progress, driven by the host.

use super::error::{guard, guard_free, opensharing_result, FfiError};
use super::opensharing_str;
use super::ptr::{arg_mut, arg_ref, opt_str_arg, out_arg, slice_arg, str_arg};
use crate::exchange::{Exchange, HttpCall, IoNeed, IoResult, Listing, NeedId, ObjectMeta, Step};
use crate::http::ResponseHead;

/// One request in progress. Use it from one thread at a time.
pub struct opensharing_exchange {
    inner: Exchange,
    audit_json: String,
    /// The need the last `opensharing_exchange_poll` handed out, which
    /// `opensharing_exchange_need` describes.
    handed_out: Option<NeedId>,
    /// Reply headers given with `opensharing_exchange_supply_http_header`, each with the need it
    /// answers, sent with that need's `opensharing_exchange_supply_http`.
    reply_headers: Vec<(NeedId, (String, String))>,
}

/// Names one IO need of an exchange: `opensharing_need::id`, given back to every
/// `opensharing_exchange_supply_*` call that answers it. Ids are never reused within an exchange.
/// A call given an id that is not outstanding (never handed out, or answered already), or an
/// answer of another kind than the need asks for, returns `OPENSHARING_INVALID_STATE` and
/// answers nothing.
pub type opensharing_need_id = u64;

impl opensharing_exchange {
    pub(super) fn new(inner: Exchange) -> opensharing_exchange {
        opensharing_exchange { inner, audit_json: String::new(), handed_out: None, reply_headers: Vec::new() }
    }
}

/// What the host should do next (see `opensharing_exchange_poll`). 32 bits wide.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum opensharing_event {
    /// A need is handed out: perform the IO `opensharing_exchange_need` describes, now or
    /// concurrently, and answer it with one `opensharing_exchange_supply_*` call given its id. Each
    /// need is handed out once: poll again for the next one. A host that answers each need before
    /// polling again never sees `OPENSHARING_EVENT_WAIT`.
    OPENSHARING_EVENT_NEED = 0,
    /// Send the head: `opensharing_exchange_status`, `opensharing_exchange_header_count`, `opensharing_exchange_header`.
    OPENSHARING_EVENT_HEAD = 1,
    /// Pull body bytes with `opensharing_exchange_read` until it yields 0 bytes.
    OPENSHARING_EVENT_BODY = 2,
    /// The exchange is over; `opensharing_exchange_audit_json` describes it.
    OPENSHARING_EVENT_DONE = 3,
    /// Send the body yourself: the bytes of the local-store file `opensharing_exchange_file`
    /// describes, read from the store (`sendfile` and all), then poll again. Comes after
    /// `OPENSHARING_EVENT_HEAD`, instead of `OPENSHARING_EVENT_BODY`, for a `GET` of a signed
    /// local file URL (`{prefix}/files/…`).
    OPENSHARING_EVENT_SERVE_FILE = 4,
    /// Every outstanding need is handed out and none is answered yet: answer one of them, then
    /// poll again.
    OPENSHARING_EVENT_WAIT = 5,
}

/// The local-store file of an `OPENSHARING_EVENT_SERVE_FILE` event. Its strings borrow from the
/// exchange until it is freed.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct opensharing_file {
    /// The store name from the configuration (a local store: its directory is
    /// `opensharing_engine_local_store_root`).
    pub store: opensharing_str,
    /// The object key, decoded, safe to join to the store's root (no `.`, `..` or empty
    /// segments). Refuse it as for any need when a symbolic link leads it out of the root.
    pub key: opensharing_str,
    /// First byte to send.
    pub range_start: u64,
    /// One past the last byte to send (the head's `Content-Length` is `range_end - range_start`).
    pub range_end: u64,
    /// The `Content-Type` the head carries.
    pub content_type: opensharing_str,
}

/// The kind of IO needed. 32 bits wide.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum opensharing_need_kind {
    /// List the objects whose keys start with `key` (a key prefix; recursive: every object
    /// below it, however deep) and sort after `start_after`. Without `has_max_keys`, answer
    /// `opensharing_exchange_supply_listing` with all of them sorted by key; with it, answer
    /// `opensharing_exchange_supply_listing_page` with at most `max_keys` of them and where to continue.
    OPENSHARING_NEED_LIST = 0,
    /// Read object `key` (the range when `has_range`); answer `opensharing_exchange_supply_bytes`.
    OPENSHARING_NEED_GET = 1,
    /// Look object `key` up; answer `opensharing_exchange_supply_meta`.
    OPENSHARING_NEED_HEAD = 2,
    /// Send an HTTPS request to a credential service, or a GET of an OpenID provider's
    /// discovery document or key set (`key` holds its URL; `store` is empty);
    /// read it with `opensharing_exchange_need_http` and `opensharing_exchange_need_http_header`, and answer
    /// `opensharing_exchange_supply_http` with the reply whatever its status (or
    /// `opensharing_exchange_supply_error` when it could not be sent). Its headers and body carry
    /// credentials: never log them.
    OPENSHARING_NEED_HTTP = 3,
    /// Read the request body (asked only when the request had `body_pending`): answer
    /// `opensharing_exchange_supply_bytes` with it, stopping after `body_limit + 1` bytes (a longer body
    /// is answered 413), or `opensharing_exchange_supply_error` when it could not be read.
    OPENSHARING_NEED_BODY = 4,
}

/// The HTTP request of an `OPENSHARING_NEED_HTTP` need. Borrows from the exchange like `opensharing_need`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct opensharing_http_call {
    /// `GET` or `POST`.
    pub method: opensharing_str,
    /// The absolute URL.
    pub url: opensharing_str,
    /// How many headers `opensharing_exchange_need_http_header` yields (`Host` and `Content-Length` are
    /// the host's to add).
    pub header_count: usize,
    /// The body.
    pub body: opensharing_str,
}

/// An IO need. Its strings borrow from the exchange and stay valid until the need is answered.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct opensharing_need {
    /// The id to answer it with.
    pub id: opensharing_need_id,
    /// What to do.
    pub kind: opensharing_need_kind,
    /// The store name from the configuration.
    pub store: opensharing_str,
    /// The object key, or the prefix for a listing.
    pub key: opensharing_str,
    /// For listings: only keys after this one (empty when `has_start_after` is false).
    pub start_after: opensharing_str,
    /// Whether `start_after` is set.
    pub has_start_after: bool,
    /// For listings: whether at most `max_keys` entries are wanted (a page).
    pub has_max_keys: bool,
    /// The most entries one listing page may hold (at least 1).
    pub max_keys: usize,
    /// For reads: whether only `[range_start, range_end)` is wanted.
    pub has_range: bool,
    /// First byte of the range.
    pub range_start: u64,
    /// One past the last byte of the range.
    pub range_end: u64,
    /// For `OPENSHARING_NEED_BODY`: the largest body the engine accepts.
    pub body_limit: usize,
}

/// One object, as the host supplies it.
#[repr(C)]
pub struct opensharing_object_meta {
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
/// Ownership: borrows `ex` for the call.
///
/// # Safety
/// `ex` must be a live exchange; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_poll(
    ex: *mut opensharing_exchange,
    out: *mut opensharing_event,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let out = unsafe { out_arg(out, "out") }?;
        ex.handed_out = None;
        out.write(match ex.inner.poll() {
            Step::Need(id, _) => {
                ex.handed_out = Some(id);
                opensharing_event::OPENSHARING_EVENT_NEED
            }
            Step::Wait => opensharing_event::OPENSHARING_EVENT_WAIT,
            Step::Head(_) => opensharing_event::OPENSHARING_EVENT_HEAD,
            Step::Body => opensharing_event::OPENSHARING_EVENT_BODY,
            Step::ServeFile(_) => opensharing_event::OPENSHARING_EVENT_SERVE_FILE,
            Step::Done(audit) => {
                // Built once: a string handed out by `opensharing_exchange_audit_json` stays valid when
                // DONE is polled again.
                if ex.audit_json.is_empty() {
                    ex.audit_json = audit.to_json();
                }
                opensharing_event::OPENSHARING_EVENT_DONE
            }
        });
        Ok(())
    })
}

/// Outstanding need `id`, or the invalid-state error saying it is not one (never handed out, or
/// answered already).
fn outstanding(ex: &opensharing_exchange, id: opensharing_need_id) -> Result<&IoNeed, FfiError> {
    ex.inner
        .need(NeedId(id))
        .ok_or_else(|| FfiError::invalid_state(format!("IO need {id} is not outstanding (unknown or answered)")))
}

/// Describes the need the last `opensharing_exchange_poll` handed out (`OPENSHARING_EVENT_NEED`),
/// with its id. `OPENSHARING_INVALID_STATE` when that poll handed out no need, or when the need
/// is answered already.
///
/// Ownership: the strings in `*out` borrow from `ex` until the need is answered.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_need(
    ex: *const opensharing_exchange,
    out: *mut opensharing_need,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { out_arg(out, "out") }?;
        // A need with only a kind, a store and a key; the other fields are filled in below.
        let id = ex.handed_out.ok_or_else(|| {
            FfiError::invalid_state("the last poll handed out no need: poll until OPENSHARING_EVENT_NEED")
        })?;
        let plain = |kind, store: &str, key: &str| opensharing_need {
            id: id.0,
            kind,
            store: opensharing_str::of(store),
            key: opensharing_str::of(key),
            start_after: opensharing_str::of(""),
            has_start_after: false,
            has_max_keys: false,
            max_keys: 0,
            has_range: false,
            range_start: 0,
            range_end: 0,
            body_limit: 0,
        };
        out.write(match outstanding(ex, id.0)? {
            IoNeed::List { store, prefix, start_after, max_keys } => opensharing_need {
                start_after: opensharing_str::of(start_after.as_deref().unwrap_or("")),
                has_start_after: start_after.is_some(),
                has_max_keys: max_keys.is_some(),
                max_keys: max_keys.unwrap_or(0),
                ..plain(opensharing_need_kind::OPENSHARING_NEED_LIST, store, prefix)
            },
            IoNeed::Get { store, key, range } => opensharing_need {
                has_range: range.is_some(),
                range_start: range.map_or(0, |r| r.start),
                range_end: range.map_or(0, |r| r.end),
                ..plain(opensharing_need_kind::OPENSHARING_NEED_GET, store, key)
            },
            IoNeed::Head { store, key } => plain(opensharing_need_kind::OPENSHARING_NEED_HEAD, store, key),
            IoNeed::Http(call) => plain(opensharing_need_kind::OPENSHARING_NEED_HTTP, "", &call.url),
            IoNeed::RequestBody { max_bytes } => opensharing_need {
                body_limit: *max_bytes,
                ..plain(opensharing_need_kind::OPENSHARING_NEED_BODY, "", "")
            },
        });
        Ok(())
    })
}

/// Outstanding `OPENSHARING_NEED_HTTP` need `id`, or the invalid-state error saying it is not one.
fn outstanding_http(ex: &opensharing_exchange, id: opensharing_need_id) -> Result<&HttpCall, FfiError> {
    match outstanding(ex, id)? {
        IoNeed::Http(call) => Ok(call),
        need => Err(FfiError::invalid_state(format!("IO need {id} is {}, not an HTTP call", need_name(need)))),
    }
}

/// Describes the request of outstanding `OPENSHARING_NEED_HTTP` need `id`.
/// `OPENSHARING_INVALID_STATE` when `id` is not one.
///
/// Ownership: the strings in `*out` borrow from `ex` until the need is answered.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_need_http(
    ex: *const opensharing_exchange,
    id: opensharing_need_id,
    out: *mut opensharing_http_call,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { out_arg(out, "out") }?;
        let call = outstanding_http(ex, id)?;
        out.write(opensharing_http_call {
            method: opensharing_str::of(call.method),
            url: opensharing_str::of(&call.url),
            header_count: call.headers.len(),
            body: opensharing_str { ptr: call.body.as_ptr(), len: call.body.len() },
        });
        Ok(())
    })
}

/// Writes header `index` of the request of `OPENSHARING_NEED_HTTP` need `id` to `*name` and
/// `*value`. `OPENSHARING_NOT_FOUND` when `index` is past the last header;
/// `OPENSHARING_INVALID_STATE` when `id` is not an outstanding HTTP need.
///
/// Ownership: the strings borrow from `ex` like `opensharing_exchange_need_http`'s.
///
/// # Safety
/// `ex` must be live; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_need_http_header(
    ex: *const opensharing_exchange,
    id: opensharing_need_id,
    index: usize,
    name: *mut opensharing_str,
    value: *mut opensharing_str,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_ref(ex, "ex") }?;
        unsafe { write_header(&outstanding_http(ex, id)?.headers, index, name, value) }
    })
}

/// Points `name` and `value` at header `index`; `OPENSHARING_NOT_FOUND` past the last one. Writes
/// through the raw pointers, so a caller passing the same pointer twice gets the value, not UB.
///
/// # Safety
/// `name` and `value` are NULL or writable.
unsafe fn write_header<T: AsRef<str>>(
    headers: &[(T, T)],
    index: usize,
    name: *mut opensharing_str,
    value: *mut opensharing_str,
) -> Result<(), FfiError> {
    let (name, value) = (unsafe { out_arg(name, "name") }?, unsafe { out_arg(value, "value") }?);
    let (n, v) = headers.get(index).ok_or_else(|| FfiError::not_found(format!("no header {index}")))?;
    name.write(opensharing_str::of(n.as_ref()));
    value.write(opensharing_str::of(v.as_ref()));
    Ok(())
}

/// Adds a header of the reply to `OPENSHARING_NEED_HTTP` need `id`, before its
/// `opensharing_exchange_supply_http`. Optional: the engine reads only `Cache-Control` (how long an
/// OpenID provider's key set may be cached; one hour without it).
///
/// Ownership: `name` and `value` are copied.
///
/// # Safety
/// `ex` must be live; `name` and `value` valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_http_header(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        outstanding_http(ex, id)?;
        let header = (
            unsafe { str_arg(name, name_len, "name") }?.to_string(),
            unsafe { str_arg(value, value_len, "value") }?.to_string(),
        );
        ex.reply_headers.push((NeedId(id), header));
        Ok(())
    })
}

/// Answers `OPENSHARING_NEED_HTTP` need `id` with the reply's status and body, and the headers
/// given for it before with `opensharing_exchange_supply_http_header`.
///
/// Ownership: `body` is copied.
///
/// # Safety
/// `ex` must be live; `body` valid for `len` bytes (NULL allowed with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_http(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    status: u16,
    body: *const u8,
    len: usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let body = unsafe { slice_arg(body, len, "body") }?.to_vec();
        outstanding_http(ex, id)?;
        let headers = ex.reply_headers.iter().filter(|(of, _)| of.0 == id).map(|(_, h)| h.clone()).collect();
        supply(ex, id, IoResult::Http(crate::exchange::HttpReply { status, body, headers }))
    })
}

/// The need's kind as the C header names it, for error messages.
fn need_name(need: &IoNeed) -> &'static str {
    match need {
        IoNeed::List { .. } => "OPENSHARING_NEED_LIST",
        IoNeed::Get { .. } => "OPENSHARING_NEED_GET",
        IoNeed::Head { .. } => "OPENSHARING_NEED_HEAD",
        IoNeed::Http(_) => "OPENSHARING_NEED_HTTP",
        IoNeed::RequestBody { .. } => "OPENSHARING_NEED_BODY",
    }
}

/// Whether `result` is an answer to `need`: the kind of answer it asks for, "not found" or a
/// failure.
fn answers(need: &IoNeed, result: &IoResult) -> bool {
    matches!(
        (need, result),
        (_, IoResult::NotFound | IoResult::Failed(_))
            | (IoNeed::List { .. }, IoResult::Listing(_))
            | (IoNeed::Get { .. } | IoNeed::RequestBody { .. }, IoResult::Bytes(_))
            | (IoNeed::Head { .. }, IoResult::Meta(_))
            | (IoNeed::Http(_), IoResult::Http(_))
    )
}

/// Answers outstanding need `id`; `OPENSHARING_INVALID_STATE` when it is not one, or when
/// `result` is no answer to it.
fn supply(ex: &mut opensharing_exchange, id: opensharing_need_id, result: IoResult) -> Result<(), FfiError> {
    let need = outstanding(ex, id)?;
    if !answers(need, &result) {
        return Err(FfiError::invalid_state(format!("this answer does not fit IO need {id}, {}", need_name(need))));
    }
    ex.reply_headers.retain(|(of, _)| of.0 != id);
    ex.inner.supply(NeedId(id), result).map_err(|e| FfiError::invalid_state(e.to_string()))
}

/// Answers GET need `id` with the object's bytes, or BODY need `id` with the request body.
///
/// Ownership: `data` is copied.
///
/// # Safety
/// `ex` must be live; `data` valid for `len` bytes (NULL allowed with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_bytes(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    data: *const u8,
    len: usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let bytes = bytes::Bytes::copy_from_slice(unsafe { slice_arg(data, len, "data") }?);
        supply(ex, id, IoResult::Bytes(bytes))
    })
}

unsafe fn meta(m: &opensharing_object_meta, name: &str) -> Result<ObjectMeta, FfiError> {
    Ok(ObjectMeta {
        key: unsafe { str_arg(m.key, m.key_len, name) }?.to_string(),
        size: m.size,
        last_modified_ms: m.last_modified_unix_ms,
    })
}

/// Answers LIST need `id` with `count` entries: the complete listing.
///
/// Ownership: the entries are copied.
///
/// # Safety
/// `ex` must be live; `entries` valid for `count` items whose keys are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_listing(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    entries: *const opensharing_object_meta,
    count: usize,
) -> opensharing_result {
    unsafe { opensharing_exchange_supply_listing_page(ex, id, entries, count, std::ptr::null(), 0) }
}

/// Answers LIST need `id` with one page of `count` entries. When more objects remain,
/// `continue_after` (`continue_after_len` bytes) is the key the next page lists after, usually
/// the last entry's key; NULL (or length 0) says the listing is complete. A host may also list
/// one entry more than `max_keys` and pass NULL: the engine keeps `max_keys` and continues
/// after the last one kept.
///
/// Ownership: the entries and `continue_after` are copied.
///
/// # Safety
/// `ex` must be live; `entries` valid for `count` items whose keys are valid for their lengths;
/// `continue_after` valid for `continue_after_len` bytes (NULL allowed with length 0).
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_listing_page(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    entries: *const opensharing_object_meta,
    count: usize,
    continue_after: *const u8,
    continue_after_len: usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let entries = unsafe { slice_arg(entries, count, "entries") }?
            .iter()
            .map(|m| unsafe { meta(m, "entries[].key") })
            .collect::<Result<Vec<_>, _>>()?;
        let continue_after =
            unsafe { opt_str_arg(continue_after, continue_after_len, "continue_after") }?.filter(|s| !s.is_empty());
        supply(ex, id, IoResult::Listing(Listing { entries, continue_after: continue_after.map(str::to_string) }))
    })
}

/// Answers HEAD need `id` with the object's metadata.
///
/// Ownership: `object` is copied.
///
/// # Safety
/// `ex` must be live; `object` valid.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_meta(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    object: *const opensharing_object_meta,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let object = unsafe { meta(arg_ref(object, "object")?, "object.key") }?;
        supply(ex, id, IoResult::Meta(object))
    })
}

/// Answers need `id`, of any kind, with "the object does not exist".
///
/// Ownership: borrows `ex` for the call.
///
/// # Safety
/// `ex` must be live.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_not_found(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
) -> opensharing_result {
    guard(|| supply(unsafe { arg_mut(ex, "ex") }?, id, IoResult::NotFound))
}

/// Answers need `id`, of any kind, with a failure. The message is for the host's log; clients never see it.
///
/// Ownership: `message` is copied.
///
/// # Safety
/// `ex` must be live; `message` valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_supply_error(
    ex: *mut opensharing_exchange,
    id: opensharing_need_id,
    message: *const u8,
    len: usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let message = unsafe { str_arg(message, len, "message") }?.to_string();
        supply(ex, id, IoResult::Failed(message))
    })
}

/// Writes the response status to `*out`. `OPENSHARING_INVALID_STATE` before `OPENSHARING_EVENT_HEAD`.
///
/// Ownership: borrows `ex` for the call.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_status(
    ex: *const opensharing_exchange,
    out: *mut u16,
) -> opensharing_result {
    guard(|| {
        let out = unsafe { out_arg(out, "out") }?;
        out.write(head(unsafe { arg_ref(ex, "ex") }?)?.status);
        Ok(())
    })
}

/// The response head, or the invalid-state error saying it is not there yet.
fn head(ex: &opensharing_exchange) -> Result<&ResponseHead, FfiError> {
    ex.inner
        .head()
        .ok_or_else(|| FfiError::invalid_state("the response head is not ready: poll until OPENSHARING_EVENT_HEAD"))
}

/// Writes the number of response headers to `*out`. `OPENSHARING_INVALID_STATE` before `OPENSHARING_EVENT_HEAD`.
///
/// Ownership: borrows `ex` for the call.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_header_count(
    ex: *const opensharing_exchange,
    out: *mut usize,
) -> opensharing_result {
    guard(|| {
        let out = unsafe { out_arg(out, "out") }?;
        out.write(head(unsafe { arg_ref(ex, "ex") }?)?.headers.len());
        Ok(())
    })
}

/// Writes response header `index` to `*name` and `*value`. `OPENSHARING_NOT_FOUND` past the
/// last header; `OPENSHARING_INVALID_STATE` before `OPENSHARING_EVENT_HEAD`.
///
/// Ownership: the strings borrow from `ex` until it is freed.
///
/// # Safety
/// `ex` must be live; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_header(
    ex: *const opensharing_exchange,
    index: usize,
    name: *mut opensharing_str,
    value: *mut opensharing_str,
) -> opensharing_result {
    guard(|| unsafe { write_header(&head(arg_ref(ex, "ex")?)?.headers, index, name, value) })
}

/// Copies up to `cap` body bytes into `buf` and writes the count to `*out_len`; 0 means the
/// body is complete. `OPENSHARING_INVALID_STATE` outside the body: before the head was polled
/// (`OPENSHARING_EVENT_HEAD`), once a read has returned 0, and for a file the host sends itself
/// (`OPENSHARING_EVENT_SERVE_FILE`). `buf` may be uninitialised memory.
///
/// Ownership: the caller owns `buf`; nothing is retained.
///
/// # Safety
/// `ex` must be live; `buf` valid for writes of `cap` bytes; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_read(
    ex: *mut opensharing_exchange,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_mut(ex, "ex") }?;
        let out_len = unsafe { out_arg(out_len, "out_len") }?;
        if buf.is_null() && cap > 0 {
            return Err(FfiError::null("buf"));
        }
        if !ex.inner.in_body() {
            return Err(FfiError::invalid_state("there is no body to read: poll until OPENSHARING_EVENT_HEAD"));
        }
        let n = if cap == 0 {
            0
        } else {
            // SAFETY: `buf` is not NULL (checked above) and the caller promised `cap` writable
            // bytes; `MaybeUninit` allows them to be uninitialised.
            let buf = unsafe { std::slice::from_raw_parts_mut(buf.cast::<std::mem::MaybeUninit<u8>>(), cap) };
            ex.inner.read_uninit(buf)
        };
        out_len.write(n);
        Ok(())
    })
}

/// Describes the file to send after `OPENSHARING_EVENT_SERVE_FILE`. `OPENSHARING_INVALID_STATE`
/// before that event.
///
/// Ownership: the strings in `*out` borrow from `ex` until it is freed.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_file(
    ex: *const opensharing_exchange,
    out: *mut opensharing_file,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { out_arg(out, "out") }?;
        let file = ex.inner.file().ok_or_else(|| {
            FfiError::invalid_state("there is no file to send: poll until OPENSHARING_EVENT_SERVE_FILE")
        })?;
        out.write(opensharing_file {
            store: opensharing_str::of(&file.store),
            key: opensharing_str::of(&file.key),
            range_start: file.range.start,
            range_end: file.range.end,
            content_type: opensharing_str::of(&file.content_type),
        });
        Ok(())
    })
}

/// Writes the audit event (one line of JSON) to `*out`. `OPENSHARING_INVALID_STATE` before
/// `OPENSHARING_EVENT_DONE`.
///
/// Ownership: the string borrows from `ex` until it is freed.
///
/// # Safety
/// `ex` must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_audit_json(
    ex: *const opensharing_exchange,
    out: *mut opensharing_str,
) -> opensharing_result {
    guard(|| {
        let ex = unsafe { arg_ref(ex, "ex") }?;
        let out = unsafe { out_arg(out, "out") }?;
        if ex.audit_json.is_empty() {
            return Err(FfiError::invalid_state("the exchange is not done: poll until OPENSHARING_EVENT_DONE"));
        }
        out.write(opensharing_str::of(&ex.audit_json));
        Ok(())
    })
}

/// Frees an exchange, finished or not. NULL does nothing.
///
/// Ownership: takes `ex` back; it and every string borrowed from it must not be used afterwards.
///
/// # Safety
/// `ex` must come from `opensharing_engine_handle` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn opensharing_exchange_free(ex: *mut opensharing_exchange) {
    guard_free(|| {
        if !ex.is_null() {
            // SAFETY: the caller promised `ex` came from `opensharing_engine_handle` and is not
            // used afterwards.
            drop(unsafe { Box::from_raw(ex) });
        }
    });
}
