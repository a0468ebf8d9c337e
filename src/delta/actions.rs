//! Typed Delta log actions, parsed from JSON commit lines or checkpoint rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::DeltaError;
use crate::util::{for_each_flagged, FLAG_CHUNK};

/// Longest commit line accepted (a guard against unbounded memory on a corrupt log).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// `protocol`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Protocol {
    /// Minimum reader version.
    pub min_reader_version: i32,
    /// Minimum writer version.
    pub min_writer_version: i32,
    /// Reader features (reader version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader_features: Option<Vec<String>>,
    /// Writer features (writer version 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_features: Option<Vec<String>>,
}

/// `metaData.format`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Format {
    /// Always `parquet`.
    pub provider: String,
    /// Format options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// `metaData`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Table id.
    pub id: String,
    /// Table name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Storage format.
    #[serde(default)]
    pub format: Format,
    /// Spark JSON schema.
    pub schema_string: String,
    /// Partition columns.
    #[serde(default)]
    pub partition_columns: Vec<String>,
    /// Table properties.
    #[serde(default)]
    pub configuration: BTreeMap<String, Option<String>>,
    /// Creation time, ms.
    #[serde(default)]
    pub created_time: Option<i64>,
}

impl Metadata {
    /// A table property.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.configuration.get(key).and_then(Option::as_deref)
    }
}

/// A deletion vector descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionVector {
    /// `u` (relative UUID path), `p` (absolute path) or `i` (inline).
    pub storage_type: String,
    /// Path, encoded UUID or inline bytes.
    pub path_or_inline_dv: String,
    /// Byte offset in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i32>,
    /// Size in bytes.
    pub size_in_bytes: i32,
    /// Deleted rows.
    pub cardinality: i64,
}

/// File statistics, kept as the JSON string literal of the log (quotes and escapes included),
/// so that responses copy it without escaping it again.
#[derive(Clone, Debug, Deserialize)]
#[serde(transparent)]
pub struct StatsJson(Box<serde_json::value::RawValue>);

impl StatsJson {
    /// Wraps statistics text (from a checkpoint column).
    pub fn from_text(text: &str) -> Option<StatsJson> {
        let literal = json_string_literal(text);
        debug_assert!(std::str::from_utf8(&literal).is_ok());
        // SAFETY: `json_string_literal` copies the bytes of `text` (valid UTF-8) in order and
        // adds only ASCII bytes, each before a byte that is ASCII too, so `literal` is valid
        // UTF-8; checking it again cost about as much as the escaping.
        let literal = unsafe { String::from_utf8_unchecked(literal) };
        debug_assert!(serde_json::from_str::<String>(&literal).is_ok_and(|t| t == text));
        // SAFETY: `json_string_literal` quotes the text and escapes every quote, backslash and
        // control character in it, so `literal` is one well-formed JSON string, without
        // whitespace around it (the crate's tests compare it with serde_json's own escaping, and
        // debug builds re-parse it here).
        Some(StatsJson(unsafe { serde_json::value::RawValue::from_string_unchecked(literal) }))
    }

    /// The encoded literal, ready to write into a JSON document.
    pub fn literal(&self) -> &serde_json::value::RawValue {
        &self.0
    }

    /// The statistics parsed as JSON (for pruning and limits).
    pub fn parse(&self) -> Option<serde_json::Value> {
        let text: String = serde_json::from_str(self.0.get()).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Byte `i` (little-endian) is 1 when `chunk[i]` must be escaped in a JSON string: a
/// control character, a quote or a backslash. SSE2 compares, which every x86_64 CPU has (the
/// plain loop below is not vectorised by the compiler: nine instructions a byte).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn json_escape_flags(chunk: &[u8; FLAG_CHUNK]) -> u128 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 CPU; the load reads the 16 bytes of `chunk`, and a
    // vector of 16 bytes is a u128 (little-endian: byte 0 is the lowest).
    unsafe {
        let x = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        let escaped = _mm_or_si128(control, _mm_or_si128(quote, backslash));
        std::mem::transmute::<__m128i, u128>(_mm_and_si128(escaped, _mm_set1_epi8(1)))
    }
}

/// Byte `i` (little-endian) is 1 when `chunk[i]` must be escaped in a JSON string.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn json_escape_flags(chunk: &[u8; FLAG_CHUNK]) -> u128 {
    let mut flags = [0u8; FLAG_CHUNK];
    for (flag, &b) in flags.iter_mut().zip(chunk) {
        *flag = u8::from((b < 0x20) | (b == b'"') | (b == b'\\'));
    }
    u128::from_le_bytes(flags)
}

