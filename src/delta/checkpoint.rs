//! Checkpoint files: Parquet (classic, multi-part, v2 sidecars) and v2 JSON manifests, read with
//! the `parquet` crate's row API.

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::actions::{action_from_value, parse_commit, Action};
use super::DeltaError;

/// Reads the actions of a checkpoint (or sidecar) file named `file`.
pub fn parse_checkpoint(file: &str, bytes: Vec<u8>) -> Result<Vec<Action>, DeltaError> {
    if file.ends_with(".json") {
        return parse_commit(file, &bytes);
    }
    let corrupt = |e: &dyn std::fmt::Display| DeltaError::Corrupt { file: file.into(), detail: e.to_string() };
    let reader = SerializedFileReader::new(Bytes::from(bytes)).map_err(|e| corrupt(&e))?;
    let rows = reader.get_row_iter(None).map_err(|e| corrupt(&e))?;
    let mut actions = Vec::new();
    for row in rows {
        let row = row.map_err(|e| corrupt(&e))?;
        for (name, field) in row.get_column_iter() {
            if matches!(field, Field::Null) {
                continue;
            }
            let mut object = serde_json::Map::with_capacity(1);
            object.insert(name.clone(), field.to_json_value());
            if let Some(action) = action_from_value(serde_json::Value::Object(object)).map_err(|e| corrupt(&e))? {
                actions.push(action);
            }
        }
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"PAR1", b"PAR1\x00\x00\x00\x00PAR1", &[0xffu8; 64][..]] {
            assert!(parse_checkpoint("00000000000000000010.checkpoint.parquet", bad.to_vec()).is_err());
        }
    }
}
