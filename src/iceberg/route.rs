//! Maps `(method, path)` under `{prefix}/iceberg` to an Iceberg REST route. The catalog prefix
//! is `shares/{share}`; a namespace is a schema, a table an `iceberg_table` asset.

use crate::http::Method;

/// A table named in a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TablePath {
    /// The share (warehouse).
    pub share: String,
    /// The namespace (schema).
    pub namespace: String,
    /// The table.
    pub table: String,
}

/// What one table route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableOp {
    /// `GET …/tables/{t}`: LoadTable.
    Load,
    /// `HEAD …/tables/{t}`: whether the table exists.
    Exists,
    /// `POST …/tables/{t}/metrics`: dropped.
    Metrics,
    /// `GET …/tables/{t}/credentials`: LoadCredentials.
    Credentials,
    /// `POST …/tables/{t}/sign`: the S3 remote signer.
    Sign,
}

/// A matched route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /v1/config?warehouse=`
    Config,
    /// `GET /v1/shares/{s}/namespaces`
    ListNamespaces { share: String },
    /// `GET` or `HEAD /v1/shares/{s}/namespaces/{ns}`
    Namespace { share: String, namespace: String, head: bool },
    /// `GET /v1/shares/{s}/namespaces/{ns}/tables`
    ListTables { share: String, namespace: String },
    /// A table operation.
    Table { path: TablePath, op: TableOp },
}

impl Route {
    /// A stable name for audit events.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Config => "iceberg_config",
            Route::ListNamespaces { .. } => "iceberg_list_namespaces",
            Route::Namespace { head: false, .. } => "iceberg_get_namespace",
            Route::Namespace { head: true, .. } => "iceberg_namespace_exists",
            Route::ListTables { .. } => "iceberg_list_tables",
            Route::Table { op, .. } => match op {
                TableOp::Load => "iceberg_load_table",
                TableOp::Exists => "iceberg_table_exists",
                TableOp::Metrics => "iceberg_report_metrics",
                TableOp::Credentials => "iceberg_load_credentials",
                TableOp::Sign => "iceberg_sign",
            },
        }
    }
}

