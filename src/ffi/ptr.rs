//! Checked conversions of C arguments. Each names the argument in its error, so
//! `opensharing_last_error` says which one was wrong.

use std::marker::PhantomData;
use std::ptr::NonNull;

use super::error::FfiError;

/// Borrows `len` bytes at `ptr` as UTF-8. NULL is accepted only with `len` 0 (as "").
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for the returned lifetime.
pub(super) unsafe fn str_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a str, FfiError> {
    std::str::from_utf8(unsafe { slice_arg(ptr, len, name) }?).map_err(|_| FfiError::invalid_utf8(name))
}

/// Like [`str_arg`], but NULL means "absent".
///
/// # Safety
/// As for [`str_arg`].
pub(super) unsafe fn opt_str_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { str_arg(ptr, len, name) }.map(Some)
    }
}

/// Borrows `len` items at `ptr`. NULL is accepted only with `len` 0.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` items for the returned lifetime.
pub(super) unsafe fn slice_arg<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], FfiError> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(FfiError::null(name)),
        // SAFETY: not NULL, and the caller promised `len` readable items for `'a`.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// Borrows the object at `ptr`, which must not be NULL.
///
/// # Safety
/// `ptr` must be NULL or point to a live `T` for the returned lifetime.
pub(super) unsafe fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, FfiError> {
    // SAFETY: the caller promised NULL or a live `T` for `'a`.
    unsafe { ptr.as_ref() }.ok_or_else(|| FfiError::null(name))
}

/// Borrows the object at `ptr` mutably; it must not be NULL.
///
/// # Safety
/// `ptr` must be NULL or point to a live `T`, used by no one else, for the returned lifetime.
pub(super) unsafe fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, FfiError> {
    // SAFETY: the caller promised NULL or a live `T` that no one else uses for `'a`.
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::null(name))
}

/// A checked out-parameter. It keeps the raw pointer (no reference is made), so two
/// out-parameters that alias are written one after the other, and the memory may be
/// uninitialised.
pub(super) struct Out<'a, T> {
    ptr: NonNull<T>,
    lifetime: PhantomData<&'a mut T>,
}

impl<T> Out<'_, T> {
    /// Stores `value`, without dropping what was there. Call it only once the call succeeds.
    pub(super) fn write(self, value: T) {
        // SAFETY: `out_arg`'s caller promised a pointer valid and aligned for a write of a `T`.
        unsafe { self.ptr.as_ptr().write(value) }
    }
}

/// Checks out-parameter `name`, which must not be NULL.
///
/// # Safety
/// `ptr` must be NULL or valid and aligned for a write of a `T` for the returned lifetime.
pub(super) unsafe fn out_arg<'a, T>(ptr: *mut T, name: &str) -> Result<Out<'a, T>, FfiError> {
    NonNull::new(ptr).map(|ptr| Out { ptr, lifetime: PhantomData }).ok_or_else(|| FfiError::null(name))
}
