//! The table endpoints: `version`, `metadata`, `query` and `changes`, for Delta tables and
//! Parquet datasets.
//!
//! [`start`] checks the request up front (parameters, history sharing, capabilities) and
//! returns an operation that reads the table's snapshot through the host
//! ([`read::TableRead`]): from the Delta log, or from the dataset's listing and footers.

mod body;
mod lines;
mod params;
mod read;

use std::sync::Arc;

use super::discovery::resolve_asset;
use super::Ctx;
use crate::catalog::{AssetFamily, AssetKind};
use crate::delta::Target;
use crate::protocol::capabilities::Capabilities;
use crate::protocol::query_request::QueryRequest;
use crate::protocol::table_tokens::{open_page, open_refresh};
use crate::protocol::{ApiError, ErrorCode};
use crate::router::{AssetPath, TableOp};
use params::{parse_timestamp, ChangesParams, FileIdHash};
pub(super) use read::TableRead;

/// The table an operation reads.
#[derive(Clone, Debug)]
pub(crate) struct TableRef {
    /// The store name.
    pub store: String,
    /// The table root in the store, without leading or trailing `/` (may be empty).
    pub root: String,
    /// The asset id, which page and refresh tokens are bound to.
    pub id: String,
    /// `share.schema.table`, for messages.
    pub full_name: String,
    /// Whether history is shared.
    pub history_shared: bool,
    /// The first version recipients may read.
    pub start_version: i64,
    /// Whether the table is a Parquet dataset (one version, 0, and no history).
    pub dataset: bool,
}

impl TableRef {
    /// The store key of a path relative to the table root.
    pub fn key(&self, relative: &str) -> String {
        if self.root.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.root)
        }
    }

    /// Writes the store key of `relative` into `out` (cleared first).
    pub fn key_into(&self, relative: &str, out: &mut String) {
        out.clear();
        if !self.root.is_empty() {
            out.push_str(&self.root);
            out.push('/');
        }
        out.push_str(relative);
    }

    /// What page and refresh tokens are bound to: the asset id and its full name, so a token
    /// minted for one table is refused by another that was configured with the same id.
    pub fn token_binding(&self) -> String {
        format!("{}\u{0}{}", self.id, self.full_name)
    }

    /// The snapshot cache key.
    pub fn cache_key(&self) -> String {
        format!("{}\u{0}{}", self.store, self.root)
    }

    fn require_history(&self) -> Result<(), ApiError> {
        if self.dataset {
            return Err(ApiError::invalid(format!(
                "{} is a Parquet dataset: it has a single version (0) and no history, so it cannot be read by version, timestamp or change feed",
                self.full_name
            )));
        }
        if self.history_shared {
            Ok(())
        } else {
            Err(ApiError::invalid(format!(
                "Reading table by version or timestamp is not supported because history sharing is not enabled on table: {}",
                self.full_name
            )))
        }
    }

    /// Reading `version` needs history, except version 0 of a dataset (its only version).
    fn require_version(&self, version: i64) -> Result<(), ApiError> {
        if self.dataset && version == 0 {
            return Ok(());
        }
        self.require_history()
    }

    fn check_start(&self, version: i64) -> Result<(), ApiError> {
        if version < self.start_version {
            return Err(ApiError::invalid(format!(
                "You can only query table data since version {}.",
                self.start_version
            )));
        }
        Ok(())
    }
}

/// What the request asks for.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    /// `GET …/version[?startingTimestamp=]`.
    Version { starting_timestamp: Option<i64> },
    /// `GET …/metadata`.
    Metadata { target: Target },
    /// `POST …/query` for a snapshot.
    Snapshot { query: Box<QueryRequest>, target: Target, first_index: usize },
    /// `POST …/query` with `startingVersion`.
    Streaming { query: Box<QueryRequest>, start: i64, end: Option<i64>, first_index: usize },
    /// `GET …/changes`.
    Changes(ChangesParams),
}

