//! What an authenticated recipient must pass before its request runs: its IP access list
//! (403) and its rate limit (429 with `Retry-After`). The audit event says which, and why.

use super::error_response;
use crate::auth::{client_ip, Recipient};
use crate::catalog::Catalog;
use crate::exchange::Response;
use crate::http::Request;
use crate::protocol::{ApiError, ErrorCode};

/// `Ok` when `recipient` may make `request` at `now_ms`; otherwise the refusal to send.
pub(super) fn admit(catalog: &Catalog, recipient: &Recipient, request: &Request, now_ms: i64) -> Result<(), Response> {
    if recipient.has_ip_access_list() {
        let forwarded = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("x-forwarded-for"));
        let ip = client_ip(request.peer.as_deref(), forwarded.map(|(_, v)| v.as_str()), &catalog.trusted_proxies);
        if !recipient.allows_ip(ip) {
            let mut response = error_response(&ApiError::new(
                ErrorCode::PermissionDenied,
                "The recipient may not be used from this network address",
            ));
            response.detail = Some(match ip {
                Some(ip) => format!("client address {ip} is not in the recipient's ip_access_list"),
                None => "the client address is unknown, and the recipient has an ip_access_list".into(),
            });
            return Err(response);
        }
    }
    if let Err(retry_after) = recipient.acquire(now_ms) {
        let mut response = error_response(&ApiError::new(
            ErrorCode::ResourceExhausted,
            "Too many requests: the rate limit is exceeded",
        ));
        response.head.headers.push(("Retry-After".into(), retry_after.to_string()));
        response.detail = Some(format!("rate limit exceeded, retry after {retry_after} s"));
        return Err(response);
    }
    Ok(())
}
