//! Structured logs on stderr: one JSON object per line. Request lines carry the engine's audit
//! event (recipient name, route, share, status, …), never a token, a header or a query string.

use std::io::Write;
use std::time::Instant;

use opensharing::auth::AuditEvent;
use serde::Serialize;

/// Writes `value` as one line. The line is formatted first and written with one call, so lines
/// from concurrent requests never interleave.
pub fn line(value: &impl Serialize) {
    if let Ok(mut bytes) = serde_json::to_vec(value) {
        bytes.push(b'\n');
        let _ = std::io::stderr().lock().write_all(&bytes);
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
    method: String,
    path: String,
    started: Instant,
    started_at_ms: i64,
}

#[derive(Serialize)]
struct AccessLine<'a> {
    event: &'static str,
    method: &'a str,
    path: &'a str,
    duration_ms: f64,
    #[serde(flatten)]
    audit: &'a AuditEvent,
}

impl RequestLog {
    /// Starts timing a request. `path` must not include the query string (it may hold a
    /// signature).
    pub fn start(method: &str, path: &str) -> RequestLog {
        RequestLog {
            method: method.to_string(),
            path: path.to_string(),
            started: Instant::now(),
            started_at_ms: crate::config_file::now_ms(),
        }
    }

    /// When the request arrived, Unix milliseconds.
    pub fn started_at_ms(&self) -> i64 {
        self.started_at_ms
    }

    /// Writes the access line for `audit`.
    pub fn write(&self, audit: &AuditEvent) {
        let duration_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        line(&AccessLine { event: "request", method: &self.method, path: &self.path, duration_ms, audit });
    }
}
