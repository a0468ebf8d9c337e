//! Sends the engine's HTTP calls (`IoNeed::Http`: AWS STS, Google OAuth and STS, OpenID
//! discovery and JWKS). Their headers and bodies carry credentials, so nothing of them is logged.
//! Plain `http` URLs are sent too: the engine builds them only for loopback OpenID providers.

use std::time::Duration;

use futures_util::StreamExt;
use opensharing::{HttpCall, HttpReply, IoResult};

/// Credential replies are a few KiB; more than this is refused.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// The client for credential calls: short timeouts, no redirects (a redirect would resend a
/// signed body elsewhere).
pub fn client() -> Result<reqwest::Client, String> {
    // `main` installs ring as the TLS provider; unit tests build stores without `main`.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Sends `call` and answers with its reply, whatever its status.
pub async fn send(client: &reqwest::Client, call: &HttpCall) -> IoResult {
    let method = match call.method {
        "GET" => reqwest::Method::GET,
        "POST" => reqwest::Method::POST,
        other => return IoResult::Failed(format!("unsupported method {other}")),
    };
    let mut request = client.request(method, &call.url).body(call.body.clone());
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return IoResult::Failed(format!("{} {}: {}", call.method, call.url, without_url(&e))),
    };
    let status = response.status().as_u16();
    // The engine reads `Cache-Control` (JWKS lifetime); the other headers are not passed.
    let headers = response
        .headers()
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| ("Cache-Control".to_string(), v.to_string()))
        .collect();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) if body.len() + bytes.len() <= MAX_REPLY_BYTES => body.extend_from_slice(&bytes),
            Ok(_) => return IoResult::Failed(format!("{}: reply larger than {MAX_REPLY_BYTES} bytes", call.url)),
            Err(e) => return IoResult::Failed(format!("{}: {}", call.url, without_url(&e))),
        }
    }
    IoResult::Http(HttpReply { status, body, headers })
}

/// reqwest's message, without the URL it repeats (pre-signed URLs carry signatures).
pub fn without_url(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    if let Some(url) = e.url() {
        message = message.replace(&format!(" ({url})"), "").replace(url.as_str(), "");
    }
    match std::error::Error::source(e) {
        Some(source) => format!("{message}: {source}"),
        None => message,
    }
}
