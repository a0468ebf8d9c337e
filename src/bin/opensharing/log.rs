//! Structured logs on stderr: one JSON object per line. Request lines carry the engine's audit
//! event (recipient name, route, share, status, …), never a token, a header or a query string.
//!
//! Access lines are gathered in one buffer and written in batches, not one `write` each: when
//! the buffer holds [`FLUSH_AT`] bytes, whenever a runtime worker runs out of work (`serve` calls
//! [`flush`] before each worker parks, so an idle server has written every line), and at exit.
//! Host events are written at once, after the lines gathered before them, so the order holds.

use std::cell::RefCell;
use std::io::{StderrLock, Write};
use std::sync::Mutex;
use std::time::Instant;

use hyper::Method;
use opensharing::auth::AuditEvent;
use serde::Serialize;

/// Bytes of access lines gathered before they are written without waiting for an idle worker.
const FLUSH_AT: usize = 32 * 1024;

/// Access lines not written yet.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Writes `value` as one line, after the access lines gathered so far. The line is formatted
/// first and written with one call, so lines from concurrent requests never interleave.
pub fn line(value: &impl Serialize) {
    if let Ok(mut bytes) = serde_json::to_vec(value) {
        bytes.push(b'\n');
        let mut stderr = std::io::stderr().lock();
        write_pending(&mut stderr);
        let _ = stderr.write_all(&bytes);
    }
}

/// Writes the access lines gathered so far.
pub fn flush() {
    if pending().is_empty() {
        return;
    }
    write_pending(&mut std::io::stderr().lock());
}

fn pending() -> std::sync::MutexGuard<'static, Vec<u8>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes the gathered lines to `stderr`. It is locked before they are taken, so batches reach
/// it in the order they were taken. The emptied buffer goes back for the next lines, unless
/// lines gathered meanwhile have started another.
fn write_pending(stderr: &mut StderrLock<'_>) {
    let mut batch = std::mem::take(&mut *pending());
    if batch.is_empty() {
        return;
    }
    let _ = stderr.write_all(&batch);
    batch.clear();
    let mut pending = pending();
    if pending.is_empty() {
        *pending = batch;
    }
}

/// Adds one line to the access lines, written by `write_line`, and writes them once there are
/// enough. The line is formatted into this thread's scratch buffer first, so the shared buffer
/// is locked only to copy it: with the formatting inside the lock, the runtime's workers waited
/// on each other (and slept, a context switch) on about one request in ten under load.
fn gather(write_line: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>) {
    thread_local! {
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let full = SCRATCH.with_borrow_mut(|line| {
        line.clear();
        if write_line(line).is_err() {
            return false;
        }
        line.push(b'\n');
        let mut pending = pending();
        pending.extend_from_slice(line);
        pending.len() >= FLUSH_AT
    });
    if full {
        flush();
    }
}

/// A host event (`listening`, `reloaded`, `storage_error`, …) with extra fields.
pub fn event(name: &str, mut fields: serde_json::Value) {
    if let Some(map) = fields.as_object_mut() {
        map.insert("event".into(), name.into());
    }
    line(&fields);
}

/// What the access log records about a request besides the audit event. Built when the request
/// arrives; written once, when the response is over (or abandoned).
#[derive(Debug)]
pub struct RequestLog {
    method: Method,
    /// A copy: a reference to hyper's bytes (the `Uri`) would keep hyper's read buffer shared
    /// until the response is over, and hyper would allocate a new one for the next request.
    path: String,
    started: Instant,
    started_at_ms: i64,
}

impl RequestLog {
    /// Starts timing a request. `path` must not include the query string (it may hold a
    /// signature).
    pub fn start(method: &Method, path: &str) -> RequestLog {
        RequestLog {
            method: method.clone(),
            path: path.to_owned(),
            started: Instant::now(),
            started_at_ms: crate::config_file::now_ms(),
        }
    }

    /// When the request arrived, on the monotonic clock.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// When the request arrived, Unix milliseconds.
    pub fn started_at_ms(&self) -> i64 {
        self.started_at_ms
    }

    /// Writes the access line for `audit`.
    pub fn write(&self, audit: &AuditEvent) {
        let duration_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        gather(|out| crate::access_line::write(out, self.method.as_str(), &self.path, duration_ms, audit));
    }
}
