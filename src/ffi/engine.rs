//! `opensharing_engine`: an engine handle, shareable between threads.

use std::path::PathBuf;

use super::error::{guard, guard_free, opensharing_result, FfiError};
use super::exchange::opensharing_exchange;
use super::opensharing_bytes;
use super::ptr::{arg_ref, opt_str_arg, out_arg, slice_arg, str_arg};
use crate::http::{Method, Request};
use crate::{Catalog, Engine};

/// An engine. Thread-safe: many threads may call `opensharing_engine_handle` and `opensharing_engine_reload` on
/// the same handle at once.
pub struct opensharing_engine {
    pub(super) inner: Engine,
    /// What relative `local` store roots are relative to, in this configuration and in every
    /// reload.
    base_dir: Option<PathBuf>,
}

impl opensharing_engine {
    /// An engine serving `catalog`, whose relative store roots are resolved against `base_dir`.
    pub(super) fn new(catalog: Catalog, base_dir: Option<PathBuf>) -> Result<opensharing_engine, FfiError> {
        let inner = Engine::new(resolve(catalog, base_dir.as_ref())).map_err(|e| FfiError::config(e.to_string()))?;
        Ok(opensharing_engine { inner, base_dir })
    }
}

fn resolve(catalog: Catalog, base_dir: Option<&PathBuf>) -> Catalog {
    match base_dir {
        Some(dir) => catalog.with_base_dir(dir),
        None => catalog,
    }
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
/// environment). Relative `local` store roots are resolved against `base_dir` (usually the
/// configuration file's directory), here and in every reload; with `base_dir` NULL they stay
/// relative to the process's working directory. `opensharing_engine_local_store_root` gives
/// the resolved root.
///
/// Ownership: on success `*out` owns a new engine: free it with `opensharing_engine_free`.
/// `json` and `base_dir` are only read during the call.
///
/// # Safety
/// `json` must be valid for `json_len` bytes; `base_dir` NULL or valid for `base_dir_len`
/// bytes; `out` must be valid for a write.
#[no_mangle]
pub unsafe extern "C" fn opensharing_engine_new(
    json: *const u8,
    json_len: usize,
    base_dir: *const u8,
    base_dir_len: usize,
    out: *mut *mut opensharing_engine,
) -> opensharing_result {
    guard(|| {
        let out = unsafe { out_arg(out, "out") }?;
        let catalog = parse_catalog(unsafe { str_arg(json, json_len, "json") }?)?;
        let base_dir = unsafe { opt_str_arg(base_dir, base_dir_len, "base_dir") }?.map(PathBuf::from);
        out.write(Box::into_raw(Box::new(opensharing_engine::new(catalog, base_dir)?)));
        Ok(())
    })
}

/// Replaces the engine's configuration atomically. Exchanges already started finish on the old
/// one. On failure the engine keeps serving its current configuration. Relative store roots
/// are resolved against the base directory the engine was created with.
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
        let engine = unsafe { arg_ref(engine, "engine") }?;
        let catalog = parse_catalog(unsafe { str_arg(json, json_len, "json") }?)?;
        engine.inner.reload(resolve(catalog, engine.base_dir.as_ref())).map_err(|e| FfiError::config(e.to_string()))
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
            // SAFETY: the caller promised `engine` came from this library and is not used
            // afterwards.
            drop(unsafe { Box::from_raw(engine) });
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
        let engine = unsafe { arg_ref(engine, "engine") }?;
        let request = unsafe { copy_request(arg_ref(request, "request")?) }?;
        let out = unsafe { out_arg(out, "out") }?;
        let exchange = engine.inner.handle(request, now_unix_ms);
        out.write(Box::into_raw(Box::new(opensharing_exchange::new(exchange))));
        Ok(())
    })
}

unsafe fn copy_request(req: &opensharing_request) -> Result<Request, FfiError> {
    let method = Method::parse(unsafe { str_arg(req.method, req.method_len, "request.method") }?);
    let mut request = Request::new(method, unsafe { str_arg(req.target, req.target_len, "request.target") }?);
    for h in unsafe { slice_arg(req.headers, req.header_count, "request.headers") }? {
        let name = unsafe { str_arg(h.name, h.name_len, "request.headers[].name") }?;
        let value = unsafe { str_arg(h.value, h.value_len, "request.headers[].value") }?;
        request.headers.push(name, value);
    }
    request.body = unsafe { slice_arg(req.body, req.body_len, "request.body") }?.to_vec();
    request.body_pending = req.body_pending;
    request.peer = unsafe { opt_str_arg(req.peer, req.peer_len, "request.peer") }?.map(str::to_string);
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
        let engine = unsafe { arg_ref(engine, "engine") }?;
        let out = unsafe { out_arg(out, "out") }?;
        let endpoint = unsafe { opt_str_arg(endpoint, endpoint_len, "endpoint") }?;
        let token = unsafe { opt_str_arg(token, token_len, "token") }?.ok_or_else(|| FfiError::null("token"))?;
        let expires = (expires_unix_ms >= 0).then_some(expires_unix_ms);
        let profile = engine
            .inner
            .profile(endpoint, token, expires)
            .ok_or_else(|| FfiError::argument("no endpoint: configure `endpoint` or pass one"))?;
        out.write(opensharing_bytes::from_vec(profile.into_bytes()));
        Ok(())
    })
}

/// Writes the root directory of local store `name` to `*out`: a relative root resolved against
/// the engine's base directory (see `opensharing_engine_new`). `OPENSHARING_NOT_FOUND` when
/// there is no local store of that name.
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
        let engine = unsafe { arg_ref(engine, "engine") }?;
        let out = unsafe { out_arg(out, "out") }?;
        let name = unsafe { str_arg(name, name_len, "name") }?;
        let root = engine
            .inner
            .local_store_root(name)
            .ok_or_else(|| FfiError::not_found(format!("no local store '{name}'")))?;
        out.write(opensharing_bytes::from_vec(root.into_bytes()));
        Ok(())
    })
}