/// Why no route matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// No such path.
    NotFound,
    /// A segment is not valid percent-encoded UTF-8.
    BadEncoding,
    /// The path exists, but this catalog only reads it (405, with the methods allowed).
    ReadOnly(&'static str),
    /// A write-only or unsupported operation (501).
    Unsupported(&'static str),
}

const READ_ONLY: &str = "This catalog is read-only: shared tables cannot be created, changed or dropped";

/// Matches the path after `{prefix}/iceberg`.
pub(crate) fn route(method: Method, rest: &str) -> Result<Route, RouteError> {
    let segs = crate::router::Segments::parse(rest).map_err(|e| match e {
        crate::router::RouteError::BadEncoding => RouteError::BadEncoding,
        _ => RouteError::NotFound,
    })?;
    let (s, len) = segs.strs();
    let (get, head, post) = (method == Method::Get, method == Method::Head, method == Method::Post);
    let table = |share: &str, ns: &str, t: &str, op| Route::Table {
        path: TablePath { share: share.into(), namespace: ns.into(), table: t.into() },
        op,
    };
    match &s[..len] {
        ["v1", "config"] if get => Ok(Route::Config),
        ["v1", "config"] => Err(RouteError::ReadOnly("GET")),
        ["v1", "oauth", "tokens"] => {
            Err(RouteError::Unsupported("This catalog issues no tokens: use the bearer token of your profile"))
        }
        ["v1", "shares", share, "namespaces"] if get => Ok(Route::ListNamespaces { share: share.to_string() }),
        ["v1", "shares", _, "namespaces"] => Err(RouteError::ReadOnly("GET")),
        ["v1", "shares", share, "namespaces", ns] if get || head => {
            Ok(Route::Namespace { share: share.to_string(), namespace: ns.to_string(), head })
        }
        ["v1", "shares", _, "namespaces", _] => Err(RouteError::ReadOnly("GET, HEAD")),
        ["v1", "shares", _, "namespaces", _, "properties"] => Err(RouteError::Unsupported(READ_ONLY)),
        ["v1", "shares", share, "namespaces", ns, "tables"] if get => {
            Ok(Route::ListTables { share: share.to_string(), namespace: ns.to_string() })
        }
        ["v1", "shares", _, "namespaces", _, "tables"] => Err(RouteError::ReadOnly("GET")),
        ["v1", "shares", share, "namespaces", ns, "tables", t] if get => Ok(table(share, ns, t, TableOp::Load)),
        ["v1", "shares", share, "namespaces", ns, "tables", t] if head => Ok(table(share, ns, t, TableOp::Exists)),
        ["v1", "shares", _, "namespaces", _, "tables", _] => Err(RouteError::ReadOnly("GET, HEAD")),
        ["v1", "shares", share, "namespaces", ns, "tables", t, op] => {
            let (op, ok, allowed) = match *op {
                "metrics" => (TableOp::Metrics, post, "POST"),
                "credentials" => (TableOp::Credentials, get, "GET"),
                "sign" => (TableOp::Sign, post, "POST"),
                "plan" => return Err(RouteError::Unsupported("Scan planning is done by the client: load the table")),
                _ => return Err(RouteError::NotFound),
            };
            if ok {
                Ok(table(share, ns, t, op))
            } else {
                Err(RouteError::ReadOnly(allowed))
            }
        }
        ["v1", "shares", _, "namespaces", _, "register"]
        | ["v1", "shares", _, "tables", "rename"]
        | ["v1", "shares", _, "transactions", "commit"] => Err(RouteError::Unsupported(READ_ONLY)),
        ["v1", "shares", _, "namespaces", _, "views", ..] | ["v1", "shares", _, "views", ..] => {
            Err(RouteError::Unsupported("Views are not shared through this catalog"))
        }
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(t: &str) -> TablePath {
        TablePath { share: "s".into(), namespace: "d".into(), table: t.into() }
    }

    #[test]
    fn matches_read_routes() {
        assert_eq!(route(Method::Get, "/v1/config"), Ok(Route::Config));
        assert_eq!(route(Method::Get, "/v1/shares/s/namespaces"), Ok(Route::ListNamespaces { share: "s".into() }));
        assert_eq!(
            route(Method::Head, "/v1/shares/s/namespaces/d"),
            Ok(Route::Namespace { share: "s".into(), namespace: "d".into(), head: true })
        );
        assert_eq!(
            route(Method::Get, "/v1/shares/s/namespaces/d/tables/"),
            Ok(Route::ListTables { share: "s".into(), namespace: "d".into() })
        );
        assert_eq!(
            route(Method::Get, "/v1/shares/s/namespaces/d/tables/t"),
            Ok(Route::Table { path: path("t"), op: TableOp::Load })
        );
        assert_eq!(
            route(Method::Head, "/v1/shares/s/namespaces/d/tables/t%20x"),
            Ok(Route::Table { path: path("t x"), op: TableOp::Exists })
        );
        for (method, op, name) in [
            (Method::Post, TableOp::Metrics, "metrics"),
            (Method::Get, TableOp::Credentials, "credentials"),
            (Method::Post, TableOp::Sign, "sign"),
        ] {
            assert_eq!(
                route(method, &format!("/v1/shares/s/namespaces/d/tables/t/{name}")),
                Ok(Route::Table { path: path("t"), op })
            );
        }
    }

    #[test]
    fn refuses_writes_and_unknown_paths() {
        assert_eq!(route(Method::Post, "/v1/shares/s/namespaces"), Err(RouteError::ReadOnly("GET")));
        assert_eq!(route(Method::Other, "/v1/shares/s/namespaces/d/tables/t"), Err(RouteError::ReadOnly("GET, HEAD")));
        assert_eq!(route(Method::Post, "/v1/shares/s/namespaces/d/tables/t"), Err(RouteError::ReadOnly("GET, HEAD")));
        assert_eq!(route(Method::Get, "/v1/shares/s/namespaces/d/tables/t/sign"), Err(RouteError::ReadOnly("POST")));
        assert!(matches!(route(Method::Post, "/v1/shares/s/transactions/commit"), Err(RouteError::Unsupported(_))));
        assert!(matches!(route(Method::Post, "/v1/shares/s/tables/rename"), Err(RouteError::Unsupported(_))));
        assert!(matches!(route(Method::Get, "/v1/shares/s/namespaces/d/views"), Err(RouteError::Unsupported(_))));
        assert_eq!(route(Method::Get, "/v2/config"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, "/v1/shares//namespaces"), Err(RouteError::NotFound));
        assert_eq!(route(Method::Get, "/v1/shares/%ff/namespaces"), Err(RouteError::BadEncoding));
    }
}
