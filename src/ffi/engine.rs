//! `opensharing_engine`: an engine handle, shareable between threads.

use super::error::{guard, guard_free, opensharing_result, FfiError, OPENSHARING_DENIED, OPENSHARING_NOT_FOUND};
use super::exchange::opensharing_exchange;
use super::opensharing_bytes;
use super::ptr::{arg_ref, opt_str_arg, out_arg, slice_arg, str_arg};
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

fn parse_catalog(json: &str) -> Result<Catalog, FfiError> {
    Catalog::from_json(json.as_bytes(), &process_env).map_err(|e| FfiError::config(e.to_string()))
}

/// Creates an engine from configuration JSON (`{"env": …}` secrets read the process
/// environment).
///
/// Ownership: on success `*out` owns a new engine: free it with `opensharing_engine_free`.
/// `json` is only read during the call.
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
        let out = out_arg(out, "out")?;
        let catalog = parse_catalog(str_arg(json, json_len, "json")?)?;
        let engine = Engine::new(catalog).map_err(|e| FfiError::config(e.to_string()))?;
        out.write(Box::into_raw(Box::new(opensharing_engine { inner: engine })));
        Ok(())
    })
}

/// Replaces the engine's configuration atomically. Exchanges already started finish on the old
/// one. On failure the engine keeps serving its current configuration.
///
/// Ownership: borrows `engine`; `json` is only read during the call.
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
        let engine = arg_ref(engine, "engine")?;
        let catalog = parse_catalog(str_arg(json, json_len, "json")?)?;
        engine.inner.reload(catalog).map_err(|e| FfiError::config(e.to_string()))
    })
}

/// Frees an engine. NULL does nothing. Exchanges created from it stay valid.
///
/// Ownership: takes `engine` back; it must not be used afterwards.
///
/// # Safety
/// `engine` must come from `opensharing_engine_new`/`opensharing_config_builder_build` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_free(engine: *mut opensharing_engine) {
    guard_free(|| {
        if !engine.is_null() {
            drop(Box::from_raw(engine));
        }
    });
}

/// Starts handling a request at `now_unix_ms`. Drive the exchange with
/// `opensharing_exchange_poll`.
///
/// Ownership: the request is copied; on success `*out` owns a new exchange: free it with
/// `opensharing_exchange_free`. It does not borrow `engine`.
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
        let engine = arg_ref(engine, "engine")?;
        let request = copy_request(arg_ref(request, "request")?)?;
        let out = out_arg(out, "out")?;
        let exchange = engine.inner.handle(request, now_unix_ms);
        out.write(Box::into_raw(Box::new(opensharing_exchange::new(exchange))));
        Ok(())
    })
}

unsafe fn copy_request(req: &opensharing_request) -> Result<Request, FfiError> {
    let method = Method::parse(str_arg(req.method, req.method_len, "request.method")?);
    let mut request = Request::new(method, str_arg(req.target, req.target_len, "request.target")?);
    for h in slice_arg(req.headers, req.header_count, "request.headers")? {
        let name = str_arg(h.name, h.name_len, "request.headers[].name")?;
        let value = str_arg(h.value, h.value_len, "request.headers[].value")?;
        request.headers.push((name.to_string(), value.to_string()));
    }
    request.body = slice_arg(req.body, req.body_len, "request.body")?.to_vec();
    request.body_pending = req.body_pending;
    request.peer = opt_str_arg(req.peer, req.peer_len, "request.peer")?.map(str::to_string);
    Ok(request)
}

/// Writes a Delta Sharing profile (`shareCredentialsVersion` 1) for `token` into `*out`.
/// `endpoint` may be NULL to use the configured one; `expires_unix_ms` < 0 means no expiry.
///
/// Ownership: on success the caller owns `*out`: free it with `opensharing_bytes_free`. The
/// strings are only read during the call.
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
        let engine = arg_ref(engine, "engine")?;
        let out = out_arg(out, "out")?;
        let endpoint = opt_str_arg(endpoint, endpoint_len, "endpoint")?;
        let token = opt_str_arg(token, token_len, "token")?.ok_or_else(|| FfiError::null("token"))?;
        let expires = (expires_unix_ms >= 0).then_some(expires_unix_ms);
        let profile = engine
            .inner
            .profile(endpoint, token, expires)
            .ok_or_else(|| FfiError::argument("no endpoint: configure `endpoint` or pass one"))?;
        out.write(opensharing_bytes::from_vec(profile.into_bytes()));
        Ok(())
    })
}

/// Checks a local-store file URL as requested (`{prefix}/files/{store}/{key}?…`) at
/// `now_unix_ms`. On success the host serves the object, with `Range` and `HEAD`, from the
/// store's root (`opensharing_engine_local_store_root`). `OPENSHARING_DENIED` for a missing,
/// malformed, bad or expired signature (answer 403), `OPENSHARING_NOT_FOUND` when the target
/// names no servable file (answer 404): not a file URL, not a local store, or a key that would
/// leave the store's root.
///
/// Ownership: on success the caller owns `*out_store` and `*out_key`: free both with
/// `opensharing_bytes_free`.
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
        let engine = arg_ref(engine, "engine")?;
        let (out_store, out_key) = (out_arg(out_store, "out_store")?, out_arg(out_key, "out_key")?);
        let target = str_arg(target, target_len, "target")?;
        match engine.inner.verify_file_url(target, now_unix_ms) {
            Ok(grant) => {
                out_store.write(opensharing_bytes::from_vec(grant.store.into_bytes()));
                out_key.write(opensharing_bytes::from_vec(grant.key.into_bytes()));
                Ok(())
            }
            Err(LocalUrlError::NotFound) => {
                Err(FfiError::new(OPENSHARING_NOT_FOUND, "the target names no servable file"))
            }
            Err(e) => Err(FfiError::new(OPENSHARING_DENIED, e.to_string())),
        }
    })
}

/// Writes the configured root of local store `name` (as written in the configuration; relative
/// roots are relative to the configuration file) to `*out`. `OPENSHARING_NOT_FOUND` when there
/// is no local store of that name.
///
/// Ownership: on success the caller owns `*out`: free it with `opensharing_bytes_free`.
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
        let engine = arg_ref(engine, "engine")?;
        let out = out_arg(out, "out")?;
        let name = str_arg(name, name_len, "name")?;
        let root = engine
            .inner
            .local_store_root(name)
            .ok_or_else(|| FfiError::not_found(format!("no local store '{name}'")))?;
        out.write(opensharing_bytes::from_vec(root.into_bytes()));
        Ok(())
    })
}
