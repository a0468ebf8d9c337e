//! `opensharing_engine`: an engine handle, shareable between threads.

use super::exchange::opensharing_exchange;
use super::{guard, opensharing_bytes, opensharing_result, opt_str_arg, set_error, slice_arg, str_arg};
use crate::http::{Method, Request};
use crate::signing::local::LocalUrlError;
use crate::{Catalog, Engine};

/// An engine. Thread-safe: many threads may call `opensharing_engine_handle` and `opensharing_engine_reload` on
/// the same handle at once.
pub struct opensharing_engine {
    pub(super) inner: Engine,
}

/// One request header, borrowed for the duration of `opensharing_engine_handle`.
#[repr(C)]
pub struct opensharing_header {
    /// Header name bytes.
    pub name: *const u8,
    /// Header name length.
    pub name_len: usize,
    /// Header value bytes.
    pub value: *const u8,
    /// Header value length.
    pub value_len: usize,
}

/// A request, borrowed for the duration of `opensharing_engine_handle` (the engine copies what it keeps).
#[repr(C)]
pub struct opensharing_request {
    /// Method bytes, e.g. `GET`.
    pub method: *const u8,
    /// Method length.
    pub method_len: usize,
    /// Target bytes: path plus optional query, as received.
    pub target: *const u8,
    /// Target length.
    pub target_len: usize,
    /// Array of `header_count` headers (may be NULL when `header_count` is 0).
    pub headers: *const opensharing_header,
    /// Number of headers.
    pub header_count: usize,
    /// Body bytes (may be NULL when `body_len` is 0).
    pub body: *const u8,
    /// Body length.
    pub body_len: usize,
    /// The host has not read the body yet (then `body` must be empty): the exchange asks for
    /// it with `OPENSHARING_NEED_BODY` once the request is authenticated and routed, so an anonymous
    /// client never makes the host buffer a body.
    pub body_pending: bool,
    /// The peer address as text, e.g. `203.0.113.7:52100` or `[2001:db8::1]:443` (may be NULL:
    /// unknown). Audit events carry it, and recipients' IP access lists are checked against it
    /// (with `X-Forwarded-For` from `trusted_proxies`).
    pub peer: *const u8,
    /// Peer address length.
    pub peer_len: usize,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn parse_catalog(json: &str) -> Result<Catalog, opensharing_result> {
    Catalog::from_json(json.as_bytes(), &process_env).map_err(|e| {
        set_error(e.to_string());
        opensharing_result::OPENSHARING_INVALID_CONFIG
    })
}

/// Creates an engine from configuration JSON (`{"env": …}` secrets read the process
/// environment). On success `*out` owns a new engine: free it with `opensharing_engine_free`.
///
/// # Safety
/// `json` must be valid for `json_len` bytes; `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_new(
    json: *const u8,
    json_len: usize,
    out: *mut *mut opensharing_engine,
) -> opensharing_result {
    guard(|| {
        if out.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let catalog = match str_arg(json, json_len).and_then(parse_catalog) {
            Ok(c) => c,
            Err(e) => return e,
        };
        match Engine::new(catalog) {
            Ok(engine) => {
                *out = Box::into_raw(Box::new(opensharing_engine { inner: engine }));
                opensharing_result::OPENSHARING_OK
            }
            Err(e) => {
                set_error(e.to_string());
                opensharing_result::OPENSHARING_INVALID_CONFIG
            }
        }
    })
}

/// Replaces the engine's configuration atomically. Exchanges already started finish on the old
/// one. On failure the engine keeps serving its current configuration.
///
/// # Safety
/// `engine` must be a live engine; `json` valid for `json_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_reload(
    engine: *const opensharing_engine,
    json: *const u8,
    json_len: usize,
) -> opensharing_result {
    guard(|| {
        let Some(engine) = engine.as_ref() else {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        };
        match str_arg(json, json_len).and_then(parse_catalog) {
            Ok(catalog) => match engine.inner.reload(catalog) {
                Ok(()) => opensharing_result::OPENSHARING_OK,
                Err(e) => {
                    set_error(e.to_string());
                    opensharing_result::OPENSHARING_INVALID_CONFIG
                }
            },
            Err(e) => e,
        }
    })
}

/// Frees an engine. NULL does nothing. Exchanges created from it stay valid.
///
/// # Safety
/// `engine` must come from `opensharing_engine_new`/`opensharing_config_builder_build` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_free(engine: *mut opensharing_engine) {
    let _ = guard(|| {
        if !engine.is_null() {
            drop(Box::from_raw(engine));
        }
        opensharing_result::OPENSHARING_OK
    });
}

