//! Request handling: routing, authentication, dispatch to the endpoint handlers.

pub(crate) mod admission;
mod authenticate;
pub(crate) mod credentials;
mod discovery;
mod files;
mod request_body;
mod response;
pub(crate) mod table;

use std::sync::Arc;

use crate::auth::{bearer_token, token_sha256, AuditEvent, AuthError, Recipient};
use crate::engine::EngineState;
use crate::exchange::{Exchange, Operation, Response};
use crate::http::{Method, Request};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::{self, Route, RouteError};

pub(crate) use discovery::{granted_share, location_uri};
pub(crate) use response::{error_response, json_head, json_response};

/// What a handler sees: the catalog snapshot, the caller and the time.
pub(crate) struct Ctx<'a> {
    pub state: &'a Arc<EngineState>,
    pub recipient: &'a Recipient,
    pub request: &'a Request,
    pub now_ms: i64,
}

/// Turns a request into an exchange.
pub(crate) fn handle(state: Arc<EngineState>, request: Request, now_ms: i64) -> Exchange {
    let head_only = request.method == Method::Head;
    let mut audit =
        AuditEvent { route: "unknown", started_at_ms: now_ms, peer: request.peer.clone(), ..AuditEvent::default() };
    if let Some(rest) = crate::iceberg::catalog_path(&state.catalog.prefix, request.path()) {
        let rest = rest.to_string();
        return crate::iceberg::handle(state, request, now_ms, &rest);
    }
    let route = match router::route(request.method, &state.catalog.prefix, request.path()) {
        Ok(route) => route,
        Err(e) => return Exchange::responding(route_error(e), head_only, audit),
    };
    audit.route = route.name();
    note_names(&mut audit, &route);
    // Hashed once: the opaque-token lookup and the verified-JWT cache share the hash.
    let hash = request.header_value("authorization").and_then(bearer_token).map(token_sha256);
    let found = match &hash {
        Some(hash) => state.catalog.recipients.authenticate_hash(hash, now_ms),
        None => Err(AuthError::Missing),
    };
    let recipient = match found {
        Ok(r) => r,
        Err(AuthError::Unknown) if state.catalog.federation.is_enabled() => {
            let hash = hash.unwrap_or_default();
            return authenticate::federated(state, request, route, now_ms, head_only, audit, hash);
        }
        Err(e) => return Exchange::responding(unauthenticated(e, e.message().into()), head_only, audit),
    };
    audit.recipient = Some(recipient.name.clone());
    audit.auth = Some("token");
    if let Err(refusal) = admission::admit(&state.catalog, recipient, &request, now_ms) {
        return Exchange::responding(refusal, head_only, audit);
    }
    if request.body_pending {
        let read = request_body::AwaitBody::new(state, request, route, now_ms, None);
        return Exchange::operating(Box::new(read), head_only, audit);
    }
    let ctx = Ctx { state: &state, recipient, request: &request, now_ms };
    dispatch(&ctx, &route).into_exchange(head_only, audit)
}

/// What an authenticated, routed request turns into.
pub(crate) enum Dispatch {
    /// The answer is ready.
    Respond(Response),
    /// The answer needs IO first.
    Operate(Box<dyn Operation>),
}

impl Dispatch {
    fn into_exchange(self, head_only: bool, audit: AuditEvent) -> Exchange {
        match self {
            Dispatch::Respond(response) => Exchange::responding(response, head_only, audit),
            Dispatch::Operate(op) => Exchange::operating(op, head_only, audit),
        }
    }
}

/// Hands an authenticated request (with its body) to its endpoint.
fn dispatch(ctx: &Ctx<'_>, route: &Route) -> Dispatch {
    match route {
        Route::Table { path, op } => match table::start(ctx, path, *op) {
            Ok(read) => Dispatch::Operate(Box::new(read)),
            Err(e) => Dispatch::Respond(error_response(&e)),
        },
        Route::Credentials { path, family, version } => credentials::start(ctx, path, *family, version.as_ref()),
        Route::Files { path, family, version, file } => files::start(
            ctx,
            &files::FilesRequest { path, family: *family, version: version.as_ref(), file: file.as_deref() },
        ),
        _ => Dispatch::Respond(discovery::respond(ctx, route).unwrap_or_else(|e| error_response(&e))),
    }
}

/// 401 `UNAUTHENTICATED`. The client learns only that the token is missing, invalid or expired;
/// `detail` (why, for the provider's log) goes to the audit event.
fn unauthenticated(error: AuthError, detail: String) -> Response {
    let mut response = error_response(&ApiError::new(ErrorCode::Unauthenticated, error.message()));
    let challenge = match error {
        AuthError::Missing => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    };
    response.head.headers.push(("WWW-Authenticate".into(), challenge.into()));
    response.detail = Some(detail);
    response
}

fn route_error(e: RouteError) -> Response {
    match e {
        RouteError::NotFound => error_response(&ApiError::not_found("No such endpoint")),
        RouteError::BadFilePath => {
            error_response(&ApiError::invalid("The file path must be relative, without '.', '..' or empty segments"))
        }
        RouteError::BadEncoding => {
            error_response(&ApiError::invalid("The request path is not valid percent-encoded UTF-8"))
        }
        RouteError::MethodNotAllowed(allowed) => {
            let mut r =
                error_response(&ApiError::new(ErrorCode::MethodNotAllowed, format!("Use {allowed} for this endpoint")));
            r.head.headers.push(("Allow".into(), allowed.into()));
            r
        }
    }
}

fn note_names(audit: &mut AuditEvent, route: &Route) {
    match route {
        Route::ListShares => {}
        Route::GetShare { share } | Route::ListSchemas { share } | Route::ListAllAssets { share, .. } => {
            audit.share = Some(share.clone());
        }
        Route::ListAssets { share, schema, .. } => {
            audit.share = Some(share.clone());
            audit.schema = Some(schema.clone());
        }
        Route::GetAsset { path, .. }
        | Route::Table { path, .. }
        | Route::Credentials { path, .. }
        | Route::Files { path, .. }
        | Route::ListModelVersions { path }
        | Route::GetModelVersion { path, .. } => {
            audit.share = Some(path.share.clone());
            audit.schema = Some(path.schema.clone());
            audit.asset = Some(path.name.clone());
        }
    }
}
