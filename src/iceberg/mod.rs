//! The Iceberg REST catalog surface, `{prefix}/iceberg/v1/…`: a read-only catalog that
//! unmodified Iceberg clients (pyiceberg's `RestCatalog`) use. It is a second surface over the
//! same engine: recipients and grants, signed page tokens, stores, signers and the grant cache
//! are the Delta Sharing surface's.
//!
//! - A warehouse is a share (`GET /v1/config?warehouse={share}` answers the prefix
//!   `shares/{share}`), a namespace a schema, a table an `iceberg_table` asset.
//! - LoadTable finds the current metadata file through IO needs ([`discover`]) and relays it
//!   byte for byte, streamed ([`load`]), with access delegation ([`access`]): vended
//!   credentials where the store vends, else (S3) remote signing ([`signer`]).
//! - Errors are `{"error":{"message","type","code"}}` ([`error`]).
//! - Recipients authenticate exactly as on the Delta Sharing surface, opaque tokens and
//!   federated (OIDC JWT) ones alike, through [`crate::api::serve`]: the same IP access lists
//!   and rate limits, the same audit; a refused token is a 401 `NotAuthorizedException` with
//!   `WWW-Authenticate: Bearer error="invalid_token"`.

mod access;
pub(crate) mod discover;
mod error;
mod load;
mod route;
mod sign_request;
mod signer;

use std::ops::Range;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::api::{json_response, Ctx, Dispatch, Surface};
use crate::auth::AuditEvent;
use crate::catalog::names::fold;
use crate::catalog::{Asset, AssetFamily, AssetKind, Schema, Share, StoreConfig};
use crate::exchange::{Body, Exchange, Response};
use crate::http::{Method, Request, ResponseHead};
use crate::protocol::paging::{ListScope, Pager};
use crate::protocol::ApiError;
use crate::signing::encode::uri_encode;
use crate::signing::store::StoreSigner;
use crate::state::EngineState;
use crate::vend;
pub(crate) use discover::Discovery;
pub(crate) use error::IcebergError;
pub(crate) use load::{Delegation, TableAccess, TableOperation};
use route::{Route, RouteError, TableOp, TablePath};

/// The path segment the catalog is mounted at, under the engine's prefix.
pub const SEGMENT: &str = "iceberg";

/// Page size when a `pageToken` is sent without `pageSize`.
const DEFAULT_PAGE_SIZE: usize = 100;
/// Largest `pageSize` honoured.
const MAX_PAGE_SIZE: usize = 1000;

/// The endpoints this catalog serves, as `GET /v1/config` lists them.
const ENDPOINTS: [&str; 8] = [
    "GET /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials",
];

/// The part of `path` after `{prefix}/iceberg`, when `path` is under the catalog.
pub(crate) fn catalog_path<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?.strip_prefix('/')?.strip_prefix(SEGMENT)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Answers a request under `{prefix}/iceberg`; `rest` is where the path after it lies in the
/// request target.
pub(crate) fn handle(state: Arc<EngineState>, request: Request, now_ms: i64, rest: Range<usize>) -> Exchange {
    let head_only = request.method == Method::Head;
    let mut audit = AuditEvent {
        route: "iceberg_unknown",
        started_at_ms: now_ms,
        peer: request.peer.clone(),
        ..AuditEvent::default()
    };
    let route = match route::route(request.method, &request.target[rest]) {
        Ok(route) => route,
        Err(e) => return Exchange::responding(route_error(e), head_only, audit),
    };
    audit.route = route.name();
    crate::api::serve::<IcebergRest>(state, request, route, now_ms, head_only, audit)
}

/// The Iceberg REST surface: its routes and `{"error":{…}}` errors. Authentication (opaque and
/// federated), the IP access list and the rate limit are the Delta Sharing surface's.
pub(crate) struct IcebergRest;

impl Surface for IcebergRest {
    type Route = Route;

    fn error(error: ApiError) -> Response {
        IcebergError::from_api(error, None).response()
    }

    fn too_large() -> Response {
        let message = "The request body is larger than 1 MiB";
        IcebergError { status: 413, ..IcebergError::bad_request(message) }.response()
    }

    fn reads_body(route: &Route) -> bool {
        // Only the signer reads its body; a metrics report is dropped unread.
        matches!(route, Route::Table { op: TableOp::Sign, .. })
    }

    fn dispatch(ctx: &Ctx<'_>, route: &Route) -> Dispatch {
        respond(ctx, route).unwrap_or_else(|e| Dispatch::Respond(e.response()))
    }

