//! Checkpoint files: Parquet (classic, multi-part, v2 sidecars) and v2 JSON manifests, read with
//! the `parquet` crate's row API.
//!
//! Only the columns a snapshot needs are read (`add`, `metaData`, `protocol`, `sidecar`: a
//! checkpoint's `remove` rows are tombstones), and `add` rows, which are nearly all of a
//! checkpoint, are converted field by field without an intermediate JSON value.

use std::sync::Arc;

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use super::actions::{action_from_value, parse_commit, Action, AddFile, DeletionVector, PartitionValues, StatsJson};
use super::DeltaError;

/// The top-level checkpoint columns a snapshot reads.
const COLUMNS: [&str; 4] = ["add", "metaData", "protocol", "sidecar"];

/// Reads the actions of a checkpoint (or sidecar) file named `file`, handing each to `sink` as
/// it is read (a large checkpoint is never held as a list of actions).
pub fn parse_checkpoint(file: &str, bytes: Bytes, sink: &mut dyn FnMut(Action)) -> Result<(), DeltaError> {
    if file.ends_with(".json") {
        parse_commit(file, &bytes)?.into_iter().for_each(sink);
        return Ok(());
    }
    // The parquet decoder panics on some corrupt pages instead of returning an error: a bad
    // checkpoint must be an error, never a crash, so the decoding runs inside a catch.
    let decode = std::panic::AssertUnwindSafe(|| parse_parquet(file, bytes, sink));
    std::panic::catch_unwind(decode).unwrap_or_else(|_| {
        Err(DeltaError::Corrupt { file: file.into(), detail: "the Parquet data cannot be decoded".into() })
    })
}

fn parse_parquet(file: &str, bytes: Bytes, sink: &mut dyn FnMut(Action)) -> Result<(), DeltaError> {
    let corrupt = |e: &dyn std::fmt::Display| DeltaError::Corrupt { file: file.into(), detail: e.to_string() };
    crate::parquet_guard::check_footer(&bytes).map_err(|e| corrupt(&e))?;
    let reader = SerializedFileReader::new(bytes.clone()).map_err(|e| corrupt(&e))?;
    crate::parquet_guard::check_pages(&bytes, reader.metadata(), &|column| COLUMNS.contains(&column))
        .map_err(|e| corrupt(&e))?;
    let schema = reader.metadata().file_metadata().schema();
    let wanted: Vec<Arc<Type>> = schema.get_fields().iter().filter(|f| COLUMNS.contains(&f.name())).cloned().collect();
    let projection = Type::group_type_builder(schema.name()).with_fields(wanted).build().map_err(|e| corrupt(&e))?;
    let rows = reader.get_row_iter(Some(projection)).map_err(|e| corrupt(&e))?;
    for row in rows {
        let row = row.map_err(|e| corrupt(&e))?;
        for (name, field) in row.into_columns() {
            match field {
                Field::Null => {}
                Field::Group(add) if name == "add" => {
                    sink(Action::Add(add_from_row(add).ok_or_else(|| corrupt(&"bad add row"))?))
                }
                field => {
                    let mut object = serde_json::Map::with_capacity(1);
                    object.insert(name, field.to_json_value());
                    if let Some(action) =
                        action_from_value(serde_json::Value::Object(object)).map_err(|e| corrupt(&e))?
                    {
                        sink(action);
                    }
                }
            }
        }
    }
    Ok(())
}

fn string(f: Field) -> Option<String> {
    match f {
        Field::Str(s) => Some(s),
        _ => None,
    }
}

fn long(f: Field) -> Option<i64> {
    match f {
        Field::Long(v) => Some(v),
        Field::Int(v) => Some(i64::from(v)),
        _ => None,
    }
}

fn string_map(f: Field) -> Option<PartitionValues> {
    match f {
        Field::MapInternal(map) => {
            map.entries().iter().map(|(k, v)| Some((string(k.clone())?, string(v.clone())))).collect()
        }
        Field::Null => Some(Vec::new()),
        _ => None,
    }
}

