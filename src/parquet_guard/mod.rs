//! A bound on the work the `parquet` crate does on hostile Parquet metadata.
//!
//! The footer and every page header of a Parquet file are Thrift structs in the compact
//! protocol. `parquet` 60 skips a field it does not know element by element, and it skips a
//! boolean list, set or map element without reading a byte. So a list that declares two billion
//! booleans costs two billion loop turns and no input, and a list of a few thousand such lists
//! costs millions: the checkpoint fuzzer found 12 to 14 KB files of both kinds that kept the
//! decoder busy for seconds. This module walks a struct the way the decoder does, before the
//! bytes reach it, and refuses it when the elements that take no byte add up to more than the
//! struct's length (the footers and page headers real writers produce hold none). Every other
//! element takes at least one byte, so a count beyond the bytes left is refused too, and the
//! walk takes time linear in the length. The decoder stays the judge of what the fields mean.
//!
//! The decoder reads a field it knows by the type the format gives it, whatever the field's
//! header declares, and skips the others by their declared type. So the walk knows the format's
//! fields too ([`known_fields`]) and refuses a known field (or a known list's elements) whose
//! declared type is not the format's: then both read every byte alike, and the decoder can meet
//! no boolean list the walk did not count.

mod known_fields;

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaData;

use known_fields::{lookup, Field, Shape, FILE_META_DATA, PAGE_HEADER};

/// Nesting deeper than this is refused (real footers nest fewer than ten levels).
const MAX_DEPTH: u8 = 64;

/// Thrift compact type codes.
const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// The page header field holding the page's compressed size.
const COMPRESSED_PAGE_SIZE: i16 = 3;

/// The refusal of a known field declared with another type than the format's.
const FALSE_TYPE: GuardError = "a Thrift field's declared type is not the one the Parquet format gives it";

/// Why Parquet metadata was refused before decoding.
pub(crate) type GuardError = &'static str;

/// A cursor over Thrift compact bytes.
struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// How many more elements that take no byte (booleans in lists, sets and maps) may come.
    free_elements: u64,
}

impl Walker<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, GuardError> {
        let b = *self.bytes.get(self.pos).ok_or("the Thrift metadata ends early")?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Result<(), GuardError> {
        if n > self.left() {
            return Err("the Thrift metadata ends early");
        }
        self.pos += n;
        Ok(())
    }

    /// An unsigned LEB128 varint of at most 10 bytes.
    fn varint(&mut self) -> Result<u64, GuardError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a Thrift varint is longer than 10 bytes")
    }

    /// A zigzag varint.
    fn signed(&mut self) -> Result<i64, GuardError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// An element count: elements that take no byte come out of the budget, the others may
    /// not outnumber the bytes left.
    fn count(&mut self, declared: u64, free: bool) -> Result<u64, GuardError> {
        if free {
            self.free_elements = self
                .free_elements
                .checked_sub(declared)
                .ok_or("a Thrift list or map declares more boolean elements than the metadata has bytes")?;
        } else if declared > self.left() as u64 {
            return Err("a Thrift list or map declares more elements than it has bytes");
        }
        Ok(declared)
    }

    /// One value of type `kind` (a boolean's value is in its field header or, as an element,
    /// skipped without a byte, as the decoder does). `known` is what the format defines for
    /// it, if it is a known field or a known list's element.
    fn value(&mut self, kind: u8, depth: u8, known: Option<Shape>) -> Result<(), GuardError> {
        if known.is_some_and(|shape| !admits(shape, kind)) {
            return Err(FALSE_TYPE);
        }
        match kind {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.skip(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.skip(8),
            UUID => self.skip(16),
            BINARY => {
                let len = self.varint()?;
                self.skip(usize::try_from(len).map_err(|_| "a Thrift binary is too long")?)
            }
            LIST | SET => {
                let depth = deeper(depth)?;
                let header = self.byte()?;
                let declared = match header >> 4 {
                    15 => self.varint()?,
                    short => u64::from(short),
                };
                let element_kind = header & 0x0f;
                let element = match known {
                    Some(Shape::List(element)) => Some(*element),
                    _ => None,
                };
                for _ in 0..self.count(declared, is_bool(element_kind))? {
                    self.value(element_kind, depth, element)?;
                }
                Ok(())
            }
            MAP => {
                let depth = deeper(depth)?;
                let declared = self.varint()?;
                if declared > 0 {
                    let (key, value) = kinds_of(self.byte()?);
                    for _ in 0..self.count(declared, is_bool(key) && is_bool(value))? {
                        self.value(key, depth, None)?;
                        self.value(value, depth, None)?;
                    }
                }
                Ok(())
            }
            STRUCT => {
                let fields = match known {
                    Some(Shape::Struct(fields)) => fields,
                    _ => &[],
                };
                self.fields(deeper(depth)?, fields, &mut |_, _| {})
            }
            _ => Err("a Thrift field has an unknown type"),
        }
    }

    /// The fields of a struct whose known fields are `known`, up to its stop byte; `top_int`
    /// sees each integer field.
    fn fields(&mut self, depth: u8, known: &[Field], top_int: &mut dyn FnMut(i16, i64)) -> Result<(), GuardError> {
        let mut last_id = 0i16;
        loop {
            let header = self.byte()?;
            let kind = header & 0x0f;
            if kind == 0 {
                return Ok(());
            }
            let id = match header >> 4 {
                0 => i16::try_from(self.signed()?).map_err(|_| "a Thrift field id is out of range")?,
                delta => last_id.checked_add(i16::from(delta)).ok_or("a Thrift field id is out of range")?,
            };
            last_id = id;
            let shape = lookup(known, id);
            if matches!(kind, I16 | I32 | I64) && shape.is_none_or(|shape| admits(shape, kind)) {
                top_int(id, self.signed()?);
            } else {
                self.value(kind, depth, shape)?;
            }
        }
    }
}

