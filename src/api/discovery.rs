//! Discovery endpoints: shares, schemas and asset lists, with signed page tokens.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::value::RawValue;

use super::response::json_response;
use super::Ctx;
use crate::catalog::config::{AssetConfig, AssetKind, ModelVersionConfig};
use crate::catalog::names::fold;
use crate::catalog::{Asset, AssetFamily, Governance, Schema, Share, StoreConfig};
use crate::exchange::Response;
use crate::protocol::paging::{parse_max_results, ListScope, Page, Pager};
use crate::protocol::ApiError;
use crate::router::{AssetPath, Route, VersionRef};
use crate::vend;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShareItem<'a> {
    name: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct SchemaItem<'a> {
    name: &'a str,
    share: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssetItem<'a> {
    name: &'a str,
    schema: &'a str,
    share: &'a str,
    share_id: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    auxiliary_locations: Vec<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    access_modes: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    license: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatibility: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_tools: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    governance: Option<&'a Governance>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<T: Serialize> {
    items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// Answers a discovery route.
pub(super) fn respond(ctx: &Ctx<'_>, route: &Route) -> Result<Response, ApiError> {
    match route {
        Route::ListShares => {
            let shares: Vec<&Share> = ctx
                .state
                .catalog
                .shares
                .iter()
                .enumerate()
                .filter(|(i, _)| ctx.recipient.can_read(*i))
                .map(|(_, s)| s)
                .collect();
            list(ctx, route, "", "", &shares, |s| listed_share(s))
        }
        Route::GetShare { share } => {
            #[derive(Serialize)]
            struct Wrapped<'a> {
                share: &'a RawValue,
            }
            json_response(&Wrapped { share: listed_share(granted_share(ctx, share)?) })
        }
        Route::ListSchemas { share } => {
            let s = granted_share(ctx, share)?;
            let schemas: Vec<&Schema> = s.schemas.iter().collect();
            list(ctx, route, &fold(share), "", &schemas, |sc| SchemaItem { name: &sc.name, share: &s.name })
        }
        Route::ListAllAssets { share, family } if ctx.recipient.denies_risk_labels() => {
            let s = granted_share(ctx, share)?;
            let visible: Vec<(&Schema, &Asset)> = s
                .schemas
                .iter()
                .flat_map(|sc| sc.assets_of(*family).map(move |a| (sc, a)))
                .filter(|(_, a)| ctx.recipient.may_see(a.risk_labels()))
                .collect();
            list(ctx, route, &fold(share), "", &visible, |(sc, a)| asset_item(ctx, s, sc, a, false))
        }
        Route::ListAssets { share, schema, family } if ctx.recipient.denies_risk_labels() => {
            let s = granted_share(ctx, share)?;
            let sc = s.schema(schema).ok_or_else(|| ApiError::not_found(format!("schema '{schema}' not found")))?;
            let visible: Vec<&Asset> =
                sc.assets_of(*family).filter(|a| ctx.recipient.may_see(a.risk_labels())).collect();
            list(ctx, route, &fold(share), &fold(schema), &visible, |a| asset_item(ctx, s, sc, a, false))
        }
        Route::ListAllAssets { share, family } => {
            let s = granted_share(ctx, share)?;
            let page = cut_page(ctx, route, &fold(share), "", s.count_of(*family))?;
            let items =
                s.page_of(*family, page.range).into_iter().map(|(sc, a)| asset_item(ctx, s, sc, a, false)).collect();
            json_response(&ListBody { items, next_page_token: page.next_token })
        }
        Route::ListAssets { share, schema, family } => {
            let s = granted_share(ctx, share)?;
            let sc = s.schema(schema).ok_or_else(|| ApiError::not_found(format!("schema '{schema}' not found")))?;
            let page = cut_page(ctx, route, &fold(share), &fold(schema), sc.count_of(*family))?;
            let items = sc
                .assets_of(*family)
                .skip(page.range.start)
                .take(page.range.len())
                .map(|a| asset_item(ctx, s, sc, a, false))
                .collect();
            json_response(&ListBody { items, next_page_token: page.next_token })
        }
        Route::GetAsset { path, family } => {
            let (s, sc, a) = resolve_asset(ctx, path, *family)?;
            json_response(&asset_item(ctx, s, sc, a, true))
        }
        Route::ListModelVersions { path } => {
            let (s, sc, model) = resolve_asset(ctx, path, AssetFamily::Model)?;
            let ready: Vec<&ModelVersionConfig> =
                model.config.versions.iter().filter(|v| v.status == "READY").collect();
            list(ctx, route, &fold(&s.name), &fold(&sc.name), &ready, |v| version_item(ctx, s, sc, model, v))
        }
        Route::GetModelVersion { path, version } => {
            let (s, sc, model) = resolve_asset(ctx, path, AssetFamily::Model)?;
            json_response(&version_item(ctx, s, sc, model, model_version(&model.config, version)?))
        }
        Route::Table { .. } | Route::Credentials { .. } | Route::Files { .. } => Err(ApiError::internal()),
    }
}