/// `text` as a JSON string literal, escaped as `serde_json` escapes it, in a buffer of exactly
/// its length: a first pass over the bytes to escape sums their escapes' lengths, so the buffer
/// is allocated once and never grown nor shrunk (the literal is kept boxed, at its length). The
/// bytes to escape are found 16 at a time ([`for_each_flagged`]) and the runs between them
/// copied whole: a byte-at-a-time loop cost twice the instructions (`callgrind`).
fn json_string_literal(text: &str) -> Vec<u8> {
    /// The escape of each byte: 0 for none, `u` for `\u00XX`, else the letter after `\`.
    const ESCAPE: [u8; 256] = {
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < 0x20 {
            table[b] = b'u';
            b += 1;
        }
        (table[0x08], table[0x09], table[0x0a], table[0x0c], table[0x0d]) = (b'b', b't', b'n', b'f', b'r');
        (table[b'"' as usize], table[b'\\' as usize]) = (b'"', b'\\');
        table
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    let mut length = bytes.len() + 2;
    for_each_flagged(bytes, json_escape_flags, b'a', |i| {
        length += match ESCAPE[usize::from(bytes[i])] {
            b'u' => 5,
            _ => 1,
        }
    });
    let mut out = Vec::with_capacity(length);
    out.push(b'"');
    let mut run = 0;
    for_each_flagged(bytes, json_escape_flags, b'a', |i| {
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        let b = bytes[i];
        match ESCAPE[usize::from(b)] {
            b'u' => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
            }
            letter => out.extend_from_slice(&[b'\\', letter]),
        }
    });
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
    debug_assert_eq!(out.len(), length);
    out
}

impl PartialEq for StatsJson {
    fn eq(&self, other: &StatsJson) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Eq for StatsJson {}

/// Partition values: column → value (`None` = null), in log order.
pub type PartitionValues = Vec<(String, Option<String>)>;

/// The partition values of an active file: shared between the files of one partition.
pub type SharedPartitionValues = std::sync::Arc<[(String, Option<String>)]>;

fn partition_values<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PartitionValues, D::Error> {
    let map: Option<BTreeMap<String, Option<String>>> = Option::deserialize(d)?;
    Ok(map.map(|m| m.into_iter().collect()).unwrap_or_default())
}

fn shared_partition_values<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SharedPartitionValues, D::Error> {
    partition_values(d).map(Into::into)
}

fn no_partition_values() -> SharedPartitionValues {
    std::sync::Arc::new([])
}

/// `add`: a data file that is part of the table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddFile {
    /// Path relative to the table root (URI-encoded), or an absolute URI.
    pub path: String,
    /// Partition values.
    #[serde(default = "no_partition_values", deserialize_with = "shared_partition_values")]
    pub partition_values: SharedPartitionValues,
    /// Size in bytes.
    pub size: i64,
    /// Modification time, ms.
    #[serde(default)]
    pub modification_time: i64,
    /// Whether the file changes data.
    #[serde(default)]
    pub data_change: bool,
    /// Statistics JSON.
    #[serde(default)]
    pub stats: Option<StatsJson>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<Box<BTreeMap<String, Option<String>>>>,
    /// Deletion vector.
    #[serde(default)]
    pub deletion_vector: Option<Box<DeletionVector>>,
    /// Row tracking base id.
    #[serde(default)]
    pub base_row_id: Option<i64>,
    /// Row tracking commit version.
    #[serde(default)]
    pub default_row_commit_version: Option<i64>,
}

impl AddFile {
    /// The identity of the file in the snapshot: its path and deletion vector.
    pub fn key(&self) -> String {
        file_key(&self.path, self.deletion_vector.as_deref())
    }
}

/// Whether a log path is absolute (a URI or `/…`), i.e. may name a file outside the table root.
pub fn is_absolute_path(path: &str) -> bool {
    path.starts_with('/') || path.contains("://")
}

/// The identity of a logical file: the path plus the deletion vector's id.
pub fn file_key(path: &str, dv: Option<&DeletionVector>) -> String {
    match dv {
        Some(dv) => format!("{path}\u{0}{}{}@{}", dv.storage_type, dv.path_or_inline_dv, dv.offset.unwrap_or(0)),
        None => path.to_string(),
    }
}

/// `remove`: a file that left the table.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveFile {
    /// Path, as in `add`.
    pub path: String,
    /// Deletion time, ms.
    #[serde(default)]
    pub deletion_timestamp: Option<i64>,
    /// Whether the removal changes data.
    #[serde(default)]
    pub data_change: bool,
    /// Partition values.
    #[serde(default, deserialize_with = "partition_values")]
    pub partition_values: PartitionValues,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// Statistics JSON.
    #[serde(default)]
    pub stats: Option<StatsJson>,
    /// Deletion vector.
    #[serde(default)]
    pub deletion_vector: Option<DeletionVector>,
}

/// `cdc`: a change-data file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CdcFile {
    /// Path, as in `add`.
    pub path: String,
    /// Partition values.
    #[serde(default, deserialize_with = "partition_values")]
    pub partition_values: PartitionValues,
    /// Size in bytes.
    pub size: i64,
    /// Whether the file changes data.
    #[serde(default)]
    pub data_change: bool,
}

