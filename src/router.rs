//! Maps `(method, path)` to a [`Route`]. Path segments are percent-decoded one by one; nothing
//! is normalised.

use std::borrow::Cow;

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
    /// `GET …/{volumes|skills}/{name}/files`, `…/models/{m}/{versions|aliases}/{v}/files`, and
    /// `GET|HEAD …/files/{path}` for one file (an OpenSharing extension).
    Files {
        /// The asset path.
        path: AssetPath,
        /// Volume, skill or model.
        family: AssetFamily,
        /// The model version (models only).
        version: Option<VersionRef>,
        /// One file's path relative to the root; `None` for the listing.
        file: Option<String>,
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
            Route::Files { file: None, .. } => "list_files",
            Route::Files { file: Some(_), .. } => "get_file",
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
    /// A file path with `.`, `..` or empty segments, or one that leaves the asset root.
    BadFilePath,
}

/// Longest path accepted, so a huge target costs nothing to refuse.
const MAX_PATH_LEN: usize = 8192;

/// Most segments a route has.
const MAX_SEGMENTS: usize = 9;

/// The percent-decoded segments of a path: borrowed from the path, without a heap
/// allocation, unless the path has an escape.
pub(crate) struct Segments<'a> {
    raw: [&'a str; MAX_SEGMENTS],
    len: usize,
    /// The segments decoded, when the path has an escape.
    decoded: Vec<Cow<'a, str>>,
}

