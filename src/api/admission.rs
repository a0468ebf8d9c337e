//! What an authenticated recipient must pass before its request runs, on every surface (Delta
//! Sharing and Iceberg): its IP access list (403) and its rate limit (429 with `Retry-After`).
//! The audit event says which, and why.

use super::Surface;
use crate::auth::{client_ip, Recipient};
use crate::catalog::Catalog;
use crate::exchange::Response;
use crate::http::Request;
use crate::protocol::{ApiError, ErrorCode};

/// Why an authenticated recipient's request may not run.
struct Refusal {
    /// The error the client sees (403 or 429).
    error: ApiError,
    /// Seconds until the rate limit allows a request again, for `Retry-After`.
    retry_after: Option<u64>,
    /// Why, for the provider's log.
    detail: String,
}

/// `Ok` when `recipient` may make `request` at `now_ms`.
fn check(catalog: &Catalog, recipient: &Recipient, request: &Request, now_ms: i64) -> Result<(), Refusal> {
    if recipient.has_ip_access_list() {
        let forwarded = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("x-forwarded-for"));
        let ip = client_ip(request.peer.as_deref(), forwarded.map(|(_, v)| v), &catalog.trusted_proxies);
        if !recipient.allows_ip(ip) {
            return Err(Refusal {
                error: ApiError::new(
                    ErrorCode::PermissionDenied,
                    "The recipient may not be used from this network address",
                ),
                retry_after: None,
                detail: match ip {
                    Some(ip) => format!("client address {ip} is not in the recipient's ip_access_list"),
                    None => "the client address is unknown, and the recipient has an ip_access_list".into(),
                },
            });
        }
    }
    if let Err(retry_after) = recipient.acquire(now_ms) {
        return Err(Refusal {
            error: ApiError::new(ErrorCode::ResourceExhausted, "Too many requests: the rate limit is exceeded"),
            retry_after: Some(retry_after),
            detail: format!("rate limit exceeded, retry after {retry_after} s"),
        });
    }
    Ok(())
}

/// [`check`], answered in the shape of surface `S`, with `Retry-After` for a rate limit.
pub(super) fn admit<S: Surface>(
    catalog: &Catalog,
    recipient: &Recipient,
    request: &Request,
    now_ms: i64,
) -> Result<(), Response> {
    check(catalog, recipient, request, now_ms).map_err(|refusal| {
        let mut response = S::error(refusal.error);
        if let Some(seconds) = refusal.retry_after {
            response.head.headers.push(("Retry-After".into(), seconds.to_string().into()));
        }
        response.detail = Some(refusal.detail);
        response
    })
}
