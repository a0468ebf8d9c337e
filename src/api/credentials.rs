//! `POST …/temporary-{table,volume,skill,model-version}-credentials`: read-only credentials for
//! one asset's storage prefix (`dir` access).
//!
//! Tables answer the wrapped shape `{"credentials":{"location",…,"expirationTime"}}` that Delta
//! Sharing clients parse; volumes, skills and model versions answer the flat shape.

use serde_json::{Map, Value};

use super::discovery::{location_uri, model_version, resolve_asset};
use super::response::json_response;
use super::{error_response, Ctx, Dispatch};
use crate::catalog::{Asset, AssetFamily, StoreConfig};
use crate::exchange::{IoNeed, IoResult, Operation, Response, Turn};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::{AssetPath, VersionRef};
use crate::vend::{self, Grant, Obtain, PendingGrant, Progress, VendError, VendTarget};

/// Where an asset (or model version) lives, resolved from the catalog.
pub(super) struct Location<'a> {
    pub store_name: &'a str,
    pub store: &'a StoreConfig,
    /// The key prefix of its root, without leading or trailing `/`.
    pub prefix: String,
    /// The URI recipients know the asset by.
    pub uri: String,
}

/// Answers a credentials route.
pub(super) fn start(ctx: &Ctx<'_>, path: &AssetPath, family: AssetFamily, version: Option<&VersionRef>) -> Dispatch {
    match prepare(ctx, path, family, version) {
        Ok(dispatch) => dispatch,
        Err(e) => Dispatch::Respond(error_response(&e)),
    }
}

fn prepare(
    ctx: &Ctx<'_>,
    path: &AssetPath,
    family: AssetFamily,
    version: Option<&VersionRef>,
) -> Result<Dispatch, ApiError> {
    let (_, _, asset) = resolve_asset(ctx, path, family)?;
    let mut location = locate(ctx, asset, version)?;
    let requested = requested_location(&ctx.request.body)?;
    if let (AssetFamily::Table, Some(requested)) = (family, requested) {
        location = table_location(asset, location, &requested)?;
    }
    let store = location.store;
    if vend::vends(store) && !vend::offers_dir(&asset.config, store) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            "this table is shared for url access only: its history is not shared, and its directory holds all of it",
        ));
    }
    let shape = Shape { wrapped: family == AssetFamily::Table, location: location.uri };
    let vendor = &ctx.state.stores.get(location.store_name).ok_or_else(ApiError::internal)?.vendor;
    let target = VendTarget {
        vendor,
        prefix: &location.prefix,
        recipient: ctx.recipient.name.as_str(),
        ttl_seconds: ctx.state.catalog.credential_ttl_seconds,
        now_ms: ctx.now_ms,
    };
    match vend::obtain(&ctx.state.credentials, &target, location.store_name) {
        Ok(Obtain::Ready(grant)) => Ok(Dispatch::Respond(shape.respond(&grant)?)),
        Ok(Obtain::Pending(pending)) => {
            Ok(Dispatch::Operate(Box::new(VendOperation { pending, shape, state: ctx.state.clone() })))
        }
        Err(e) => Ok(Dispatch::Respond(vend_error(e))),
    }
}

/// The store, prefix and URI of the asset (or of the model version).
pub(super) fn locate<'a>(
    ctx: &Ctx<'a>,
    asset: &'a Asset,
    version: Option<&VersionRef>,
) -> Result<Location<'a>, ApiError> {
    let config = &asset.config;
    let store_name = config.store.as_deref().ok_or_else(no_storage)?;
    let path = match version {
        None => config.path.as_deref().ok_or_else(no_storage)?,
        Some(version) => {
            let found = model_version(config, version)?;
            if found.status != "READY" {
                return Err(ApiError::invalid(format!(
                    "model version {} is {}: only READY versions can be read",
                    found.version, found.status
                )));
            }
            &found.path
        }
    };
    let store = ctx.state.catalog.stores.get(store_name).ok_or_else(ApiError::internal)?;
    Ok(Location {
        store_name,
        store,
        prefix: path.trim_matches('/').to_string(),
        uri: location_uri(store_name, store, path),
    })
}

