//! The NDJSON lines of table responses, in both formats (Delta Sharing §1.9).
//!
//! Every writer appends one compact JSON object and a `\n` to a byte buffer; fields are
//! borrowed, so a 100,000-file response allocates per line only its URL.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::delta::actions::{CdcFile, RemoveFile, SharedPartitionValues};
use crate::delta::{AddFile, DeletionVector, Metadata, Protocol};
use crate::protocol::capabilities::ResponseFormat;

/// Partition values as a JSON object.
struct Partitions<'a>(&'a [(String, Option<String>)]);

impl Serialize for Partitions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The JSON of the partition values written last, reused while the next files share them: a
/// snapshot sorted by path holds a partition's files together, and replay gives them one copy.
#[derive(Default)]
pub struct PartitionsJson {
    of: Option<SharedPartitionValues>,
    json: Vec<u8>,
}

impl PartitionsJson {
    /// Appends the JSON object of `values`.
    fn write(&mut self, out: &mut Vec<u8>, values: &SharedPartitionValues) {
        if !self.of.as_ref().is_some_and(|of| std::sync::Arc::ptr_eq(of, values)) {
            self.json.clear();
            let _ = serde_json::to_writer(&mut self.json, &Partitions(values));
            self.of = Some(values.clone());
        }
        out.extend_from_slice(&self.json);
    }
}

/// Appends `{"key":value}` and a newline.
fn push_line<T: Serialize>(out: &mut Vec<u8>, key: &str, value: &T) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    // Serialising borrowed plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
    out.extend_from_slice(b"}\n");
}

/// Line 1.
pub fn protocol(out: &mut Vec<u8>, format: ResponseFormat, p: &Protocol) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Parquet {
        min_reader_version: i32,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Delta<'a> {
        delta_protocol: &'a Protocol,
    }
    match format {
        ResponseFormat::Parquet => push_line(out, "protocol", &Parquet { min_reader_version: 1 }),
        ResponseFormat::Delta => push_line(out, "protocol", &Delta { delta_protocol: p }),
    }
}

/// What a metadata line says besides the Delta metadata.
pub struct MetadataExtras {
    /// The version it describes, when the line carries one.
    pub version: Option<i64>,
    /// Table size in bytes, for snapshot responses.
    pub size: Option<i64>,
    /// File count, for snapshot responses.
    pub num_files: Option<i64>,
    /// Parquet format only: whether to advertise `enableChangeDataFeed`.
    pub cdf_shared: bool,
}

/// Line 2 (and historical metadata lines).
pub fn metadata(out: &mut Vec<u8>, format: ResponseFormat, m: &Metadata, extras: &MetadataExtras) {
    #[derive(Serialize)]
    struct ParquetFormat {
        provider: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Parquet<'a> {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        format: ParquetFormat,
        schema_string: &'a str,
        partition_columns: &'a [String],
        configuration: BTreeMap<&'static str, &'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        num_files: Option<i64>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Delta<'a> {
        delta_metadata: &'a Metadata,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        num_files: Option<i64>,
    }
    match format {
        ResponseFormat::Parquet => {
            let mut configuration = BTreeMap::new();
            if extras.cdf_shared && m.property("delta.enableChangeDataFeed") == Some("true") {
                configuration.insert("enableChangeDataFeed", "true");
            }
            let line = Parquet {
                id: &m.id,
                name: m.name.as_deref(),
                description: m.description.as_deref(),
                format: ParquetFormat { provider: "parquet" },
                schema_string: &m.schema_string,
                partition_columns: &m.partition_columns,
                configuration,
                version: extras.version,
                size: extras.size,
                num_files: extras.num_files,
            };
            push_line(out, "metaData", &line);
        }
        ResponseFormat::Delta => {
            let line =
                Delta { delta_metadata: m, version: extras.version, size: extras.size, num_files: extras.num_files };
            push_line(out, "metaData", &line);
        }
    }
}

/// Where and when a file action happened, for the lines that carry it.
#[derive(Clone, Copy, Default)]
pub struct Stamp {
    /// Commit version.
    pub version: Option<i64>,
    /// Commit time, ms.
    pub timestamp: Option<i64>,
}