/// Whether a value declared as `kind` is read by the decoder as the format's `shape` reads it.
fn admits(shape: Shape, kind: u8) -> bool {
    match shape {
        Shape::Bool => is_bool(kind),
        Shape::Byte => kind == BYTE,
        Shape::Int => matches!(kind, I16 | I32 | I64),
        Shape::Double => kind == DOUBLE,
        Shape::Binary => kind == BINARY,
        Shape::Struct(_) => kind == STRUCT,
        Shape::List(_) => kind == LIST,
    }
}

fn is_bool(kind: u8) -> bool {
    matches!(kind, BOOL_TRUE | BOOL_FALSE)
}

/// The key and value types of a map.
fn kinds_of(byte: u8) -> (u8, u8) {
    (byte >> 4, byte & 0x0f)
}

fn deeper(depth: u8) -> Result<u8, GuardError> {
    depth.checked_sub(1).ok_or("the Thrift metadata nests too deep")
}

/// Checks the Thrift struct at the start of `bytes`, whose known fields are `known`; returns
/// its length and hands each of its own integer fields (not those of nested structs) to
/// `top_int` as `(field id, value)`.
fn check_struct(bytes: &[u8], known: &[Field], top_int: &mut dyn FnMut(i16, i64)) -> Result<usize, GuardError> {
    let mut walker = Walker { bytes, pos: 0, free_elements: bytes.len() as u64 };
    walker.fields(MAX_DEPTH, known, top_int)?;
    Ok(walker.pos)
}

/// Checks footer metadata (the Thrift `FileMetaData` without the trailer).
pub(crate) fn check_metadata(metadata: &[u8]) -> Result<(), GuardError> {
    check_struct(metadata, FILE_META_DATA, &mut |_, _| {}).map(drop)
}

/// Checks the footer metadata of the whole Parquet file `file`. A file without a plain
/// footer passes: the decoder refuses it with its own message.
pub(crate) fn check_footer(file: &[u8]) -> Result<(), GuardError> {
    let Some(trailer) = file.len().checked_sub(8).map(|at| &file[at..]) else { return Ok(()) };
    if &trailer[4..] != b"PAR1" {
        return Ok(());
    }
    let len = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]) as usize;
    match file.len().checked_sub(len.saturating_add(8)) {
        Some(start) => check_metadata(&file[start..file.len() - 8]),
        None => Ok(()),
    }
}

