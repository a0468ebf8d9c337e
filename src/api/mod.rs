//! Request handling: routing, authentication ([`surface`], shared with the Iceberg surface),
//! dispatch to the endpoint handlers; signed local-store file URLs ([`local_file`]).

mod admission;
mod authenticate;
pub(crate) mod credentials;
mod discovery;
mod files;
mod local_file;
mod request_body;
mod response;
mod surface;
pub(crate) mod table;

use std::sync::Arc;

use crate::auth::{AuditEvent, Recipient};
use crate::exchange::{Exchange, Operation, Response};
use crate::http::{Method, Request};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::{self, Route, RouteError};
use crate::state::EngineState;

pub(crate) use discovery::{granted_share, location_uri};
pub(crate) use response::{error_response, json_head, json_response};
pub(crate) use surface::{serve, Surface};

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
    if let Some(rest) = local_file::target(&state.catalog.prefix, &request) {
        return local_file::handle(&state, &request, rest, now_ms, audit);
    }
    if let Some(rest) = crate::iceberg::catalog_path(&state.catalog.prefix, request.path()) {
        // Where `rest` lies in the target (it is part of it), so that the request can move on.
        let start = rest.as_ptr() as usize - request.target.as_ptr() as usize;
        let rest = start..start + rest.len();
        return crate::iceberg::handle(state, request, now_ms, rest);
    }
    let route = match router::route(request.method, &state.catalog.prefix, request.path()) {
        Ok(route) => route,
        Err(e) => return Exchange::responding(route_error(e), head_only, audit),
    };
    audit.route = route.name();
    surface::serve::<DeltaSharing>(state, request, route, now_ms, head_only, audit)
}

/// The Delta Sharing surface: its routes, its `{"errorCode","message"}` errors.
pub(crate) struct DeltaSharing;

impl Surface for DeltaSharing {
    type Route = Route;

    fn error(error: ApiError) -> Response {
        error_response(&error)
    }

    fn too_large() -> Response {
        request_body::too_large()
    }

    fn reads_body(_: &Route) -> bool {
        // Every route that takes a body reads it (query, changes, credentials).
        true
    }

    fn dispatch(ctx: &Ctx<'_>, route: &Route) -> Dispatch {
        dispatch(ctx, route)
    }

    fn note(route: Route, audit: &mut AuditEvent) {
        match route {
            Route::ListShares => {}
            Route::GetShare { share } | Route::ListSchemas { share } | Route::ListAllAssets { share, .. } => {
                audit.share = Some(share);
            }
            Route::ListAssets { share, schema, .. } => {
                audit.share = Some(share);
                audit.schema = Some(schema);
            }
            Route::GetAsset { path, .. }
            | Route::Table { path, .. }
            | Route::Credentials { path, .. }
            | Route::Files { path, .. }
            | Route::ListModelVersions { path }
            | Route::GetModelVersion { path, .. } => {
                audit.share = Some(path.share);
                audit.schema = Some(path.schema);
                audit.asset = Some(path.name);
            }
        }
    }
}

/// What an authenticated, routed request turns into.
pub(crate) enum Dispatch {
    /// The answer is ready.
    Respond(Response),
    /// The answer needs IO first.
    Operate(Box<dyn Operation>),
}

impl Dispatch {
    /// The exchange answering with this, noting `audit`.
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
