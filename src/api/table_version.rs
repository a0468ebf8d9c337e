//! `GET …/tables/{t}/version`: the latest version of a Delta table, read from its log listing.

use super::Ctx;
use crate::catalog::{Asset, AssetKind};
use crate::exchange::{Body, IoNeed, IoResult, Operation, Response, Step};
use crate::http::ResponseHead;
use crate::protocol::{ApiError, ErrorCode};

/// Lists `_delta_log/` and answers the highest commit version in the header.
pub(super) struct TableVersion {
    store: String,
    log_prefix: String,
}

impl TableVersion {
    pub(super) fn start(_ctx: &Ctx<'_>, asset: &Asset) -> Result<TableVersion, ApiError> {
        if asset.config.kind != AssetKind::DeltaTable {
            return Err(ApiError::new(ErrorCode::NotImplemented, "This endpoint serves Delta tables only"));
        }
        let (Some(store), Some(path)) = (&asset.config.store, &asset.config.path) else {
            return Err(ApiError::internal());
        };
        Ok(TableVersion { store: store.clone(), log_prefix: format!("{}/_delta_log/", path.trim_matches('/')) })
    }
}

/// The version of a commit file name (`00000000000000000012.json`), if it is one.
fn commit_version(file_name: &str) -> Option<i64> {
    let digits = file_name.strip_suffix(".json")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

impl Operation for TableVersion {
    fn resume(&mut self, input: Option<IoResult>) -> Step {
        let entries = match input {
            None => {
                return Step::Need(IoNeed::List {
                    store: self.store.clone(),
                    prefix: self.log_prefix.clone(),
                    start_after: None,
                })
            }
            Some(IoResult::Listing(entries)) => entries,
            Some(IoResult::NotFound) => return respond_error(&ApiError::not_found("The table has no Delta log")),
            Some(_) => {
                return respond_error(&ApiError::new(ErrorCode::CatalogError, "The table's storage could not be read"))
            }
        };
        let latest = entries.iter().filter_map(|e| e.key.strip_prefix(&self.log_prefix).and_then(commit_version)).max();
        match latest {
            Some(v) => Step::Respond(Response {
                head: ResponseHead { status: 200, headers: vec![("Delta-Table-Version".into(), v.to_string())] },
                body: Body::Empty,
                error_code: None,
            }),
            None => respond_error(&ApiError::not_found("The table has no Delta log")),
        }
    }
}

fn respond_error(e: &ApiError) -> Step {
    Step::Respond(super::error_response(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commit_names_only() {
        assert_eq!(commit_version("00000000000000000012.json"), Some(12));
        assert_eq!(commit_version("00000000000000000012.checkpoint.parquet"), None);
        assert_eq!(commit_version("_last_checkpoint"), None);
        assert_eq!(commit_version("0012.json"), None);
    }
}