/// Checks the page headers of the column chunks `metadata` describes in `file` whose top-level
/// column is `wanted` (the ones the reader will decode), walking each chunk the way the page
/// reader does: a header, its page, the next header.
pub(crate) fn check_pages(
    file: &Bytes,
    metadata: &ParquetMetaData,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<(), GuardError> {
    let columns = metadata.row_groups().iter().flat_map(|group| group.columns());
    for column in columns.filter(|c| c.column_path().parts().first().is_some_and(|top| wanted(top))) {
        let (start, len) = column.byte_range();
        let end = start.saturating_add(len).min(file.len() as u64) as usize;
        let mut pos = usize::try_from(start).unwrap_or(usize::MAX);
        while pos < end {
            let mut page_size = None;
            let header = check_struct(&file[pos..end], PAGE_HEADER, &mut |id, value| {
                if id == COMPRESSED_PAGE_SIZE {
                    page_size = usize::try_from(value).ok();
                }
            })?;
            let Some(page_size) = page_size else { break };
            pos = pos.saturating_add(header).saturating_add(page_size);
        }
    }
    Ok(())
}

/// Hostile metadata for the tests of this module and of the checkpoint reader.
#[cfg(test)]
pub(crate) mod fixtures {
    /// A struct whose field 20 (unknown to the format in a footer or page header, so skipped as
    /// declared) is a list of `2^31 - 1` booleans, with no bytes for them.
    pub(crate) const HOSTILE: [u8; 9] = [0x09, 0x28, 0xf2, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00];

    /// A Parquet file of nothing but magic, `metadata` as its footer, and the trailer.
    pub(crate) fn file_with_footer(metadata: &[u8]) -> Vec<u8> {
        let mut file = b"PAR1".to_vec();
        file.extend_from_slice(metadata);
        file.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
        file.extend_from_slice(b"PAR1");
        file
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{file_with_footer, HOSTILE};
    use super::*;

    #[test]
    fn a_count_beyond_the_bytes_left_is_refused() {
        assert!(check_struct(&HOSTILE, &[], &mut |_, _| {}).is_err());
        let map = [0x1b, 0xff, 0xff, 0xff, 0xff, 0x07, 0x11, 0x00];
        assert!(check_struct(&map, &[], &mut |_, _| {}).is_err());
    }

    #[test]
    fn well_formed_structs_pass_with_their_length() {
        // field 1: i32 -3; field 2: binary "ab"; field 3: list of 2 i32; field 5: nested
        // struct { field 1: true }; then stop. Trailing bytes are not part of the struct.
        let bytes = [0x15, 0x05, 0x18, 0x02, b'a', b'b', 0x19, 0x25, 0x01, 0x02, 0x2c, 0x11, 0x00, 0x00, 0xee];
        let mut ints = Vec::new();
        assert_eq!(check_struct(&bytes, &[], &mut |id, v| ints.push((id, v))), Ok(14));
        assert_eq!(ints, [(1, -3)]);
    }

    /// A list of 100 lists of 100 booleans: 10,000 elements the decoder would skip for free,
    /// in 303 bytes, so nesting cannot multiply the work.
    #[test]
    fn boolean_elements_are_counted_across_lists() {
        let mut bytes = vec![0x19, 0xf9, 100];
        bytes.extend(std::iter::repeat_n([0xf1, 100], 100).flatten());
        bytes.push(0x00);
        assert!(check_struct(&bytes, &[], &mut |_, _| {}).unwrap_err().contains("boolean elements"));
        let few = [0x19, 0x21, 0x00];
        assert_eq!(check_struct(&few, &[], &mut |_, _| {}), Ok(3));
    }

    #[test]
    fn deep_nesting_and_truncation_are_refused() {
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).chain(std::iter::repeat_n(0, 101)).collect();
        assert_eq!(check_struct(&deep, &[], &mut |_, _| {}), Err("the Thrift metadata nests too deep"));
        assert!(check_struct(&[0x18, 0x05, b'a'], &[], &mut |_, _| {}).is_err());
    }

    /// A footer whose known field carries another type than the format's is refused; an
    /// unknown field may carry any type.
    #[test]
    fn known_fields_must_carry_the_format_type() {
        // FileMetaData field 1 (`version`, an i32) declared as a list of 3 booleans.
        let false_version = [0x19, 0x31, 0x00];
        assert_eq!(check_metadata(&false_version), Err(FALSE_TYPE));
        // Field 2 (`schema`, a list of structs) declared as a list of 3 i32.
        assert!(check_metadata(&[0x29, 0x35, 0x02, 0x04, 0x06, 0x00]).is_err());
        // An unknown field 20 holding the same 3 booleans passes; so does `version` as an i32.
        assert_eq!(check_metadata(&[0x09, 0x28, 0x31, 0x00]), Ok(()));
        assert_eq!(check_metadata(&[0x15, 0x04, 0x00]), Ok(()));
        // Known fields are known at depth: a schema element (field 2) whose `name` (4) is an i32.
        assert!(check_metadata(&[0x29, 0x1c, 0x45, 0x02, 0x00, 0x00]).is_err());
        assert_eq!(check_metadata(&[0x29, 0x1c, 0x48, 0x01, b'x', 0x00, 0x00]), Ok(()));
    }

    /// The fuzzer's footers whose false types led the decoder to boolean lists the walk did not
    /// see (6 s each in the instrumented decoder) are refused now.
    #[test]
    fn the_false_typed_findings_are_refused() {
        for finding in [
            &include_bytes!("../../fuzz/corpus/checkpoint/slow-nested-booleans-1")[..],
            include_bytes!("../../fuzz/corpus/checkpoint/slow-nested-booleans-2"),
            include_bytes!("../../fuzz/corpus/checkpoint/slow-nested-booleans-3"),
        ] {
            assert_eq!(check_footer(finding), Err(FALSE_TYPE));
        }
    }

    /// A file written by the `parquet` crate with every option that adds footer and page-header
    /// fields (page statistics in headers, size statistics, bloom filters, sorting columns,
    /// key-value metadata, distinct counts, dictionaries, logical types), in both page versions.
    fn file_with_every_option(version: parquet::file::properties::WriterVersion) -> Bytes {
        use parquet::basic::{LogicalType, Repetition, Type as Physical};
        use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
        use parquet::file::metadata::{KeyValue, SortingColumn};
        use parquet::file::properties::{EnabledStatistics, WriterProperties};
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::types::Type;
        use std::sync::Arc;

        let leaf = |name: &str, physical, logical, repetition| {
            Arc::new(
                Type::primitive_type_builder(name, physical)
                    .with_logical_type(logical)
                    .with_repetition(repetition)
                    .build()
                    .expect("a valid leaf"),
            )
        };
        let schema = Type::group_type_builder("schema")
            .with_fields(vec![
                leaf("id", Physical::INT64, None, Repetition::REQUIRED),
                leaf("name", Physical::BYTE_ARRAY, Some(LogicalType::String), Repetition::OPTIONAL),
                leaf("tiny", Physical::INT32, Some(LogicalType::integer(8, true)), Repetition::REQUIRED),
                leaf("flag", Physical::BOOLEAN, None, Repetition::REQUIRED),
            ])
            .build()
            .expect("a valid schema");
        let props = WriterProperties::builder()
            .set_writer_version(version)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_write_page_header_statistics(true)
            .set_bloom_filter_enabled(true)
            .set_sorting_columns(Some(vec![SortingColumn { column_idx: 0, descending: false, nulls_first: true }]))
            .set_key_value_metadata(Some(vec![KeyValue::new("writer".into(), "test".to_string())]))
            .set_write_row_group_number_distinct_values(true)
            .set_data_page_row_count_limit(64)
            .set_write_batch_size(64)
            .build();
        let mut file = Vec::new();
        let mut writer = SerializedFileWriter::new(&mut file, Arc::new(schema), Arc::new(props)).expect("a writer");
        for group in 0..2i64 {
            let ids: Vec<i64> = (group * 500..group * 500 + 500).collect();
            let mut rows = writer.next_row_group().expect("a row group");
            let mut column = rows.next_column().expect("id").expect("id");
            column.typed::<Int64Type>().write_batch(&ids, None, None).expect("ids");
            column.close().expect("id closes");
            let mut column = rows.next_column().expect("name").expect("name");
            let defs: Vec<i16> = ids.iter().map(|i| i16::from(i % 4 != 0)).collect();
            let names: Vec<ByteArray> =
                ids.iter().filter(|i| *i % 4 != 0).map(|i| format!("n{}", i % 9).as_str().into()).collect();
            column.typed::<ByteArrayType>().write_batch(&names, Some(&defs), None).expect("names");
            column.close().expect("name closes");
            let mut column = rows.next_column().expect("tiny").expect("tiny");
            let tiny: Vec<i32> = ids.iter().map(|i| (i % 200 - 100) as i32).collect();
            column.typed::<Int32Type>().write_batch(&tiny, None, None).expect("tiny");
            column.close().expect("tiny closes");
            let mut column = rows.next_column().expect("flag").expect("flag");
            let flags: Vec<bool> = ids.iter().map(|i| i % 3 == 0).collect();
            column.typed::<BoolType>().write_batch(&flags, None, None).expect("flags");
            column.close().expect("flag closes");
            rows.close().expect("the row group closes");
        }
        writer.close().expect("the file closes");
        file.into()
    }

    #[test]
    fn real_metadata_with_every_option_passes() {
        use parquet::file::properties::WriterVersion;
        use parquet::file::reader::{FileReader, SerializedFileReader};
        for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
            let file = file_with_every_option(version);
            assert_eq!(check_footer(&file), Ok(()));
            let reader = SerializedFileReader::new(file.clone()).expect("the file reads");
            let metadata = reader.metadata();
            let first = metadata.row_group(0).column(0);
            assert!(first.bloom_filter_offset().is_some() && first.statistics().is_some());
            assert_eq!(check_pages(&file, metadata, &|_| true), Ok(()));
            assert_eq!(reader.get_row_iter(None).expect("rows").count(), 1000);
        }
    }

    #[test]
    fn a_hostile_footer_is_refused() {
        assert!(check_footer(&file_with_footer(&HOSTILE)).is_err());
        assert_eq!(check_footer(b"PAR1"), Ok(()));
    }
}