/// The table root or auxiliary location `requested` names.
fn table_location<'a>(asset: &'a Asset, root: Location<'a>, requested: &str) -> Result<Location<'a>, ApiError> {
    let wanted = normalise(requested);
    if wanted == normalise(&root.uri) {
        return Ok(root);
    }
    asset
        .config
        .auxiliary_paths
        .iter()
        .map(|aux| Location {
            store_name: root.store_name,
            store: root.store,
            prefix: aux.trim_matches('/').to_string(),
            uri: location_uri(root.store_name, root.store, aux),
        })
        .find(|aux| normalise(&aux.uri) == wanted)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "location '{requested}' is not this table's location or one of its auxiliary locations"
            ))
        })
}

fn no_storage() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedOperation, "this asset has no storage location to grant access to")
}

/// The optional `location` of the request body. An empty body is `{}`; other fields (such as
/// `operation`) are ignored.
fn requested_location(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::malformed("the request body is not valid JSON"))?;
    let Value::Object(fields) = parsed else {
        return Err(ApiError::malformed("the request body must be a JSON object"));
    };
    match fields.get("location") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::malformed("`location` must be a string")),
    }
}

/// A location without its trailing `/`, with Hadoop's `s3a`/`s3n` schemes read as `s3`.
fn normalise(location: &str) -> String {
    let trimmed = location.trim_end_matches('/');
    for alias in ["s3a://", "s3n://"] {
        if let Some(rest) = trimmed.strip_prefix(alias) {
            return format!("s3://{rest}");
        }
    }
    trimmed.to_string()
}

/// How the grant is written: wrapped with the location (tables) or flat.
struct Shape {
    wrapped: bool,
    location: String,
}

impl Shape {
    fn respond(&self, grant: &Grant) -> Result<Response, ApiError> {
        let fields = grant.fields();
        if self.wrapped {
            let mut inner = Map::new();
            inner.insert("location".into(), Value::String(self.location.clone()));
            inner.extend(fields);
            let mut outer = Map::new();
            outer.insert("credentials".into(), Value::Object(inner));
            json_response(&outer)
        } else {
            json_response(&fields)
        }
    }
}

/// The status, message and log detail of a failed vend.
pub(crate) fn vend_api_error(e: VendError) -> (ApiError, Option<String>) {
    let (code, detail) = match &e {
        VendError::NotVended(_) => (ErrorCode::UnsupportedOperation, None),
        VendError::Provider { detail, .. } => (ErrorCode::CatalogError, Some(detail.clone())),
        VendError::Config(why) => (ErrorCode::InternalError, Some(why.clone())),
    };
    let message = match code {
        ErrorCode::InternalError => "credentials could not be issued: the server's storage settings are invalid".into(),
        _ => e.to_string(),
    };
    (ApiError::new(code, message), detail)
}

fn vend_error(e: VendError) -> Response {
    let (error, detail) = vend_api_error(e);
    let mut response = error_response(&error);
    response.detail = detail;
    response
}

/// A vend that needs HTTPS calls, driven through the exchange.
pub(super) struct VendOperation {
    pending: PendingGrant,
    shape: Shape,
    state: std::sync::Arc<crate::state::EngineState>,
}

impl Operation for VendOperation {
    fn resume(&mut self, input: Option<IoResult>) -> Turn {
        match self.pending.advance(&self.state.credentials, input) {
            Ok(Progress::Call(call)) => Turn::Need(IoNeed::Http(call)),
            Ok(Progress::Done(grant)) => {
                Turn::Respond(self.shape.respond(&grant).unwrap_or_else(|e| error_response(&e)))
            }
            Err(e) => Turn::Respond(vend_error(e)),
        }
    }
}