fn deletion_vector(f: Field) -> Option<DeletionVector> {
    let Field::Group(row) = f else { return None };
    let mut dv = DeletionVector {
        storage_type: String::new(),
        path_or_inline_dv: String::new(),
        offset: None,
        size_in_bytes: 0,
        cardinality: 0,
    };
    for (name, value) in row.into_columns() {
        match name.as_str() {
            "storageType" => dv.storage_type = string(value)?,
            "pathOrInlineDv" => dv.path_or_inline_dv = string(value)?,
            "offset" => dv.offset = long(value).and_then(|v| i32::try_from(v).ok()),
            "sizeInBytes" => dv.size_in_bytes = long(value).and_then(|v| i32::try_from(v).ok())?,
            "cardinality" => dv.cardinality = long(value)?,
            _ => {}
        }
    }
    Some(dv)
}

/// An `add` row, converted directly. `None` when a required field is missing or mistyped.
fn add_from_row(row: Row) -> Option<AddFile> {
    let mut add = AddFile {
        path: String::new(),
        partition_values: std::sync::Arc::new([]),
        size: -1,
        modification_time: 0,
        data_change: false,
        stats: None,
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
    };
    for (name, value) in row.into_columns() {
        match name.as_str() {
            "path" => add.path = string(value)?,
            "partitionValues" => add.partition_values = string_map(value)?.into(),
            "size" => add.size = long(value)?,
            "modificationTime" => add.modification_time = long(value).unwrap_or_default(),
            "dataChange" => add.data_change = matches!(value, Field::Bool(true)),
            "stats" => add.stats = string(value).and_then(|s| StatsJson::from_text(&s)),
            "tags" => add.tags = string_map(value).filter(|t| !t.is_empty()).map(|t| Box::new(t.into_iter().collect())),
            "deletionVector" if !matches!(value, Field::Null) => {
                add.deletion_vector = Some(Box::new(deletion_vector(value)?))
            }
            "baseRowId" => add.base_row_id = long(value),
            "defaultRowCommitVersion" => add.default_row_commit_version = long(value),
            _ => {}
        }
    }
    (!add.path.is_empty() && add.size >= 0).then_some(add)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parquet_guard::fixtures::{file_with_footer, HOSTILE};

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"PAR1", b"PAR1\x00\x00\x00\x00PAR1", &[0xffu8; 64][..]] {
            assert!(
                parse_checkpoint("00000000000000000010.checkpoint.parquet", bad.to_vec().into(), &mut |_| {}).is_err()
            );
        }
    }

    fn refusal(bytes: Vec<u8>) -> String {
        match parse_checkpoint("00000000000000000010.checkpoint.parquet", bytes.into(), &mut |_| {}) {
            Err(DeltaError::Corrupt { detail, .. }) => detail,
            other => panic!("expected a corrupt checkpoint, got {other:?}"),
        }
    }

    /// A list of two billion booleans declared in a few bytes: the `parquet` crate would skip it
    /// one element at a time (the fuzzer's slow units), the guard refuses it first.
    #[test]
    fn a_footer_declaring_more_elements_than_bytes_is_refused() {
        assert!(refusal(file_with_footer(&HOSTILE)).contains("declares more"));
    }

    #[test]
    fn a_page_header_declaring_more_elements_than_bytes_is_refused() {
        let good = include_bytes!("../../fuzz/corpus/checkpoint/basic-5.checkpoint.parquet");
        let mut actions = 0;
        parse_checkpoint("00000000000000000005.checkpoint.parquet", good[..].into(), &mut |_| actions += 1)
            .expect("the seed checkpoint reads");
        assert!(actions > 0);
        let reader = SerializedFileReader::new(Bytes::from_static(good)).expect("seed metadata");
        let add = reader.metadata().row_groups()[0]
            .columns()
            .iter()
            .find(|c| c.column_path().parts()[0] == "add")
            .expect("an add column");
        let at = add.byte_range().0 as usize;
        let mut bad = good.to_vec();
        bad[at..at + HOSTILE.len()].copy_from_slice(&HOSTILE);
        assert!(refusal(bad).contains("declares more"));
    }
}