/// A signed file: its URL, id and URL expiry, plus the deletion vector's signed form.
pub struct Signed<'a> {
    /// The pre-signed URL.
    pub url: &'a str,
    /// The file id.
    pub id: &'a str,
    /// When the URL expires, ms.
    pub expiration: i64,
    /// The deletion vector with its path replaced by a signed URL, and that file's id.
    pub deletion_vector: Option<(&'a DeletionVector, &'a str)>,
}

/// The parquet-format wrapper key of a data-file line.
#[derive(Clone, Copy)]
pub enum FileKind {
    /// `file` (snapshot queries).
    File,
    /// `add` (streaming queries and changes).
    Add,
}

/// A data file (`add` in the log). `partitions` keeps the JSON of the last partition values.
pub fn add(
    out: &mut Vec<u8>,
    format: ResponseFormat,
    kind: FileKind,
    f: &AddFile,
    s: &Signed<'_>,
    stamp: Stamp,
    partitions: &mut PartitionsJson,
) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ParquetFile<'a> {
        url: &'a str,
        id: &'a str,
        partition_values: Partitions<'a>,
        size: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        stats: Option<&'a serde_json::value::RawValue>,
        expiration_timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<i64>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DeltaAdd<'a> {
        path: &'a str,
        partition_values: Partitions<'a>,
        size: i64,
        modification_time: i64,
        data_change: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        stats: Option<&'a serde_json::value::RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tags: Option<&'a BTreeMap<String, Option<String>>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_vector: Option<&'a DeletionVector>,
        #[serde(skip_serializing_if = "Option::is_none")]
        base_row_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        default_row_commit_version: Option<i64>,
    }
    match format {
        ResponseFormat::Parquet if matches!(kind, FileKind::File) => parquet_file_line(out, f, s, stamp, partitions),
        ResponseFormat::Parquet => {
            let line = ParquetFile {
                url: s.url,
                id: s.id,
                partition_values: Partitions(&f.partition_values),
                size: f.size,
                stats: f.stats.as_ref().map(|s| s.literal()),
                expiration_timestamp: s.expiration,
                version: stamp.version,
                timestamp: stamp.timestamp,
            };
            push_line(out, "add", &line);
        }
        ResponseFormat::Delta => {
            let action = DeltaAdd {
                path: s.url,
                partition_values: Partitions(&f.partition_values),
                size: f.size,
                modification_time: f.modification_time,
                data_change: f.data_change,
                stats: f.stats.as_ref().map(|s| s.literal()),
                tags: f.tags.as_deref(),
                deletion_vector: s.deletion_vector.map(|d| d.0),
                base_row_id: f.base_row_id,
                default_row_commit_version: f.default_row_commit_version,
            };
            delta_file(out, s, stamp, "add", &action);
        }
    }
}

/// A removed file (streaming queries and changes).
pub fn remove(out: &mut Vec<u8>, format: ResponseFormat, f: &RemoveFile, s: &Signed<'_>, stamp: Stamp) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DeltaRemove<'a> {
        path: &'a str,
        partition_values: Partitions<'a>,
        size: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_timestamp: Option<i64>,
        data_change: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_vector: Option<&'a DeletionVector>,
    }
    let size = f.size.unwrap_or_default();
    match format {
        ResponseFormat::Parquet => parquet_change(out, "remove", &f.partition_values, size, s, stamp),
        ResponseFormat::Delta => {
            let action = DeltaRemove {
                path: s.url,
                partition_values: Partitions(&f.partition_values),
                size,
                deletion_timestamp: f.deletion_timestamp,
                data_change: f.data_change,
                deletion_vector: s.deletion_vector.map(|d| d.0),
            };
            delta_file(out, s, stamp, "remove", &action);
        }
    }
}

/// A change-data file.
pub fn cdc(out: &mut Vec<u8>, format: ResponseFormat, f: &CdcFile, s: &Signed<'_>, stamp: Stamp) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DeltaCdc<'a> {
        path: &'a str,
        partition_values: Partitions<'a>,
        size: i64,
        data_change: bool,
    }
    match format {
        ResponseFormat::Parquet => parquet_change(out, "cdf", &f.partition_values, f.size, s, stamp),
        ResponseFormat::Delta => {
            let action = DeltaCdc {
                path: s.url,
                partition_values: Partitions(&f.partition_values),
                size: f.size,
                data_change: false,
            };
            delta_file(out, s, stamp, "cdc", &action);
        }
    }
}