/// Finds a share the caller may read. A share without a grant is reported exactly like a missing
/// one, so its existence does not leak.
pub(crate) fn granted_share<'a>(ctx: &Ctx<'a>, name: &str) -> Result<&'a Share, ApiError> {
    match ctx.state.catalog.share(name) {
        Some((i, share)) if ctx.recipient.can_read(i) => Ok(share),
        _ => Err(ApiError::not_found(format!("share '{name}' not found"))),
    }
}

/// Finds an asset of `family` under a granted share, visible to the caller. Every asset route
/// (discovery, table reads, credentials, files) resolves its asset here.
pub(super) fn resolve_asset<'a>(
    ctx: &Ctx<'a>,
    path: &AssetPath,
    family: AssetFamily,
) -> Result<(&'a Share, &'a Schema, &'a Asset), ApiError> {
    let share = granted_share(ctx, &path.share)?;
    let missing = || {
        ApiError::not_found(format!(
            "[Share/Schema/{}] '{}/{}/{}' does not exist, please contact your share provider for further information.",
            family_label(family),
            path.share,
            path.schema,
            path.name
        ))
    };
    let schema = share.schema(&path.schema).ok_or_else(missing)?;
    let asset = schema.asset(family, &path.name).ok_or_else(missing)?;
    // An asset whose risk labels the recipient denies is missing to it, on every route.
    if !ctx.recipient.may_see(asset.risk_labels()) {
        return Err(missing());
    }
    Ok((share, schema, asset))
}

/// The version of `model` that `version` names: 400 for a malformed number, 404 for an unknown
/// version or alias (aliases are case-insensitive).
pub(super) fn model_version<'a>(
    model: &'a AssetConfig,
    version: &VersionRef,
) -> Result<&'a ModelVersionConfig, ApiError> {
    let number = match version {
        VersionRef::Number(n) => n
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid(format!("model version '{n}' is not a non-negative integer")))?,
        VersionRef::Alias(alias) => model
            .aliases
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(alias))
            .map(|(_, v)| *v)
            .ok_or_else(|| ApiError::not_found(format!("model '{}' has no alias '{alias}'", model.name)))?,
    };
    model
        .versions
        .iter()
        .find(|v| v.version == number)
        .ok_or_else(|| ApiError::not_found(format!("model '{}' has no version {number}", model.name)))
}

fn family_label(family: AssetFamily) -> &'static str {
    match family {
        AssetFamily::Table => "Table",
        AssetFamily::Volume => "Volume",
        AssetFamily::Model => "Model",
        AssetFamily::Skill => "Skill",
    }
}

fn list<T, I: Serialize>(
    ctx: &Ctx<'_>,
    route: &Route,
    share: &str,
    schema: &str,
    all: &[T],
    item: impl Fn(&T) -> I,
) -> Result<Response, ApiError> {
    let page = cut_page(ctx, route, share, schema, all.len())?;
    json_response(&ListBody { items: all[page.range].iter().map(item).collect(), next_page_token: page.next_token })
}

/// The page of a `total`-item list that the request's `maxResults` and `pageToken` select.
fn cut_page(ctx: &Ctx<'_>, route: &Route, share: &str, schema: &str, total: usize) -> Result<Page, ApiError> {
    let query = ctx.request.query_pairs();
    let max_results = parse_max_results(query.get("maxResults").as_deref())?;
    let pager = Pager {
        key: &ctx.state.token_key,
        now_ms: ctx.now_ms,
        ttl_ms: i64::from(ctx.state.catalog.page_token_ttl_seconds) * 1000,
    };
    let scope = ListScope { recipient: &ctx.recipient.name, route: route.name(), share, schema };
    pager.page(&scope, total, max_results, query.get("pageToken").as_deref())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelVersionItem<'a> {
    model_name: &'a str,
    schema: &'a str,
    share: &'a str,
    version: i64,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'a str>,
}