/// Starts handling a request at `now_unix_ms`. The request is copied; on success `*out` owns a
/// new exchange: drive it with `opensharing_exchange_poll` and free it with `opensharing_exchange_free`.
///
/// # Safety
/// `engine` must be live; every pointer in `request` valid for its length; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_handle(
    engine: *const opensharing_engine,
    request: *const opensharing_request,
    now_unix_ms: i64,
    out: *mut *mut opensharing_exchange,
) -> opensharing_result {
    guard(|| {
        let (Some(engine), Some(req)) = (engine.as_ref(), request.as_ref()) else {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        };
        if out.is_null() || (req.headers.is_null() && req.header_count > 0) || (req.body.is_null() && req.body_len > 0)
        {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let request = match copy_request(req) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let exchange = engine.inner.handle(request, now_unix_ms);
        *out = Box::into_raw(Box::new(opensharing_exchange::new(exchange)));
        opensharing_result::OPENSHARING_OK
    })
}

unsafe fn copy_request(req: &opensharing_request) -> Result<Request, opensharing_result> {
    let method = Method::parse(str_arg(req.method, req.method_len)?);
    let mut request = Request::new(method, str_arg(req.target, req.target_len)?);
    for h in slice_arg(req.headers, req.header_count)? {
        request.headers.push((str_arg(h.name, h.name_len)?.to_string(), str_arg(h.value, h.value_len)?.to_string()));
    }
    request.body = slice_arg(req.body, req.body_len)?.to_vec();
    request.body_pending = req.body_pending;
    request.peer = opt_str_arg(req.peer, req.peer_len)?.map(str::to_string);
    Ok(request)
}

/// Writes a Delta Sharing profile (`shareCredentialsVersion` 1) for `token` into `*out`, which
/// the caller frees with `opensharing_bytes_free`. `endpoint` may be NULL to use the configured one;
/// `expires_unix_ms` < 0 means no expiry.
///
/// # Safety
/// `engine` must be live; string pointers valid for their lengths; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_profile(
    engine: *const opensharing_engine,
    endpoint: *const u8,
    endpoint_len: usize,
    token: *const u8,
    token_len: usize,
    expires_unix_ms: i64,
    out: *mut opensharing_bytes,
) -> opensharing_result {
    guard(|| {
        let Some(engine) = engine.as_ref() else {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        };
        if out.is_null() || token.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let (endpoint, token) = match (opt_str_arg(endpoint, endpoint_len), str_arg(token, token_len)) {
            (Ok(e), Ok(t)) => (e, t),
            (Err(e), _) | (_, Err(e)) => return e,
        };
        let expires = (expires_unix_ms >= 0).then_some(expires_unix_ms);
        match engine.inner.profile(endpoint, token, expires) {
            Some(profile) => {
                *out = opensharing_bytes::from_vec(profile.into_bytes());
                opensharing_result::OPENSHARING_OK
            }
            None => {
                set_error("no endpoint: configure `endpoint` or pass one");
                opensharing_result::OPENSHARING_INVALID_ARGUMENT
            }
        }
    })
}

/// Checks a local-store file URL as requested (`{prefix}/files/{store}/{key}?…`) at
/// `now_unix_ms`. On success `*out_store` and `*out_key` own the store name and object key
/// (free both with `opensharing_bytes_free`); the host then serves the object, with `Range` and `HEAD`,
/// from the store's root (`opensharing_engine_local_store_root`). `OPENSHARING_DENIED` for a missing, malformed,
/// bad or expired signature (answer 403), `OPENSHARING_NOT_FOUND` when the target names no servable file
/// (answer 404): not a file URL, not a local store, or a key that would leave the store's root.
///
/// # Safety
/// `engine` must be live; `target` valid for `target_len` bytes; the outputs writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_verify_file_url(
    engine: *const opensharing_engine,
    target: *const u8,
    target_len: usize,
    now_unix_ms: i64,
    out_store: *mut opensharing_bytes,
    out_key: *mut opensharing_bytes,
) -> opensharing_result {
    guard(|| {
        let Some(engine) = engine.as_ref() else { return opensharing_result::OPENSHARING_NULL_ARGUMENT };
        if out_store.is_null() || out_key.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        let target = match str_arg(target, target_len) {
            Ok(t) => t,
            Err(e) => return e,
        };
        match engine.inner.verify_file_url(target, now_unix_ms) {
            Ok(grant) => {
                *out_store = opensharing_bytes::from_vec(grant.store.into_bytes());
                *out_key = opensharing_bytes::from_vec(grant.key.into_bytes());
                opensharing_result::OPENSHARING_OK
            }
            Err(LocalUrlError::NotFound) => opensharing_result::OPENSHARING_NOT_FOUND,
            Err(e) => {
                set_error(e.to_string());
                opensharing_result::OPENSHARING_DENIED
            }
        }
    })
}

/// Writes the configured root of local store `name` (as written in the configuration; relative
/// roots are relative to the configuration file) to `*out`, which the caller frees with
/// `opensharing_bytes_free`. `OPENSHARING_NOT_FOUND` when there is no local store of that name.
///
/// # Safety
/// `engine` must be live; `name` valid for `name_len` bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_local_store_root(
    engine: *const opensharing_engine,
    name: *const u8,
    name_len: usize,
    out: *mut opensharing_bytes,
) -> opensharing_result {
    guard(|| {
        let Some(engine) = engine.as_ref() else { return opensharing_result::OPENSHARING_NULL_ARGUMENT };
        if out.is_null() {
            return opensharing_result::OPENSHARING_NULL_ARGUMENT;
        }
        match str_arg(name, name_len).map(|n| engine.inner.local_store_root(n)) {
            Ok(Some(root)) => {
                *out = opensharing_bytes::from_vec(root.into_bytes());
                opensharing_result::OPENSHARING_OK
            }
            Ok(None) => opensharing_result::OPENSHARING_NOT_FOUND,
            Err(e) => e,
        }
    })
}