    fn note(route: Route, audit: &mut AuditEvent) {
        match route {
            Route::Config => {}
            Route::ListNamespaces { share } => audit.share = Some(share),
            Route::Namespace { share, namespace, .. } | Route::ListTables { share, namespace } => {
                audit.share = Some(share);
                audit.schema = Some(namespace);
            }
            Route::Table { path, .. } => {
                audit.share = Some(path.share);
                audit.schema = Some(path.namespace);
                audit.asset = Some(path.table);
            }
        }
    }
}

fn route_error(e: RouteError) -> Response {
    match e {
        RouteError::NotFound => IcebergError::not_found("No such endpoint in this Iceberg catalog").response(),
        RouteError::BadEncoding => {
            IcebergError::bad_request("The request path is not valid percent-encoded UTF-8").response()
        }
        RouteError::ReadOnly(allowed) => {
            let mut r =
                IcebergError::method_not_allowed(format!("This catalog is read-only: use {allowed} for this endpoint"))
                    .response();
            r.head.headers.push(("Allow".into(), allowed.into()));
            r
        }
        RouteError::Unsupported(why) => IcebergError::not_implemented(why).response(),
    }
}

fn respond(ctx: &Ctx<'_>, route: &Route) -> Result<Dispatch, IcebergError> {
    let now = |r: Result<Response, crate::protocol::ApiError>| {
        r.map(Dispatch::Respond).map_err(|e| IcebergError::from_api(e, None))
    };
    match route {
        Route::Config => {
            let query = ctx.request.query_pairs();
            let warehouse = query
                .get("warehouse")
                .filter(|w| !w.is_empty())
                .ok_or_else(|| IcebergError::bad_request("warehouse is required: name the share to read"))?;
            let share = granted(ctx, &warehouse, IcebergError::not_found)?;
            now(json_response(&json!({
                "defaults": {},
                "overrides": {"prefix": format!("shares/{}", uri_encode(&share.name, false))},
                "endpoints": ENDPOINTS,
            })))
        }
        Route::ListNamespaces { share } => {
            let s = granted(ctx, share, IcebergError::no_such_namespace)?;
            if ctx.request.query_pairs().get("parent").is_some_and(|p| !p.is_empty()) {
                // Namespaces have one level: a parent has no children.
                return now(json_response(&json!({"namespaces": []})));
            }
            let (range, next) = page(ctx, route.name(), &fold(share), "", s.schemas.len())?;
            let namespaces: Vec<Value> = s.schemas[range].iter().map(|sc| json!([sc.name])).collect();
            now(json_response(&list_body("namespaces", namespaces, next)))
        }
        Route::Namespace { share, namespace, head } => {
            let schema = namespace_of(granted(ctx, share, IcebergError::no_such_namespace)?, namespace)?;
            if *head {
                return Ok(Dispatch::Respond(no_content()));
            }
            now(json_response(&json!({"namespace": [schema.name], "properties": {}})))
        }
        Route::ListTables { share, namespace } => {
            let schema = namespace_of(granted(ctx, share, IcebergError::no_such_namespace)?, namespace)?;
            let tables: Vec<&Asset> = iceberg_tables(schema).collect();
            let (range, next) = page(ctx, route.name(), &fold(share), &fold(namespace), tables.len())?;
            let identifiers: Vec<Value> =
                tables[range].iter().map(|a| json!({"namespace": [schema.name], "name": a.name()})).collect();
            now(json_response(&list_body("identifiers", identifiers, next)))
        }
        Route::Table { path, op } => table(ctx, path, *op),
    }
}

/// A share the recipient may read; otherwise `missing` (a share without a grant is reported
/// exactly like a missing one).
fn granted<'a>(ctx: &Ctx<'a>, name: &str, missing: fn(String) -> IcebergError) -> Result<&'a Share, IcebergError> {
    crate::api::granted_share(ctx, name).map_err(|e| missing(e.message))
}

/// The schema a (one-level) namespace names.
fn namespace_of<'a>(share: &'a Share, namespace: &str) -> Result<&'a Schema, IcebergError> {
    share
        .schema(namespace)
        .filter(|_| !namespace.contains('\u{1f}'))
        .ok_or_else(|| IcebergError::no_such_namespace(format!("Namespace does not exist: {namespace}")))
}

fn iceberg_tables(schema: &Schema) -> impl Iterator<Item = &Asset> + '_ {
    schema.assets_of(AssetFamily::Table).filter(|a| a.config.kind == AssetKind::IcebergTable)
}

fn list_body(field: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(field.into(), Value::Array(items));
    if let Some(token) = next {
        body.insert("next-page-token".into(), token.into());
    }
    Value::Object(body)
}

