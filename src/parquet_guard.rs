//! A bound on the work the `parquet` crate does on hostile Parquet metadata.
//!
//! The footer and every page header of a Parquet file are Thrift structs in the compact
//! protocol. `parquet` 60 skips a field it does not know element by element, and it skips a
//! boolean list, set or map element without reading a byte. So a list that declares two billion
//! booleans costs two billion loop turns and no input, and a list of a few thousand such lists
//! costs millions: the checkpoint fuzzer found 12 to 14 KB files of both kinds that kept the
//! decoder busy for seconds. This module walks a struct the way that skipping does, before the
//! bytes reach the decoder, and refuses it when the elements that take no byte add up to more
//! than the struct's length (the footers and page headers real writers produce hold none).
//! Every other element takes at least one byte, so a count beyond the bytes left is refused
//! too, and the walk takes time linear in the length. The decoder stays the judge of what the
//! fields mean.
//!
//! The walk reads each field by the type its header declares. The decoder reads a field it
//! knows by the type it expects, whatever the header says, so a file whose known fields carry
//! false types is read differently by the two, and the decoder can still meet a boolean list
//! the walk never saw. That gap is open (fuzz/README.md, "Findings"): closing it needs the
//! decoder itself to bound its skipping.

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaData;

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
    /// skipped without a byte, as the decoder does).
    fn value(&mut self, kind: u8, depth: u8) -> Result<(), GuardError> {
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
                for _ in 0..self.count(declared, is_bool(element_kind))? {
                    self.value(element_kind, depth)?;
                }
                Ok(())
            }
            MAP => {
                let depth = deeper(depth)?;
                let declared = self.varint()?;
                if declared > 0 {
                    let (key, value) = kinds_of(self.byte()?);
                    for _ in 0..self.count(declared, is_bool(key) && is_bool(value))? {
                        self.value(key, depth)?;
                        self.value(value, depth)?;
                    }
                }
                Ok(())
            }
            STRUCT => self.fields(deeper(depth)?, &mut |_, _| {}),
            _ => Err("a Thrift field has an unknown type"),
        }
    }

    /// The fields of a struct up to its stop byte; `top_int` sees each integer field.
    fn fields(&mut self, depth: u8, top_int: &mut dyn FnMut(i16, i64)) -> Result<(), GuardError> {
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
            if matches!(kind, I16 | I32 | I64) {
                top_int(id, self.signed()?);
            } else {
                self.value(kind, depth)?;
            }
        }
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

/// Checks the Thrift struct at the start of `bytes`; returns its length and hands each of its
/// own integer fields (not those of nested structs) to `top_int` as `(field id, value)`.
pub(crate) fn check_struct(bytes: &[u8], top_int: &mut dyn FnMut(i16, i64)) -> Result<usize, GuardError> {
    let mut walker = Walker { bytes, pos: 0, free_elements: bytes.len() as u64 };
    walker.fields(MAX_DEPTH, top_int)?;
    Ok(walker.pos)
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
        Some(start) => check_struct(&file[start..file.len() - 8], &mut |_, _| {}).map(drop),
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
            let header = check_struct(&file[pos..end], &mut |id, value| {
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
    /// A struct whose field 1 is a list of `2^31 - 1` booleans, with no bytes for them.
    pub(crate) const HOSTILE: [u8; 8] = [0x19, 0xf2, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00];

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
        assert!(check_struct(&HOSTILE, &mut |_, _| {}).is_err());
        let map = [0x1b, 0xff, 0xff, 0xff, 0xff, 0x07, 0x11, 0x00];
        assert!(check_struct(&map, &mut |_, _| {}).is_err());
    }

    #[test]
    fn well_formed_structs_pass_with_their_length() {
        // field 1: i32 -3; field 2: binary "ab"; field 3: list of 2 i32; field 5: nested
        // struct { field 1: true }; then stop. Trailing bytes are not part of the struct.
        let bytes = [0x15, 0x05, 0x18, 0x02, b'a', b'b', 0x19, 0x25, 0x01, 0x02, 0x2c, 0x11, 0x00, 0x00, 0xee];
        let mut ints = Vec::new();
        assert_eq!(check_struct(&bytes, &mut |id, v| ints.push((id, v))), Ok(14));
        assert_eq!(ints, [(1, -3)]);
    }

    /// A list of 100 lists of 100 booleans: 10,000 elements the decoder would skip for free,
    /// in 303 bytes, so nesting cannot multiply the work.
    #[test]
    fn boolean_elements_are_counted_across_lists() {
        let mut bytes = vec![0x19, 0xf9, 100];
        bytes.extend(std::iter::repeat_n([0xf1, 100], 100).flatten());
        bytes.push(0x00);
        assert!(check_struct(&bytes, &mut |_, _| {}).unwrap_err().contains("boolean elements"));
        let few = [0x19, 0x21, 0x00];
        assert_eq!(check_struct(&few, &mut |_, _| {}), Ok(3));
    }

    #[test]
    fn deep_nesting_and_truncation_are_refused() {
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 100).chain(std::iter::repeat_n(0, 101)).collect();
        assert_eq!(check_struct(&deep, &mut |_, _| {}), Err("the Thrift metadata nests too deep"));
        assert!(check_struct(&[0x18, 0x05, b'a'], &mut |_, _| {}).is_err());
    }

    #[test]
    fn a_hostile_footer_is_refused() {
        assert!(check_footer(&file_with_footer(&HOSTILE)).is_err());
        assert_eq!(check_footer(b"PAR1"), Ok(()));
    }
}