impl<'a> Segments<'a> {
    /// The segments of `rest`, a path that starts with `/` (a trailing `/` is ignored):
    /// `NotFound` for an empty segment or more than nine, `BadEncoding` for a segment that
    /// does not decode to UTF-8.
    pub(crate) fn parse(rest: &'a str) -> Result<Segments<'a>, RouteError> {
        let rest = rest.strip_prefix('/').ok_or(RouteError::NotFound)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut out = Segments { raw: [""; MAX_SEGMENTS], len: 0, decoded: Vec::new() };
        let mut escaped = false;
        let mut start = 0;
        // Segments are short: one byte loop, not a searcher per segment.
        for (i, b) in rest.bytes().enumerate() {
            escaped |= b == b'%';
            if b == b'/' {
                out.push(rest, start, i)?;
                start = i + 1;
            }
        }
        out.push(rest, start, rest.len())?;
        // Only segments with an escape change (and may turn out not to be UTF-8).
        if escaped {
            for raw in &out.raw[..out.len] {
                out.decoded.push(decode_segment(raw).ok_or(RouteError::BadEncoding)?);
            }
        }
        Ok(out)
    }

    /// Adds `rest[start..end]`, which lies between `/`s or ends of `rest`.
    fn push(&mut self, rest: &'a str, start: usize, end: usize) -> Result<(), RouteError> {
        if start == end || self.len == MAX_SEGMENTS {
            return Err(RouteError::NotFound);
        }
        // Next to an ASCII `/` or an end: character boundaries.
        self.raw[self.len] = rest.get(start..end).ok_or(RouteError::NotFound)?;
        self.len += 1;
        Ok(())
    }

    /// The segments as string slices, to match with a slice pattern: the first `len` of the
    /// array, and `len`.
    pub(crate) fn strs(&self) -> ([&str; MAX_SEGMENTS], usize) {
        match self.decoded.is_empty() {
            true => (self.raw, self.len),
            false => (std::array::from_fn(|i| self.decoded.get(i).map_or("", AsRef::as_ref)), self.len),
        }
    }
}

/// Matches `path` (already stripped of the query) under `prefix`.
pub fn route(method: Method, prefix: &str, path: &str) -> Result<Route, RouteError> {
    if path.len() > MAX_PATH_LEN {
        return Err(RouteError::NotFound);
    }
    let rest = path.strip_prefix(prefix).ok_or(RouteError::NotFound)?;
    let inner = rest.strip_prefix('/').ok_or(RouteError::NotFound)?;
    if let Some(files) = files_route(method, inner.strip_suffix('/').unwrap_or(inner))? {
        return Ok(files);
    }
    let segs = Segments::parse(rest)?;
    let (get, post) = (method == Method::Get, method == Method::Post);
    let (s, len) = segs.strs();
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
    match &s[..len] {
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

/// Matches the files routes, whose file path has any number of segments. `None` when `rest`
/// is not a files route.
fn files_route(method: Method, rest: &str) -> Result<Option<Route>, RouteError> {
    let parts = match rest.split('/').nth(4) {
        Some("volumes" | "skills") => 8,
        Some("models") => 10,
        _ => return Ok(None),
    };
    let raw: Vec<&str> = rest.splitn(parts, '/').collect();
    let (names, tail) = match raw.as_slice() {
        ["shares", _, "schemas", _, "volumes" | "skills", _, "files", tail @ ..] => (&raw[..6], tail),
        ["shares", _, "schemas", _, "models", _, "versions" | "aliases", _, "files", tail @ ..] => (&raw[..8], tail),
        _ => return Ok(None),
    };
    let mut segs = Vec::with_capacity(names.len());
    for s in names {
        if s.is_empty() {
            return Err(RouteError::NotFound);
        }
        segs.push(decode_segment(s).ok_or(RouteError::BadEncoding)?.into_owned());
    }
    let file = match tail {
        [] => None,
        [file] => Some(file_path(file)?),
        _ => return Err(RouteError::NotFound),
    };
    let allowed = if file.is_some() { "GET, HEAD" } else { "GET" };
    if method != Method::Get && !(method == Method::Head && file.is_some()) {
        return Err(RouteError::MethodNotAllowed(allowed));
    }
    let path = AssetPath { share: segs[1].clone(), schema: segs[3].clone(), name: segs[5].clone() };
    let family = AssetFamily::from_segment(&segs[4]).ok_or(RouteError::NotFound)?;
    let version = match segs.get(6).map(String::as_str) {
        Some("versions") => Some(VersionRef::Number(segs[7].clone())),
        Some(_) => Some(VersionRef::Alias(segs[7].clone())),
        None => None,
    };
    Ok(Some(Route::Files { path, family, version, file }))
}

/// Decodes a file path (`a/b%20c.txt`) segment by segment. Refuses `.`, `..` and empty
/// segments, and segments that decode to `/` or NUL: none may leave or rename the root.
fn file_path(raw: &str) -> Result<String, RouteError> {
    let mut path = String::with_capacity(raw.len());
    for (i, s) in raw.split('/').enumerate() {
        let seg = decode_segment(s).ok_or(RouteError::BadEncoding)?;
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['/', '\0']) {
            return Err(RouteError::BadFilePath);
        }
        if i > 0 {
            path.push('/');
        }
        path.push_str(&seg);
    }
    Ok(path)
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
    fn matches_files_routes_and_refuses_escaping_paths() {
        let path = |name: &str| AssetPath { share: "s".into(), schema: "d".into(), name: name.into() };
        let files = |family, version, file: Option<&str>| Route::Files {
            path: path(if family == AssetFamily::Model { "m" } else { "v" }),
            family,
            version,
            file: file.map(str::to_string),
        };
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/volumes/v/files"),
            Ok(files(AssetFamily::Volume, None, None))
        );
        assert_eq!(
            route(Method::Head, P, "/delta-sharing/shares/s/schemas/d/volumes/v/files/a/b%20c.txt"),
            Ok(files(AssetFamily::Volume, None, Some("a/b c.txt")))
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/models/m/aliases/prod/files/w.bin"),
            Ok(files(AssetFamily::Model, Some(VersionRef::Alias("prod".into())), Some("w.bin")))
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/models/m/versions/2/files"),
            Ok(files(AssetFamily::Model, Some(VersionRef::Number("2".into())), None))
        );
        let skill = route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/skills/v/files/SKILL.md");
        assert_eq!(skill, Ok(files(AssetFamily::Skill, None, Some("SKILL.md"))));
        for bad in ["a/../b", "..", "a//b", ".", "a/%2e%2e/b", "a%2Fb", "%00", "a/./b"] {
            let target = format!("/delta-sharing/shares/s/schemas/d/volumes/v/files/{bad}");
            assert_eq!(route(Method::Get, P, &target), Err(RouteError::BadFilePath), "{bad}");
        }
        assert_eq!(
            route(Method::Head, P, "/delta-sharing/shares/s/schemas/d/volumes/v/files"),
            Err(RouteError::MethodNotAllowed("GET"))
        );
        assert_eq!(
            route(Method::Post, P, "/delta-sharing/shares/s/schemas/d/volumes/v/files/x"),
            Err(RouteError::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(
            route(Method::Get, P, "/delta-sharing/shares/s/schemas/d/tables/t/files"),
            Err(RouteError::NotFound)
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
