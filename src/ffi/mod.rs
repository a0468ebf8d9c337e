//! The C ABI. Conventions (after rustls-ffi):
//!
//! - Opaque handles (`opensharing_engine`, `opensharing_exchange`, `opensharing_config_builder`); every `*_new` has a
//!   `*_free`, and `*_free(NULL)` does nothing.
//! - Every function returns an [`opensharing_result`]; outputs go through out-parameters that are written
//!   only on success. [`opensharing_last_error`] gives the detail of the last failure on this thread.
//! - Strings are pointer plus length, need no NUL, and are checked as UTF-8.
//! - No panic crosses the boundary: each entry point catches unwinds and returns `OPENSHARING_PANIC`.

#![allow(non_camel_case_types)]

mod builder;
mod engine;
mod exchange;

pub use builder::*;
pub use engine::*;
pub use exchange::*;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Result codes of every C function.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum opensharing_result {
    /// Success.
    OPENSHARING_OK = 0,
    /// A required pointer argument was NULL.
    OPENSHARING_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8.
    OPENSHARING_INVALID_UTF8 = 2,
    /// The configuration was refused; see `opensharing_last_error`.
    OPENSHARING_INVALID_CONFIG = 3,
    /// An argument had a bad value; see `opensharing_last_error`.
    OPENSHARING_INVALID_ARGUMENT = 4,
    /// The call does not fit the exchange's current state.
    OPENSHARING_INVALID_STATE = 5,
    /// The requested item does not exist (index out of range, unknown name).
    OPENSHARING_NOT_FOUND = 6,
    /// A panic was caught inside the library. The handle involved should be freed.
    OPENSHARING_PANIC = 7,
    /// Access refused: a file URL's signature is missing, does not match, or has expired.
    OPENSHARING_DENIED = 8,
}

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

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_error(message: impl Into<String>) {
    LAST_ERROR.with(|e| *e.borrow_mut() = message.into());
}

/// Runs `f`, turning a panic into `OPENSHARING_PANIC`. The last error is cleared on entry, and a failure
/// that set no detail gets its result's message, so `opensharing_last_error` always describes this call.
fn guard(f: impl FnOnce() -> opensharing_result) -> opensharing_result {
    LAST_ERROR.with(|e| e.borrow_mut().clear());
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        set_error("a panic was caught inside libopensharing");
        opensharing_result::OPENSHARING_PANIC
    });
    if result != opensharing_result::OPENSHARING_OK {
        LAST_ERROR.with(|e| {
            let mut e = e.borrow_mut();
            if e.is_empty() {
                e.push_str(result_text(result).trim_end_matches('\0'));
            }
        });
    }
    result
}

/// Borrows `len` bytes at `ptr` as UTF-8. NULL is accepted only with `len` 0.
///
/// # Safety
/// `ptr` must be valid for reads of `len` bytes for the returned lifetime.
unsafe fn str_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a str, opensharing_result> {
    if ptr.is_null() {
        return if len == 0 { Ok("") } else { Err(opensharing_result::OPENSHARING_NULL_ARGUMENT) };
    }
    let bytes = std::slice::from_raw_parts(ptr, len);
    std::str::from_utf8(bytes).map_err(|_| {
        set_error("a string argument is not valid UTF-8");
        opensharing_result::OPENSHARING_INVALID_UTF8
    })
}

/// Borrows `len` items at `ptr`. NULL is accepted only with `len` 0.
///
/// # Safety
/// `ptr` must be valid for reads of `len` items for the returned lifetime.
unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], opensharing_result> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(opensharing_result::OPENSHARING_NULL_ARGUMENT),
        (false, _) => Ok(std::slice::from_raw_parts(ptr, len)),
    }
}

/// Like [`str_arg`], but NULL means "absent".
///
/// # Safety
/// As for [`str_arg`].
unsafe fn opt_str_arg<'a>(ptr: *const u8, len: usize) -> Result<Option<&'a str>, opensharing_result> {
    if ptr.is_null() {
        Ok(None)
    } else {
        str_arg(ptr, len).map(Some)
    }
}