/// A parquet-format `remove` or `cdf` line: the two share one shape.
fn parquet_change(
    out: &mut Vec<u8>,
    key: &str,
    partition_values: &[(String, Option<String>)],
    size: i64,
    s: &Signed<'_>,
    stamp: Stamp,
) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ParquetChange<'a> {
        url: &'a str,
        id: &'a str,
        partition_values: Partitions<'a>,
        size: i64,
        expiration_timestamp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<i64>,
    }
    let line = ParquetChange {
        url: s.url,
        id: s.id,
        partition_values: Partitions(partition_values),
        size,
        expiration_timestamp: s.expiration,
        version: stamp.version,
        timestamp: stamp.timestamp,
    };
    push_line(out, key, &line);
}

fn delta_file<A: Serialize>(out: &mut Vec<u8>, s: &Signed<'_>, stamp: Stamp, key: &str, action: &A) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DeltaFile<'a, A: Serialize> {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        deletion_vector_file_id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timestamp: Option<i64>,
        expiration_timestamp: i64,
        delta_single_action: BTreeMap<&'a str, &'a A>,
    }
    let line = DeltaFile {
        id: s.id,
        deletion_vector_file_id: s.deletion_vector.map(|d| d.1),
        version: stamp.version,
        timestamp: stamp.timestamp,
        expiration_timestamp: s.expiration,
        delta_single_action: BTreeMap::from([(key, action)]),
    };
    push_line(out, "file", &line);
}

/// The closing `endStreamAction`.
pub fn end_stream(
    out: &mut Vec<u8>,
    refresh_token: Option<&str>,
    next_page_token: Option<&str>,
    min_url_expiration: Option<i64>,
) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct End<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        refresh_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_page_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        min_url_expiration_timestamp: Option<i64>,
    }
    push_line(
        out,
        "endStreamAction",
        &End { refresh_token, next_page_token, min_url_expiration_timestamp: min_url_expiration },
    );
}

/// A closing `endStreamAction` that reports an error after the response has started.
pub fn end_stream_error(out: &mut Vec<u8>, message: &str) {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct End<'a> {
        error_message: &'a str,
    }
    push_line(out, "endStreamAction", &End { error_message: message });
}

/// The parquet-format `file` line of a snapshot query, written directly: it is the line a
/// 100,000-file response repeats, and the URL and id need no escaping (the engine builds them
/// from percent-encoded parts and hex).
fn parquet_file_line(out: &mut Vec<u8>, f: &AddFile, s: &Signed<'_>, stamp: Stamp, partitions: &mut PartitionsJson) {
    // Integers go through serde_json (itoa), not `write!`: the same digits without the
    // formatting machinery, which showed in the profile of a 100,000-file response.
    fn field(out: &mut Vec<u8>, name: &[u8], value: i64) {
        out.extend_from_slice(name);
        let _ = serde_json::to_writer(&mut *out, &value);
    }
    debug_assert!(s.url.bytes().chain(s.id.bytes()).all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
    out.extend_from_slice(b"{\"file\":{\"url\":\"");
    out.extend_from_slice(s.url.as_bytes());
    out.extend_from_slice(b"\",\"id\":\"");
    out.extend_from_slice(s.id.as_bytes());
    out.extend_from_slice(b"\",\"partitionValues\":");
    partitions.write(out, &f.partition_values);
    field(out, b",\"size\":", f.size);
    if let Some(stats) = &f.stats {
        out.extend_from_slice(b",\"stats\":");
        out.extend_from_slice(stats.literal().get().as_bytes());
    }
    field(out, b",\"expirationTimestamp\":", s.expiration);
    if let Some(v) = stamp.version {
        field(out, b",\"version\":", v);
    }
    if let Some(t) = stamp.timestamp {
        field(out, b",\"timestamp\":", t);
    }
    out.extend_from_slice(b"}}\n");
}
