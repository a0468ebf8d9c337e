//! The C ABI. Conventions (after rustls-ffi):
//!
//! - Every name starts with `opensharing_` (constants and macros with `OPENSHARING_`).
//! - Opaque handles (`opensharing_engine`, `opensharing_exchange`, `opensharing_config_builder`);
//!   every `*_new` has a `*_free`, and `*_free(NULL)` does nothing.
//! - Every function that can fail returns an `opensharing_result` (a `uint32_t`); outputs go
//!   through out-parameters that are written only on success. Each call clears this thread's
//!   last error on entry and sets it on failure: [`opensharing_last_error`] names the argument
//!   or the rule at fault. The `*_free` functions and `opensharing_last_error` leave it as it is.
//! - Strings are pointer plus length, need no NUL, and are checked as UTF-8.
//! - No panic crosses the boundary: each entry point runs in `error::guard`, which catches
//!   unwinds and returns `OPENSHARING_PANIC`.
//! - Each function's doc comment has an `Ownership:` line: who owns what it returns, and for how
//!   long borrowed results stay valid.
//! - Every unsafe operation sits in its own `unsafe {}` block (`unsafe_op_in_unsafe_fn` is
//!   denied). A block that only checks a pointer argument (`ptr::arg_ref`, `ptr::str_arg`, …)
//!   relies on the `# Safety` section of the function it is in; any other says why it is sound
//!   in a `SAFETY:` comment.

#![allow(non_camel_case_types)]

mod builder;
mod engine;
mod error;
mod exchange;
mod ptr;
#[cfg(test)]
mod tests;

use error::opensharing_result;
use error::{
    guard_free, result_code, result_text, with_last_error, OPENSHARING_INVALID_STATE, OPENSHARING_NULL_ARGUMENT,
    OPENSHARING_OK,
};
use ptr::out_arg;

/// A borrowed byte string returned by the library: `ptr` is valid for `len` bytes until the
/// call documented on the function that returned it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct opensharing_str {
    /// Start of the bytes (never NULL; dangling but valid when `len` is 0).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl opensharing_str {
    fn of(s: &str) -> opensharing_str {
        opensharing_str { ptr: s.as_ptr(), len: s.len() }
    }
}

/// An owned byte buffer returned by the library. Free it with `opensharing_bytes_free`.
#[repr(C)]
#[derive(Debug)]
pub struct opensharing_bytes {
    /// Start of the bytes.
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
}

impl opensharing_bytes {
    fn from_vec(v: Vec<u8>) -> opensharing_bytes {
        let mut boxed = v.into_boxed_slice();
        let out = opensharing_bytes { ptr: boxed.as_mut_ptr(), len: boxed.len() };
        std::mem::forget(boxed);
        out
    }
}

/// The library's version, e.g. `0.1.0`, as a NUL-terminated string. The header's
/// `OPENSHARING_VERSION_MAJOR`, `_MINOR` and `_PATCH` give the version it was generated from:
/// a library with another major version has another ABI.
///
/// Ownership: the string is static; do not free it.
#[no_mangle]
pub extern "C" fn opensharing_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A readable description of a result code, NUL-terminated. Any value is accepted: one that
/// is no result code (say, from a newer library) gets "unknown result code".
///
/// Ownership: the string is static; do not free it.
#[no_mangle]
pub extern "C" fn opensharing_result_message(result: u32) -> *const std::ffi::c_char {
    result_code(result).map_or("unknown result code\0", result_text).as_ptr().cast()
}

/// Copies the detail of the last failure on this thread into `buf` (at most `cap` bytes, no
/// NUL added) and writes the full length to `*out_len`. Pass `cap` 0 to ask for the length.
/// After a successful call the detail is empty. This call itself leaves the detail as it is.
///
/// Ownership: the caller owns `buf`; nothing is retained.
///
/// # Safety
/// `buf` must be valid for writes of `cap` bytes (or NULL with `cap` 0); `out_len` must be
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn opensharing_last_error(buf: *mut u8, cap: usize, out_len: *mut usize) -> opensharing_result {
    // Not through `guard`, which clears the error this call reports. Nothing here can panic.
    let Ok(out_len) = (unsafe { out_arg(out_len, "out_len") }) else {
        return OPENSHARING_NULL_ARGUMENT;
    };
    if buf.is_null() && cap > 0 {
        return OPENSHARING_NULL_ARGUMENT;
    }
    let copied = with_last_error(|e| {
        let n = e.len().min(cap);
        if n > 0 {
            // SAFETY: `buf` is not NULL (checked above when `cap > 0`) and the caller promised
            // `cap >= n` writable bytes; the thread's error string cannot overlap them.
            unsafe { std::ptr::copy_nonoverlapping(e.as_ptr(), buf, n) };
        }
        e.len()
    });
    match copied {
        Some(len) => {
            out_len.write(len);
            OPENSHARING_OK
        }
        None => OPENSHARING_INVALID_STATE,
    }
}

/// Frees a buffer the library returned. A buffer with a NULL `ptr` is ignored.
///
/// Ownership: takes `bytes` back; it must not be used afterwards.
///
/// # Safety
/// `bytes` must come from this library and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn opensharing_bytes_free(bytes: opensharing_bytes) {
    guard_free(|| {
        if !bytes.ptr.is_null() {
            // SAFETY: the caller promised `bytes` is a boxed slice this library handed out and
            // has not freed.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(bytes.ptr, bytes.len)) });
        }
    });
}
