//! One path from a bearer token to a running route, shared by every surface (Delta Sharing and
//! the Iceberg REST catalog). A [`Surface`] names its routes, its error shape and how a route
//! runs; [`serve`] does the rest, the same way for both:
//!
//! 1. the token is hashed and looked up as an opaque token (the fast path, no JWT code);
//! 2. else, when issuers are configured, it is verified as a JWT ([`super::authenticate`]),
//!    which may first fetch the issuer's keys through the `Http` need;
//! 3. the recipient's IP access list (403) and rate limit (429) apply ([`super::admission`]);
//! 4. the body is read, when the route reads one ([`super::request_body`]);
//! 5. the route runs.
//!
//! Every refused token is a 401 with `WWW-Authenticate`, in the surface's error shape.

use std::sync::Arc;

use super::admission;
use super::authenticate;
use super::request_body::AwaitBody;
use super::{Ctx, Dispatch};
use crate::auth::{bearer_token, token_sha256, AuditEvent, AuthError};
use crate::exchange::{Exchange, Response};
use crate::http::Request;
use crate::protocol::{ApiError, ErrorCode};
use crate::state::EngineState;

/// What differs between surfaces; everything else about a request is [`serve`]'s.
pub(crate) trait Surface: 'static {
    /// A matched route of this surface.
    type Route: Clone + Send + 'static;

    /// `error` in this surface's shape.
    fn error(error: ApiError) -> Response;

    /// 413: the request body is over [`crate::http::MAX_REQUEST_BODY_BYTES`].
    fn too_large() -> Response;

    /// Whether `route` reads the request body (the host reads it only once the caller is known).
    fn reads_body(route: &Self::Route) -> bool;

    /// Runs `route` for the authenticated recipient of `ctx`.
    fn dispatch(ctx: &Ctx<'_>, route: &Self::Route) -> Dispatch;

    /// Moves the names `route` carries (share, schema, asset) into `audit`.
    fn note(route: Self::Route, audit: &mut AuditEvent);
}

/// Authenticates `request`, routed to `route` on surface `S`, and runs it. The names in
/// `route` go to `audit` whichever way the exchange ends (moved once the route is done with).
pub(crate) fn serve<S: Surface>(
    state: Arc<EngineState>,
    request: Request,
    route: S::Route,
    now_ms: i64,
    head_only: bool,
    mut audit: AuditEvent,
) -> Exchange {
    // Hashed once: the opaque-token lookup and the verified-JWT cache share the hash.
    let hash = request.header_value("authorization").and_then(bearer_token).map(token_sha256);
    let found = match &hash {
        Some(hash) => state.catalog.recipients.authenticate_hash(hash, now_ms),
        None => Err(AuthError::Missing),
    };
    let recipient = match found {
        Ok(r) => r,
        Err(AuthError::Unknown) if state.catalog.federation.is_enabled() => {
            S::note(route.clone(), &mut audit);
            let routed = Routed::<S> { state, request, route, now_ms };
            return authenticate::federated(routed, head_only, audit, hash.unwrap_or_default());
        }
        Err(e) => {
            S::note(route, &mut audit);
            return Exchange::responding(unauthenticated::<S>(e, e.message().into()), head_only, audit);
        }
    };
    audit.recipient = Some(recipient.name.clone());
    audit.auth = Some("token");
    if let Err(refusal) = admission::admit::<S>(&state.catalog, recipient, &request, now_ms) {
        S::note(route, &mut audit);
        return Exchange::responding(refusal, head_only, audit);
    }
    if request.body_pending && S::reads_body(&route) {
        S::note(route.clone(), &mut audit);
        let read = AwaitBody::new(Routed::<S> { state, request, route, now_ms }, None);
        return Exchange::operating(Box::new(read), head_only, audit);
    }
    let ctx = Ctx { state: &state, recipient, request: &request, now_ms };
    let dispatched = S::dispatch(&ctx, &route);
    S::note(route, &mut audit);
    dispatched.into_exchange(head_only, audit)
}

/// A request routed on surface `S`, with the catalog snapshot and the time it came at: what
/// authentication and the body read carry until the route runs.
pub(super) struct Routed<S: Surface> {
    pub state: Arc<EngineState>,
    pub request: Request,
    pub route: S::Route,
    pub now_ms: i64,
}

impl<S: Surface> Clone for Routed<S> {
    fn clone(&self) -> Routed<S> {
        let Routed { state, request, route, now_ms } = self;
        Routed { state: state.clone(), request: request.clone(), route: route.clone(), now_ms: *now_ms }
    }
}

/// 401 `UNAUTHENTICATED` in the surface's shape. The client learns only that the token is
/// missing, invalid or expired; `detail` (why, for the provider's log) goes to the audit event.
pub(super) fn unauthenticated<S: Surface>(error: AuthError, detail: String) -> Response {
    let mut response = S::error(ApiError::new(ErrorCode::Unauthenticated, error.message()));
    let challenge = match error {
        AuthError::Missing => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    };
    response.head.headers.push(("WWW-Authenticate".into(), challenge.into()));
    response.detail = Some(detail);
    response
}
