//! Which listed objects are data files of a dataset, and their hive-style partition values.
//!
//! A data file ends in `.parquet`, and no segment of its path starts with `.` (hidden files,
//! `.crc` checksums) or `_` (`_SUCCESS`, `_metadata`, `_delta_log/`), except partition
//! directories such as `_k=v`. Directory segments `key=value` give partition values; the value
//! is percent-decoded as pyarrow and Hive write it, and `__HIVE_DEFAULT_PARTITION__` is null.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// Hive's (and pyarrow's) name for a null partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Characters escaped in the URI-encoded paths a snapshot holds (Delta `add.path` form): the
/// escape character itself, and what a URI cannot carry.
const PATH_ESCAPES: &AsciiSet =
    &CONTROLS.add(b' ').add(b'%').add(b'"').add(b'#').add(b'?').add(b'\\').add(b'<').add(b'>');

/// Whether `path` (relative to the dataset root) is a data file.
pub fn is_data_file(path: &str) -> bool {
    let mut segments = path.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment.is_empty() || segment.starts_with('.') {
            return false;
        }
        if segment.starts_with('_') && (last || !segment.contains('=')) {
            return false;
        }
        if last {
            return segment.len() > ".parquet".len() && segment.ends_with(".parquet");
        }
    }
    false
}

/// The partition columns and values of a data file's directories, in path order. A value
/// that is not valid UTF-8 once decoded is an error.
pub fn partition_values(path: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let Some((dirs, _)) = path.rsplit_once('/') else { return Ok(Vec::new()) };
    let mut values = Vec::new();
    for segment in dirs.split('/') {
        let Some((key, value)) = segment.split_once('=') else { continue };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| format!("directory {segment} is not valid UTF-8 once decoded"))
        };
        let key = decode(key)?;
        if key.is_empty() {
            return Err(format!("directory {segment} has an empty partition column name"));
        }
        if values.iter().any(|(k, _): &(String, Option<String>)| k.eq_ignore_ascii_case(&key)) {
            return Err(format!("partition column {key} appears twice in the path"));
        }
        let value = if value == NULL_PARTITION { None } else { Some(decode(value)?) };
        values.push((key, value));
    }
    Ok(values)
}

/// The URI-encoded form of a relative store key (how Delta logs write `add.path`).
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_ESCAPES).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_data_files() {
        for keep in ["a.parquet", "year=2024/part-0.parquet", "_k=v/x.parquet", "sub/dir/f.parquet"] {
            assert!(is_data_file(keep), "{keep}");
        }
        for skip in [
            "_SUCCESS",
            ".part-0.parquet.crc",
            "part-0.parquet.crc",
            "_metadata",
            "_common_metadata",
            "_delta_log/00000000000000000000.json",
            ".hidden/a.parquet",
            "_tmp/a.parquet",
            "year=2024/_a.parquet",
            "year=2024/.a.parquet",
            ".parquet",
            "notes.txt",
            "a//b.parquet",
        ] {
            assert!(!is_data_file(skip), "{skip}");
        }
    }

    #[test]
    fn parses_partition_directories() {
        assert_eq!(partition_values("f.parquet").unwrap(), []);
        assert_eq!(
            partition_values("year=2024/city=New%20York/sub/part-0.parquet").unwrap(),
            [("year".to_string(), Some("2024".to_string())), ("city".to_string(), Some("New York".to_string()))]
        );
        assert_eq!(partition_values("d=__HIVE_DEFAULT_PARTITION__/f.parquet").unwrap(), [("d".to_string(), None)]);
        assert_eq!(partition_values("d=/f.parquet").unwrap(), [("d".to_string(), Some(String::new()))]);
        assert!(partition_values("=x/f.parquet").unwrap_err().contains("empty partition column"));
        assert!(partition_values("a=1/A=2/f.parquet").unwrap_err().contains("twice"));
        assert!(partition_values("a=%ff/f.parquet").unwrap_err().contains("UTF-8"));
        assert_eq!(encode_path("t=12%3A00/a b.parquet"), "t=12%253A00/a%20b.parquet");
        assert_eq!(
            percent_decode_str(&encode_path("t=12%3A00/a b.parquet")).decode_utf8().unwrap(),
            "t=12%3A00/a b.parquet"
        );
    }
}