/// The parts of `commitInfo` the protocol uses.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// In-commit timestamp, when enabled.
    #[serde(default)]
    pub in_commit_timestamp: Option<i64>,
    /// Operation name (`WRITE`, `MERGE`, …).
    #[serde(default)]
    pub operation: Option<String>,
    /// Operation metrics.
    #[serde(default)]
    pub operation_metrics: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `sidecar` (v2 checkpoints).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sidecar {
    /// File name under `_delta_log/_sidecars/`.
    pub path: String,
    /// Its size, when given.
    #[serde(default)]
    pub size_in_bytes: Option<u64>,
}

/// One action of a commit or checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// `protocol`
    Protocol(Protocol),
    /// `metaData`
    Metadata(Metadata),
    /// `add`
    Add(AddFile),
    /// `remove`
    Remove(RemoveFile),
    /// `cdc`
    Cdc(CdcFile),
    /// `commitInfo`
    CommitInfo(CommitInfo),
    /// `sidecar`
    Sidecar(Sidecar),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    protocol: Option<Protocol>,
    meta_data: Option<Metadata>,
    add: Option<AddFile>,
    remove: Option<RemoveFile>,
    cdc: Option<CdcFile>,
    commit_info: Option<CommitInfo>,
    sidecar: Option<Sidecar>,
}

impl Envelope {
    fn into_action(self) -> Option<Action> {
        self.add
            .map(Action::Add)
            .or(self.remove.map(Action::Remove))
            .or(self.meta_data.map(Action::Metadata))
            .or(self.protocol.map(Action::Protocol))
            .or(self.cdc.map(Action::Cdc))
            .or(self.commit_info.map(Action::CommitInfo))
            .or(self.sidecar.map(Action::Sidecar))
    }
}

/// Parses one action from a JSON value (a checkpoint row). Unknown actions give `None`.
pub fn action_from_value(value: serde_json::Value) -> Result<Option<Action>, serde_json::Error> {
    serde_json::from_value::<Envelope>(value).map(Envelope::into_action)
}

/// Parses the NDJSON actions of a commit file named `file`.
pub fn parse_commit(file: &str, bytes: &[u8]) -> Result<Vec<Action>, DeltaError> {
    let mut actions = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(DeltaError::Corrupt { file: file.into(), detail: format!("line {} is too long", i + 1) });
        }
        let envelope: Envelope = serde_json::from_slice(line)
            .map_err(|e| DeltaError::Corrupt { file: file.into(), detail: format!("line {}: {e}", i + 1) })?;
        actions.extend(envelope.into_action());
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commit_lines() {
        let commit = br#"{"commitInfo":{"timestamp":1,"operation":"WRITE"}}
{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":["p"],"configuration":{"k":"v"},"createdTime":5}}
{"add":{"path":"p=a/f.parquet","partitionValues":{"p":"a","q":null},"size":10,"modificationTime":2,"dataChange":true,"stats":"{\"numRecords\":1}"}}
{"remove":{"path":"old.parquet","deletionTimestamp":3,"dataChange":true}}
{"txn":{"appId":"a","version":1}}
"#;
        let actions = parse_commit("0.json", commit).unwrap();
        assert_eq!(actions.len(), 5, "txn is ignored");
        let Action::Add(add) = &actions[3] else { panic!() };
        assert_eq!(*add.partition_values, [("p".to_string(), Some("a".to_string())), ("q".to_string(), None)]);
        assert!(matches!(&actions[2], Action::Metadata(m) if m.property("k") == Some("v")));
    }

    #[test]
    fn statistics_are_escaped_as_serde_json_escapes_them() {
        let every_char: String = (0u8..=0x7f).map(char::from).chain("é\u{2028}😀".chars()).collect();
        for text in [every_char.as_str(), "", r#"{"numRecords":1,"minValues":{"s":"a\"b"}}"#, "\"\\\n"] {
            let ours = StatsJson::from_text(text).unwrap();
            assert_eq!(ours.literal().get(), serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    /// Escapes at every position of texts of every length up to three 16-byte chunks: the
    /// chunked search must find each, in the chunks, the tail and the padded short text.
    #[test]
    fn escapes_are_found_in_every_position() {
        for len in 0..48 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é'] {
                    let text: String = (0..len).map(|i| if i == at { special } else { 'x' }).collect();
                    let ours = StatsJson::from_text(&text).unwrap();
                    assert_eq!(ours.literal().get(), serde_json::to_string(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn corrupt_lines_are_errors() {
        for bad in [&b"{not json}"[..], b"{\"add\":{\"path\":1}}", b"\xff\xfe"] {
            let e = parse_commit("00000000000000000003.json", bad).unwrap_err();
            assert!(e.to_string().contains("00000000000000000003.json"), "{e}");
        }
    }
}