/// Checks a table request and prepares the operation that answers it.
pub(super) fn start(ctx: &Ctx<'_>, path: &AssetPath, op: TableOp) -> Result<TableRead, ApiError> {
    let (share, schema, asset) = resolve_asset(ctx, path, AssetFamily::Table)?;
    if asset.config.kind == AssetKind::IcebergTable {
        let base = ctx.state.catalog.endpoint.as_deref().map_or_else(
            || format!("{}/{}", ctx.state.catalog.prefix, crate::iceberg::SEGMENT),
            |e| format!("{}/{}", e.trim_end_matches('/'), crate::iceberg::SEGMENT),
        );
        return Err(ApiError::new(
            ErrorCode::NotImplemented,
            format!(
                "This is an Iceberg table: read it through the Iceberg REST catalog at {base} (the profile's \
                 icebergEndpoint), or with temporary-table-credentials"
            ),
        ));
    }
    if !matches!(asset.config.kind, AssetKind::DeltaTable | AssetKind::ParquetDataset) {
        return Err(ApiError::new(
            ErrorCode::NotImplemented,
            "This table is not a Delta table: read it through its own format's endpoints",
        ));
    }
    let (Some(store), Some(root)) = (&asset.config.store, &asset.config.path) else { return Err(ApiError::internal()) };
    let table = TableRef {
        store: store.clone(),
        root: root.trim_matches('/').to_string(),
        id: asset.id.clone(),
        full_name: format!("{}.{}.{}", share.name, schema.name, asset.name()),
        history_shared: asset.config.history_shared,
        start_version: asset.config.start_version,
        dataset: asset.config.kind == AssetKind::ParquetDataset,
    };
    let request = ctx.request;
    let caps = Capabilities::parse(request.header_value("delta-sharing-capabilities"))?;
    let file_id_hash = FileIdHash::parse(request)?;
    let q = request.query_pairs();
    let kind = match op {
        TableOp::Version => {
            let starting_timestamp = match q.get("startingTimestamp") {
                Some(t) => {
                    table.require_history()?;
                    Some(parse_timestamp(&t)?)
                }
                None => None,
            };
            Kind::Version { starting_timestamp }
        }
        TableOp::Metadata => {
            Kind::Metadata { target: time_travel(&table, q.get("version").as_deref(), q.get("timestamp").as_deref())? }
        }
        TableOp::Query => query_kind(ctx, &table, &caps)?,
        TableOp::Changes => {
            if table.dataset {
                table.require_history()?;
            }
            if !table.history_shared {
                return Err(ApiError::invalid(format!("cdf is not enabled on table {}", table.full_name)));
            }
            Kind::Changes(ChangesParams::parse(request)?)
        }
    };
    Ok(TableRead::new(Arc::clone(ctx.state), table, ctx.now_ms, kind, caps, file_id_hash))
}

/// `version` / `timestamp` query parameters of `/metadata`.
fn time_travel(table: &TableRef, version: Option<&str>, timestamp: Option<&str>) -> Result<Target, ApiError> {
    match (version, timestamp) {
        (None, None) => Ok(Target::Latest),
        (Some(_), Some(_)) => Err(ApiError::invalid("Please only provide one of: version,timestamp")),
        (Some(v), None) => {
            let parsed = v.trim().parse::<i64>();
            table.require_version(*parsed.as_ref().unwrap_or(&-1))?;
            let v = parsed.map_err(|_| ApiError::invalid(format!("Not a numeric value: {v}")))?;
            if v < 0 {
                return Err(ApiError::invalid("version cannot be negative."));
            }
            table.check_start(v)?;
            Ok(Target::Version(v))
        }
        (None, Some(t)) => {
            table.require_history()?;
            Ok(Target::Timestamp(parse_timestamp(t)?))
        }
    }
}

fn query_kind(ctx: &Ctx<'_>, table: &TableRef, caps: &Capabilities) -> Result<Kind, ApiError> {
    let query = QueryRequest::parse(&ctx.request.body)?;
    query.validate()?;
    if ctx.request.header_value("asyncquery").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && query.idempotency_key.is_none()
    {
        return Err(ApiError::invalid("idempotency_key is required for async query"));
    }
    let checksum = read::query_checksum(&query, caps);
    let page = match &query.page_token {
        Some(token) => Some(open_page(&ctx.state.token_key, token, &table.token_binding(), &checksum, ctx.now_ms)?),
        None => None,
    };
    // A token carries the version it pins, not the right to read it: the table's history rules
    // (which a reload may have tightened) are checked again on every page. The query parameters
    // are the first page's (the checksum holds them), so time travel shows in them.
    if let Some(page) = &page {
        if let Some(v) = query.version {
            table.require_version(v)?;
        }
        if query.timestamp.is_some() {
            table.require_history()?;
        }
        table.check_start(page.version)?;
    }
    if let Some(start) = query.starting_version {
        table.require_history()?;
        table.check_start(start)?;
        let first_index = page.as_ref().map_or(0, |p| p.next_index as usize);
        let end = page.as_ref().and_then(|p| p.end_version).or(query.ending_version);
        return Ok(Kind::Streaming { start, end, query: Box::new(query), first_index });
    }
    let target = if let Some(page) = &page {
        Target::Version(page.version)
    } else if let Some(token) = &query.refresh_token {
        // Refresh tokens are minted by latest-snapshot queries only; the start version may
        // have been raised since.
        let version = open_refresh(&ctx.state.token_key, token, &table.token_binding(), ctx.now_ms)?.version;
        table.check_start(version)?;
        Target::Version(version)
    } else if let Some(v) = query.version {
        table.require_version(v)?;
        table.check_start(v)?;
        Target::Version(v)
    } else if let Some(t) = &query.timestamp {
        table.require_history()?;
        Target::Timestamp(parse_timestamp(t)?)
    } else {
        Target::Latest
    };
    let first_index = page.map_or(0, |p| p.next_index as usize);
    Ok(Kind::Snapshot { query: Box::new(query), target, first_index })
}
