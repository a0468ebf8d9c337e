//! Result codes, the thread's last error and [`guard`], the boundary every entry point runs in.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A result code, returned by every C function that can fail. 32 bits wide in the header
/// (`uint32_t`), so a value from a newer library is still well defined: pass any value to
/// `opensharing_result_message`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum opensharing_result {
    /// Success.
    OPENSHARING_OK = 0,
    /// A required pointer argument was NULL; `opensharing_last_error` names it.
    OPENSHARING_NULL_ARGUMENT = 1,
    /// A string argument was not valid UTF-8; `opensharing_last_error` names it.
    OPENSHARING_INVALID_UTF8 = 2,
    /// The configuration was refused; see `opensharing_last_error`.
    OPENSHARING_INVALID_CONFIG = 3,
    /// An argument had a bad value; see `opensharing_last_error`.
    OPENSHARING_INVALID_ARGUMENT = 4,
    /// The call does not fit the exchange's current state (for example reading the body before
    /// the head, or answering a need that is not pending or is of another kind).
    OPENSHARING_INVALID_STATE = 5,
    /// The requested item does not exist (index out of range, unknown name).
    OPENSHARING_NOT_FOUND = 6,
    /// A panic was caught inside the library. The handle involved should be freed.
    OPENSHARING_PANIC = 7,
    /// Access refused: a file URL's signature is missing, does not match, or has expired.
    OPENSHARING_DENIED = 8,
}

pub(super) use opensharing_result::*;

/// Every result code, for looking one up by its number.
const CODES: [opensharing_result; 9] = [
    OPENSHARING_OK,
    OPENSHARING_NULL_ARGUMENT,
    OPENSHARING_INVALID_UTF8,
    OPENSHARING_INVALID_CONFIG,
    OPENSHARING_INVALID_ARGUMENT,
    OPENSHARING_INVALID_STATE,
    OPENSHARING_NOT_FOUND,
    OPENSHARING_PANIC,
    OPENSHARING_DENIED,
];

/// The result code numbered `code`, if there is one.
pub(super) fn result_code(code: u32) -> Option<opensharing_result> {
    CODES.into_iter().find(|c| *c as u32 == code)
}

/// The NUL-terminated message of `code`.
pub(super) fn result_text(code: opensharing_result) -> &'static str {
    match code {
        OPENSHARING_OK => "ok\0",
        OPENSHARING_NULL_ARGUMENT => "a required pointer argument was NULL\0",
        OPENSHARING_INVALID_UTF8 => "a string argument is not valid UTF-8\0",
        OPENSHARING_INVALID_CONFIG => "the configuration was refused\0",
        OPENSHARING_INVALID_ARGUMENT => "an argument has a bad value\0",
        OPENSHARING_INVALID_STATE => "the call does not fit the exchange's state\0",
        OPENSHARING_NOT_FOUND => "not found\0",
        OPENSHARING_PANIC => "a panic was caught inside the library\0",
        OPENSHARING_DENIED => "access refused: missing, bad or expired signature\0",
    }
}

/// A failed call: its result code and the detail `opensharing_last_error` reports.
#[derive(Debug)]
pub(super) struct FfiError {
    code: opensharing_result,
    message: String,
}

impl FfiError {
    /// A failure with `code` and `message`.
    pub(super) fn new(code: opensharing_result, message: impl Into<String>) -> FfiError {
        FfiError { code, message: message.into() }
    }

    /// Pointer argument `name` was NULL.
    pub(super) fn null(name: &str) -> FfiError {
        FfiError::new(OPENSHARING_NULL_ARGUMENT, format!("argument `{name}` is NULL"))
    }

    /// String argument `name` was not UTF-8.
    pub(super) fn invalid_utf8(name: &str) -> FfiError {
        FfiError::new(OPENSHARING_INVALID_UTF8, format!("argument `{name}` is not valid UTF-8"))
    }

    /// The call does not fit the exchange's state.
    pub(super) fn invalid_state(message: impl Into<String>) -> FfiError {
        FfiError::new(OPENSHARING_INVALID_STATE, message)
    }

    /// The configuration was refused.
    pub(super) fn config(message: impl Into<String>) -> FfiError {
        FfiError::new(OPENSHARING_INVALID_CONFIG, message)
    }

    /// An argument had a bad value.
    pub(super) fn argument(message: impl Into<String>) -> FfiError {
        FfiError::new(OPENSHARING_INVALID_ARGUMENT, message)
    }

    /// The requested item does not exist.
    pub(super) fn not_found(message: impl Into<String>) -> FfiError {
        FfiError::new(OPENSHARING_NOT_FOUND, message)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Replaces this thread's last error. Silently does nothing while the thread is torn down.
fn set_last_error(message: &str) {
    let _ = LAST_ERROR.try_with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(message);
    });
}

/// Calls `f` with the detail of this thread's last error (empty after a success). `None` while
/// the thread is torn down.
pub(super) fn with_last_error<T>(f: impl FnOnce(&str) -> T) -> Option<T> {
    LAST_ERROR.try_with(|e| f(&e.borrow())).ok()
}

/// The boundary of every entry point. Clears the last error, runs `f`, catches a panic as
/// `OPENSHARING_PANIC`, and stores the failure's message as the last error. Every path out of
/// `f` is a `Result`, so no failure can leave the last error unset or stale.
pub(super) fn guard(f: impl FnOnce() -> Result<(), FfiError>) -> opensharing_result {
    set_last_error("");
    let outcome = catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(FfiError::new(OPENSHARING_PANIC, "a panic was caught inside libopensharing")));
    match outcome {
        Ok(()) => OPENSHARING_OK,
        Err(e) => {
            set_last_error(&e.message);
            e.code
        }
    }
}

/// The boundary of the `*_free` functions: catches a panic, and leaves the last error as it
/// is, so a host may free its handles before it reads why a call failed.
pub(super) fn guard_free(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}
