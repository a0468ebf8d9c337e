//! Maps `(method, path)` to a [`Route`]. Path segments are percent-decoded one by one; nothing
//! is normalised.

use crate::catalog::AssetFamily;
use crate::http::{decode_segment, Method};

/// The names in an asset path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetPath {
    /// The share name as sent.
    pub share: String,
    /// The schema name as sent.
    pub schema: String,
    /// The asset name as sent.
    pub name: String,
}

/// The operations on one Delta table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableOp {
    /// `GET …/version` (or the legacy `HEAD …/tables/{t}`).
    Version,
    /// `GET …/metadata`.
    Metadata,
    /// `POST …/query`.
    Query,
    /// `GET …/changes`.
    Changes,
}

/// A model version named by number or by alias, as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionRef {
    /// `…/versions/{number}`
    Number(String),
    /// `…/aliases/{alias}`
    Alias(String),
}

/// A matched route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /shares`
    ListShares,
    /// `GET /shares/{share}`
    GetShare {
        /// The share name.
        share: String,
    },
    /// `GET /shares/{share}/schemas`
    ListSchemas {
        /// The share name.
        share: String,
    },
    /// `GET /shares/{share}/all-{family}`
    ListAllAssets {
        /// The share name.
        share: String,
        /// Which asset family.
        family: AssetFamily,
    },
    /// `GET /shares/{share}/schemas/{schema}/{family}`
    ListAssets {
        /// The share name.
        share: String,
        /// The schema name.
        schema: String,
        /// Which asset family.
        family: AssetFamily,
    },
    /// `GET /shares/{share}/schemas/{schema}/{family}/{name}`
    GetAsset {
        /// The asset path.
        path: AssetPath,
        /// Which asset family.
        family: AssetFamily,
    },
    /// `POST …/{family}/{name}/temporary-{kind}-credentials`, and for a model version
    /// `POST …/models/{model}/versions/{version}/temporary-model-version-credentials`.
    Credentials {
        /// The asset path.
        path: AssetPath,
        /// Which asset family.
        family: AssetFamily,
        /// The model version (models only).
        version: Option<VersionRef>,
    },
    /// `GET …/models/{model}/versions`
    ListModelVersions {
        /// The model path.
        path: AssetPath,
    },
    /// `GET …/models/{model}/versions/{version}` or `…/aliases/{alias}`
    GetModelVersion {
        /// The model path.
        path: AssetPath,
        /// Which version.
        version: VersionRef,
    },
    /// A Delta table operation.
    Table {
        /// The table path.
        path: AssetPath,
        /// The operation.
        op: TableOp,
    },
}

impl Route {
    /// A stable name for logs and audit events.
    pub fn name(&self) -> &'static str {
        match self {
            Route::ListShares => "list_shares",
            Route::GetShare { .. } => "get_share",
            Route::ListSchemas { .. } => "list_schemas",
            Route::ListAllAssets { family, .. } => match family {
                AssetFamily::Table => "list_all_tables",
                AssetFamily::Volume => "list_all_volumes",
                AssetFamily::Model => "list_all_models",
                AssetFamily::Skill => "list_all_skills",
            },
            Route::ListAssets { family, .. } => match family {
                AssetFamily::Table => "list_tables",
                AssetFamily::Volume => "list_volumes",
                AssetFamily::Model => "list_models",
                AssetFamily::Skill => "list_skills",
            },
            Route::GetAsset { family, .. } => match family {
                AssetFamily::Table => "get_table",
                AssetFamily::Volume => "get_volume",
                AssetFamily::Model => "get_model",
                AssetFamily::Skill => "get_skill",
            },
            Route::Credentials { family, .. } => match family {
                AssetFamily::Table => "table_credentials",
                AssetFamily::Volume => "volume_credentials",
                AssetFamily::Model => "model_version_credentials",
                AssetFamily::Skill => "skill_credentials",
            },
            Route::ListModelVersions { .. } => "list_model_versions",
            Route::GetModelVersion { .. } => "get_model_version",
            Route::Table { op, .. } => match op {
                TableOp::Version => "table_version",
                TableOp::Metadata => "table_metadata",
                TableOp::Query => "query_table",
                TableOp::Changes => "table_changes",
            },
        }
    }
}