fn version_item<'a>(
    ctx: &Ctx<'a>,
    share: &'a Share,
    schema: &'a Schema,
    model: &'a Asset,
    v: &'a ModelVersionConfig,
) -> ModelVersionItem<'a> {
    let store = model.config.store.as_deref();
    ModelVersionItem {
        model_name: &model.config.name,
        schema: &schema.name,
        share: &share.name,
        version: v.version,
        status: &v.status,
        storage_location: store
            .and_then(|name| ctx.state.catalog.stores.get(name).map(|s| location_uri(name, s, &v.path))),
        source: v.source.as_deref(),
        run_id: v.run_id.as_deref(),
        comment: v.comment.as_deref(),
    }
}

/// The share's item, rendered once per catalog.
fn listed_share(s: &Share) -> &RawValue {
    s.listed.get_or_init(|| {
        let item = ShareItem {
            name: &s.name,
            id: &s.id,
            display_name: s.display_name.as_deref(),
            comment: s.comment.as_deref(),
            properties: &s.properties,
        };
        // Strings and a string map always serialize.
        serde_json::value::to_raw_value(&item).unwrap_or_else(|_| RawValue::NULL.to_owned())
    })
}

fn asset_item<'a>(ctx: &Ctx<'a>, share: &'a Share, schema: &'a Schema, asset: &'a Asset, full: bool) -> AssetItem<'a> {
    let c = &asset.config;
    let family = asset.family();
    let store = c.store.as_deref().and_then(|name| Some((name, ctx.state.catalog.stores.get(name)?)));
    let location = |path: &str| store.map(|(name, s)| location_uri(name, s, path));
    let dir = store.is_some_and(|(_, s)| vend::offers_dir(c, s));
    let url = matches!(c.kind, AssetKind::DeltaTable | AssetKind::ParquetDataset)
        && c.store.as_deref().and_then(|name| ctx.state.stores.get(name)).is_some_and(|s| s.signer.signs_urls());
    // Tables say how they can be read; without `dir`, `location` stays private.
    let access_modes: &[&str] = match (family, dir, url) {
        (AssetFamily::Table, true, true) => &["dir", "url"],
        (AssetFamily::Table, true, false) => &["dir"],
        (AssetFamily::Table, false, true) => &["url"],
        _ => &[],
    };
    let format = match c.kind {
        AssetKind::DeltaTable => Some("delta"),
        AssetKind::IcebergTable => Some("iceberg"),
        AssetKind::ParquetDataset => Some("parquet"),
        _ => None,
    };
    AssetItem {
        name: &c.name,
        schema: &schema.name,
        share: &share.name,
        share_id: &share.id,
        id: &asset.id,
        // Listings name the format of tables that are not Delta tables (Iceberg).
        format: format.filter(|f| full || *f == "iceberg"),
        description: c.description.as_deref(),
        comment: c.comment.as_deref(),
        storage_location: c.path.as_deref().filter(|_| family != AssetFamily::Table).and_then(location),
        location: c.path.as_deref().filter(|_| dir).and_then(location),
        auxiliary_locations: if dir {
            c.auxiliary_paths.iter().filter_map(|p| location(p)).collect()
        } else {
            Vec::new()
        },
        access_modes,
        license: c.governance.as_ref().and_then(|g| g.license.as_deref()).filter(|_| family == AssetFamily::Skill),
        compatibility: c.compatibility.as_deref(),
        allowed_tools: c.allowed_tools.as_deref(),
        metadata: &c.metadata,
        governance: c.governance.as_ref(),
    }
}

/// The URI of an asset's root as recipients see it (`s3://bucket/path`, …). Local stores are
/// named by store, never by their directory on the host.
pub(crate) fn location_uri(store_name: &str, store: &StoreConfig, path: &str) -> String {
    let path = path.trim_matches('/');
    match store {
        StoreConfig::S3(s3) => format!("s3://{}/{path}", s3.bucket),
        StoreConfig::Gcs(gcs) => format!("gs://{}/{path}", gcs.bucket),
        StoreConfig::Azure(az) => format!("abfss://{}@{}.dfs.core.windows.net/{path}", az.container, az.account),
        StoreConfig::Local(_) => format!("local://{store_name}/{path}"),
    }
}
