//! The audit event every exchange ends with.

use serde::Serialize;

/// What happened in one exchange: who asked for what, and how it ended.
///
/// It never holds the bearer token or any key. The host adds its own end time to get the
/// duration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// The authenticated recipient, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// How the recipient authenticated: `token` (opaque bearer token) or `oidc` (a JWT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<&'static str>,
    /// The JWT's `iss` (as claimed, when the token was refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The JWT's `sub` (as claimed, when the token was refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The route name, e.g. `list_shares` or `query_table` (`unknown` when no route matched).
    pub route: &'static str,
    /// The share named by the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    /// The schema named by the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The asset named by the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// The response status.
    pub status: u16,
    /// The protocol error code, when the response is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    /// What went wrong with the provider's storage or credential service, or why a request
    /// was not authenticated, for the provider's log. Never holds key material or tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The time the host passed to `Engine::handle`, in Unix milliseconds.
    pub started_at_ms: i64,
    /// How many IO needs the host answered.
    pub io_requests: u32,
    /// How many URLs were signed for the response.
    pub urls_signed: u64,
    /// Body bytes produced.
    pub body_bytes: u64,
    /// The peer address the host reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

impl AuditEvent {
    /// The event as one line of JSON, for logs.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