/// Why no route matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No route has this path.
    NotFound,
    /// The path exists for the listed methods only.
    MethodNotAllowed(&'static str),
    /// A segment is not valid percent-encoded UTF-8.
    BadEncoding,
}

/// Longest path accepted, so a huge target costs nothing to refuse.
const MAX_PATH_LEN: usize = 8192;

/// The percent-decoded segments of `rest`, a path that starts with `/` (a trailing `/` is
/// ignored): `NotFound` for an empty segment or more than `max`, `BadEncoding` for a segment
/// that does not decode to UTF-8.
pub(crate) fn segments(rest: &str, max: usize) -> Result<Vec<String>, RouteError> {
    let rest = rest.strip_prefix('/').ok_or(RouteError::NotFound)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let raw: Vec<&str> = rest.split('/').collect();
    if raw.len() > max || raw.iter().any(|s| s.is_empty()) {
        return Err(RouteError::NotFound);
    }
    raw.iter().map(|s| decode_segment(s).map(|d| d.into_owned()).ok_or(RouteError::BadEncoding)).collect()
}

/// Matches `path` (already stripped of the query) under `prefix`.
pub fn route(method: Method, prefix: &str, path: &str) -> Result<Route, RouteError> {
    if path.len() > MAX_PATH_LEN {
        return Err(RouteError::NotFound);
    }
    let segs = segments(path.strip_prefix(prefix).ok_or(RouteError::NotFound)?, 9)?;
    let (get, post) = (method == Method::Get, method == Method::Post);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let need = |ok: bool, allowed: &'static str, route: Route| {
        if ok {
            Ok(route)
        } else {
            Err(RouteError::MethodNotAllowed(allowed))
        }
    };
    let asset_path = |share: &str, schema: &str, name: &str| AssetPath {
        share: share.to_string(),
        schema: schema.to_string(),
        name: name.to_string(),
    };
    match s.as_slice() {
        ["shares"] => need(get, "GET", Route::ListShares),
        ["shares", share] => need(get, "GET", Route::GetShare { share: share.to_string() }),
        ["shares", share, "schemas"] => need(get, "GET", Route::ListSchemas { share: share.to_string() }),
        ["shares", share, all] if all.starts_with("all-") => {
            let family = AssetFamily::from_segment(&all[4..]).ok_or(RouteError::NotFound)?;
            need(get, "GET", Route::ListAllAssets { share: share.to_string(), family })
        }
        ["shares", share, "schemas", schema, family] => {
            let family = AssetFamily::from_segment(family).ok_or(RouteError::NotFound)?;
            need(get, "GET", Route::ListAssets { share: share.to_string(), schema: schema.to_string(), family })
        }
        ["shares", share, "schemas", schema, family, name] => {
            let family = AssetFamily::from_segment(family).ok_or(RouteError::NotFound)?;
            let path = asset_path(share, schema, name);
            if family == AssetFamily::Table && method == Method::Head {
                return Ok(Route::Table { path, op: TableOp::Version });
            }
            need(get, "GET", Route::GetAsset { path, family })
        }
        ["shares", share, "schemas", schema, "tables", name, op] if !op.starts_with("temporary-") => {
            let path = asset_path(share, schema, name);
            match *op {
                "version" => need(get, "GET", Route::Table { path, op: TableOp::Version }),
                "metadata" => need(get, "GET", Route::Table { path, op: TableOp::Metadata }),
                "query" => need(post, "POST", Route::Table { path, op: TableOp::Query }),
                "changes" => need(get, "GET", Route::Table { path, op: TableOp::Changes }),
                _ => Err(RouteError::NotFound),
            }
        }
        ["shares", share, "schemas", schema, "models", name, "versions"] => {
            need(get, "GET", Route::ListModelVersions { path: asset_path(share, schema, name) })
        }
        ["shares", share, "schemas", schema, family, name, op] => {
            let family = AssetFamily::from_segment(family).ok_or(RouteError::NotFound)?;
            let kind = match family {
                AssetFamily::Table => "table",
                AssetFamily::Volume => "volume",
                AssetFamily::Skill => "skill",
                AssetFamily::Model => return Err(RouteError::NotFound),
            };
            if op.strip_prefix("temporary-").and_then(|o| o.strip_suffix("-credentials")) != Some(kind) {
                return Err(RouteError::NotFound);
            }
            need(post, "POST", Route::Credentials { path: asset_path(share, schema, name), family, version: None })
        }
        ["shares", share, "schemas", schema, "models", name, kind @ ("versions" | "aliases"), version] => {
            let version = match *kind {
                "versions" => VersionRef::Number(version.to_string()),
                _ => VersionRef::Alias(version.to_string()),
            };
            need(get, "GET", Route::GetModelVersion { path: asset_path(share, schema, name), version })
        }
        ["shares", share, "schemas", schema, "models", name, "versions", version, "temporary-model-version-credentials" | "temporary-model-credentials"] => {
            need(
                post,
                "POST",
                Route::Credentials {
                    path: asset_path(share, schema, name),
                    family: AssetFamily::Model,
                    version: Some(VersionRef::Number(version.to_string())),
                },
            )
        }
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/delta-sharing";

    #[test]
    fn matches_discovery_routes() {
        assert_eq!(route(Method::Get, P, "/delta-sharing/shares"), Ok(Route::ListShares));
        assert_eq!(route(Method::Get, P, "/delta-sharing/shares/"), Ok(Route::ListShares));
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s%201/all-tables"),
            Ok(Route::ListAllAssets { share: "s 1".into(), family: AssetFamily::Table })
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/volumes"),
            Ok(Route::ListAssets { share: "s".into(), schema: "d".into(), family: AssetFamily::Volume })
        );
        assert_eq!(
            route(Method::Head, P, "/delta-sharing/shares/s/schemas/d/tables/t"),
            Ok(Route::Table {
                path: AssetPath { share: "s".into(), schema: "d".into(), name: "t".into() },
                op: TableOp::Version
            })
        );
    }

    #[test]
    fn refuses_unknown_paths_and_methods() {
        assert_eq!(route(Method::Get, P, "/other/shares"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, P, "/delta-sharingX/shares"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, P, "/delta-sharing/shares//schemas"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, P, "/delta-sharing/shares/s/all-things"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Post, P, "/delta-sharing/shares"), Err(RouteError::MethodNotAllowed("GET")));
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/tables/t/query"),
            Err(RouteError::MethodNotAllowed("POST"))
        );
        assert_eq!(route(Method::Get, P, "/delta-sharing/shares/%ff"), Err(RouteError::BadEncoding));
        assert_eq!(
            route(Method::Post, P, "/delta-sharing/shares/s/schemas/d/volumes/v/temporary-table-credentials"),
            Err(RouteError::NotFound)
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/tables/t/temporary-table-credentials"),
            Err(RouteError::MethodNotAllowed("POST"))
        );
    }

    #[test]
    fn matches_credential_and_model_version_routes() {
        let path = |name: &str| AssetPath { share: "s".into(), schema: "d".into(), name: name.into() };
        assert_eq!(
            route(Method::Post, P, "/delta-sharing/shares/s/schemas/d/tables/t/temporary-table-credentials"),
            Ok(Route::Credentials { path: path("t"), family: AssetFamily::Table, version: None })
        );
        assert_eq!(
            route(Method::Post, P, "/delta-sharing/shares/s/schemas/d/skills/k/temporary-skill-credentials"),
            Ok(Route::Credentials { path: path("k"), family: AssetFamily::Skill, version: None })
        );
        for op in ["temporary-model-version-credentials", "temporary-model-credentials"] {
            assert_eq!(
                route(Method::Post, P, &format!("/delta-sharing/shares/s/schemas/d/models/m/versions/3/{op}")),
                Ok(Route::Credentials {
                    path: path("m"),
                    family: AssetFamily::Model,
                    version: Some(VersionRef::Number("3".into()))
                })
            );
        }
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/models/m/versions"),
            Ok(Route::ListModelVersions { path: path("m") })
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/models/m/aliases/Champion"),
            Ok(Route::GetModelVersion { path: path("m"), version: VersionRef::Alias("Champion".into()) })
        );
    }
}