/// The part of a `total`-item list to answer: everything without a `pageToken` (clients that
/// never page get the whole list), else one page of `pageSize` with a signed token.
fn page(
    ctx: &Ctx<'_>,
    route: &str,
    share: &str,
    schema: &str,
    total: usize,
) -> Result<(std::ops::Range<usize>, Option<String>), IcebergError> {
    let query = ctx.request.query_pairs();
    let Some(token) = query.get("pageToken") else { return Ok((0..total, None)) };
    let size = match query.get("pageSize") {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => {
            text.trim().parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
                IcebergError::bad_request(format!("pageSize must be a number from 1 to {MAX_PAGE_SIZE}"))
            })?
        }
    };
    let pager = Pager {
        key: &ctx.state.token_key,
        now_ms: ctx.now_ms,
        ttl_ms: i64::from(ctx.state.catalog.page_token_ttl_seconds) * 1000,
    };
    let scope = ListScope { recipient: &ctx.recipient.name, route, share, schema };
    let page = pager
        .page(&scope, total, size, Some(&token))
        .map_err(|e| IcebergError::bad_request(e.message.replace("'nextPageToken'", "pageToken")))?;
    Ok((page.range, page.next_token))
}

fn no_content() -> Response {
    Response {
        head: ResponseHead { status: 204, headers: Vec::new() },
        body: Body::Empty,
        error_code: None,
        detail: None,
    }
}

/// The table routes: existence, metrics, LoadTable, LoadCredentials and the signer.
fn table(ctx: &Ctx<'_>, path: &TablePath, op: TableOp) -> Result<Dispatch, IcebergError> {
    let share = granted(ctx, &path.share, IcebergError::no_such_table)?;
    let schema = namespace_of(share, &path.namespace)?;
    let asset =
        schema.asset(AssetFamily::Table, &path.table).filter(|a| a.config.kind == AssetKind::IcebergTable).ok_or_else(
            || IcebergError::no_such_table(format!("Table does not exist: {}.{}", path.namespace, path.table)),
        )?;
    if matches!(op, TableOp::Exists | TableOp::Metrics) {
        return Ok(Dispatch::Respond(no_content()));
    }
    let (Some(store_name), Some(root)) = (asset.config.store.as_deref(), asset.config.path.as_deref()) else {
        return Err(IcebergError::from_api(crate::protocol::ApiError::internal(), None));
    };
    let root = root.trim_matches('/');
    if op == TableOp::Sign {
        let Some(StoreSigner::S3(presigner)) = ctx.state.stores.get(store_name).map(|s| &s.signer) else {
            return Err(IcebergError::bad_request("Remote signing serves tables in S3 stores only"));
        };
        let body = signer::sign(presigner, root, &ctx.request.body, ctx.now_ms)?;
        let response = Response {
            head: crate::api::json_head(200, body.len()),
            body: Body::Bytes(body),
            error_code: None,
            detail: None,
        };
        return Ok(Dispatch::Respond(response));
    }
    let store = ctx.state.catalog.stores.get(store_name).ok_or_else(|| {
        IcebergError::from_api(crate::protocol::ApiError::internal(), Some(format!("unknown store {store_name}")))
    })?;
    let access = TableAccess {
        state: ctx.state.clone(),
        store_name: store_name.to_string(),
        location: crate::api::location_uri(store_name, store, root),
        root: root.to_string(),
        recipient: ctx.recipient.name.clone(),
        now_ms: ctx.now_ms,
        delegation: delegation(ctx, store, &[&share.name, &schema.name, asset.name()]),
    };
    Ok(Dispatch::Operate(Box::new(match op {
        TableOp::Credentials => TableOperation::credentials(access),
        _ => TableOperation::load(access, Discovery::new(store_name, root, asset.config.metadata_path.as_deref())?),
    })))
}

/// How the table's files are reached: vended credentials where the store vends (unless the
/// client asks for remote signing only), remote signing for other S3 stores, else nothing.
fn delegation(ctx: &Ctx<'_>, store: &StoreConfig, names: &[&str; 3]) -> Delegation {
    let wants_signing = ctx
        .request
        .header_value("x-iceberg-access-delegation")
        .is_some_and(|v| v.split(',').all(|mode| mode.trim() == "remote-signing"));
    match store {
        StoreConfig::S3(s3) if !vend::vends(store) || wants_signing => {
            let endpoint = format!(
                "v1/shares/{}/namespaces/{}/tables/{}/sign",
                uri_encode(names[0], false),
                uri_encode(names[1], false),
                uri_encode(names[2], false)
            );
            let base = ctx.state.catalog.endpoint.as_deref().map(|e| format!("{}/{SEGMENT}", e.trim_end_matches('/')));
            Delegation::Properties(access::remote_signing(s3, base.as_deref(), &endpoint))
        }
        _ if vend::vends(store) => Delegation::Vend,
        _ => Delegation::Properties(serde_json::Map::new()),
    }
}