/// A readable, static description of a result code. The string is NUL-terminated and lives
/// forever; do not free it. A value that is no `opensharing_result` gets "unknown result code".
#[no_mangle]
pub extern "C" fn opensharing_result_message(result: std::ffi::c_int) -> *const std::ffi::c_char {
    const CODES: [opensharing_result; 9] = [
        opensharing_result::OPENSHARING_OK,
        opensharing_result::OPENSHARING_NULL_ARGUMENT,
        opensharing_result::OPENSHARING_INVALID_UTF8,
        opensharing_result::OPENSHARING_INVALID_CONFIG,
        opensharing_result::OPENSHARING_INVALID_ARGUMENT,
        opensharing_result::OPENSHARING_INVALID_STATE,
        opensharing_result::OPENSHARING_NOT_FOUND,
        opensharing_result::OPENSHARING_PANIC,
        opensharing_result::OPENSHARING_DENIED,
    ];
    let text = match CODES.iter().find(|code| **code as std::ffi::c_int == result) {
        Some(code) => result_text(*code),
        None => "unknown result code\0",
    };
    text.as_ptr().cast()
}

/// The NUL-terminated message of `result`.
fn result_text(result: opensharing_result) -> &'static str {
    match result {
        opensharing_result::OPENSHARING_OK => "ok\0",
        opensharing_result::OPENSHARING_NULL_ARGUMENT => "a required pointer argument was NULL\0",
        opensharing_result::OPENSHARING_INVALID_UTF8 => "a string argument is not valid UTF-8\0",
        opensharing_result::OPENSHARING_INVALID_CONFIG => "the configuration was refused\0",
        opensharing_result::OPENSHARING_INVALID_ARGUMENT => "an argument has a bad value\0",
        opensharing_result::OPENSHARING_INVALID_STATE => "the call does not fit the exchange's state\0",
        opensharing_result::OPENSHARING_NOT_FOUND => "not found\0",
        opensharing_result::OPENSHARING_PANIC => "a panic was caught inside the library\0",
        opensharing_result::OPENSHARING_DENIED => "access refused: missing, bad or expired signature\0",
    }
}

/// Copies the detail of the last failure on this thread into `buf` (at most `cap` bytes, no
/// NUL added) and writes the full length to `*out_len`. Pass `cap` 0 to ask for the length.
///
/// # Safety
/// `buf` must be valid for writes of `cap` bytes (or NULL with `cap` 0); `out_len` must be
/// valid for a write.
#[no_mangle]
pub unsafe extern "C" fn opensharing_last_error(buf: *mut u8, cap: usize, out_len: *mut usize) -> opensharing_result {
    // Not through `guard`, which clears the error this call reports. Nothing here can panic:
    // `try_with` fails instead of panicking while the thread is being torn down.
    if out_len.is_null() || (buf.is_null() && cap > 0) {
        return opensharing_result::OPENSHARING_NULL_ARGUMENT;
    }
    let copied = LAST_ERROR.try_with(|e| {
        let e = e.borrow();
        let n = e.len().min(cap);
        if n > 0 {
            std::ptr::copy_nonoverlapping(e.as_ptr(), buf, n);
        }
        *out_len = e.len();
    });
    match copied {
        Ok(()) => opensharing_result::OPENSHARING_OK,
        Err(_) => opensharing_result::OPENSHARING_INVALID_STATE,
    }
}

/// Frees a buffer the library returned. `opensharing_bytes_free` of a buffer with a NULL `ptr` does
/// nothing.
///
/// # Safety
/// `bytes` must come from this library and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn opensharing_bytes_free(bytes: opensharing_bytes) {
    if !bytes.ptr.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(bytes.ptr, bytes.len);
        drop(Box::from_raw(slice));
    }
}
