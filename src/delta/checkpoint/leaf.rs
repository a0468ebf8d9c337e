//! One leaf column of a checkpoint, decoded a batch of rows at a time with the `parquet` crate's
//! column API (definition and repetition levels, then the non-null values), and read back row by
//! row through a cursor.

use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as Physical};
use parquet::column::reader::ColumnReader;
use parquet::data_type::ByteArray;
use parquet::schema::types::{SchemaDescriptor, Type};

/// Why a checkpoint was refused while its rows were assembled.
pub(super) type Refusal = &'static str;

/// A schema node reached from the root, with the definition level at which it is not null.
#[derive(Clone)]
pub(super) struct Node<'a> {
    pub ty: &'a Type,
    pub def: i16,
    pub path: Vec<&'a str>,
}

impl<'a> Node<'a> {
    /// The top-level field `name` of the file schema.
    pub fn top(schema: &'a SchemaDescriptor, name: &str) -> Option<Node<'a>> {
        let root = Node { ty: schema.root_schema(), def: 0, path: Vec::new() };
        root.child(name)
    }

    /// The child field `name` of this group.
    pub fn child(&self, name: &str) -> Option<Node<'a>> {
        if !self.ty.is_group() {
            return None;
        }
        let ty = self.ty.get_fields().iter().find(|f| f.name() == name)?;
        Some(self.enter(ty))
    }

    /// The children of this group, in schema order (none for a primitive).
    pub fn children(&self) -> Vec<Node<'a>> {
        match self.ty.is_group() {
            true => self.ty.get_fields().iter().map(|f| self.enter(f)).collect(),
            false => Vec::new(),
        }
    }

    fn enter(&self, ty: &'a Type) -> Node<'a> {
        let nullable = ty.get_basic_info().has_repetition() && ty.get_basic_info().repetition() != Repetition::REQUIRED;
        let mut path = self.path.clone();
        path.push(ty.name());
        Node { ty, def: self.def.saturating_add(i16::from(nullable)), path }
    }

    pub fn repeated(&self) -> bool {
        self.ty.get_basic_info().has_repetition() && self.ty.get_basic_info().repetition() == Repetition::REPEATED
    }

    /// Whether this group is annotated as a list.
    pub fn is_list(&self) -> bool {
        let info = self.ty.get_basic_info();
        info.converted_type() == ConvertedType::LIST || matches!(info.logical_type_ref(), Some(LogicalType::List))
    }

    /// Whether this group is annotated as a map.
    pub fn is_map(&self) -> bool {
        let info = self.ty.get_basic_info();
        matches!(info.converted_type(), ConvertedType::MAP | ConvertedType::MAP_KEY_VALUE)
            || matches!(info.logical_type_ref(), Some(LogicalType::Map))
    }

    /// The primitive leaves under this node (itself when it is one), in schema order.
    pub fn leaves(&self) -> Vec<Node<'a>> {
        match self.ty.is_group() {
            true => self.children().iter().flat_map(Node::leaves).collect(),
            false => vec![self.clone()],
        }
    }

    /// The index of this leaf among the file's columns; `None` for a group, or a leaf of a
    /// physical type no checkpoint field has (INT96, fixed-length byte arrays).
    pub fn column(&self, schema: &SchemaDescriptor) -> Option<usize> {
        if self.ty.is_group() || matches!(self.ty.get_physical_type(), Physical::INT96 | Physical::FIXED_LEN_BYTE_ARRAY)
        {
            return None;
        }
        schema.columns().iter().position(|c| c.path().parts().iter().map(String::as_str).eq(self.path.iter().copied()))
    }
}

/// The non-null values of a batch.
enum Values {
    Bool(Vec<bool>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    Bytes(Vec<ByteArray>),
}

/// A scalar read from a leaf.
pub(super) enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
}

/// The levels of one row in the batch: `start..end`, and the index of its first value.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
    pub value: usize,
}

/// A leaf column of one row group and its current batch.
pub(super) struct Leaf {
    reader: ColumnReader,
    def: Vec<i16>,
    rep: Vec<i16>,
    values: Values,
    /// The definition level of a non-null value.
    pub max_def: i16,
    max_rep: i16,
    /// For a leaf of one level per row with nulls: the index of each level's value.
    index: Vec<u32>,
    /// The cursor of a repeated leaf: the row it is at, that row's first level and first value.
    row: usize,
    level: usize,
    value: usize,
}

impl Leaf {
    /// A leaf over `reader`; `None` for the physical types a checkpoint reader never needs.
    pub fn new(reader: ColumnReader, max_def: i16, max_rep: i16) -> Option<Leaf> {
        let values = match &reader {
            ColumnReader::BoolColumnReader(_) => Values::Bool(Vec::new()),
            ColumnReader::Int32ColumnReader(_) => Values::Int32(Vec::new()),
            ColumnReader::Int64ColumnReader(_) => Values::Int64(Vec::new()),
            ColumnReader::FloatColumnReader(_) => Values::Float(Vec::new()),
            ColumnReader::DoubleColumnReader(_) => Values::Double(Vec::new()),
            ColumnReader::ByteArrayColumnReader(_) => Values::Bytes(Vec::new()),
            _ => return None,
        };
        let (def, rep) = (Vec::new(), Vec::new());
        Some(Leaf { reader, def, rep, values, max_def, max_rep, index: Vec::new(), row: 0, level: 0, value: 0 })
    }

    /// Decodes the next `rows` rows (fewer at the end of the column chunk); returns how many.
    pub fn read(&mut self, rows: usize) -> parquet::errors::Result<usize> {
        self.def.clear();
        self.rep.clear();
        (self.row, self.level, self.value) = (0, 0, 0);
        let (def, rep) = (Some(&mut self.def), Some(&mut self.rep));
        let (read, _, _) = match (&mut self.reader, &mut self.values) {
            (ColumnReader::BoolColumnReader(r), Values::Bool(v)) => fill(v, |v| r.read_records(rows, def, rep, v)),
            (ColumnReader::Int32ColumnReader(r), Values::Int32(v)) => fill(v, |v| r.read_records(rows, def, rep, v)),
            (ColumnReader::Int64ColumnReader(r), Values::Int64(v)) => fill(v, |v| r.read_records(rows, def, rep, v)),
            (ColumnReader::FloatColumnReader(r), Values::Float(v)) => fill(v, |v| r.read_records(rows, def, rep, v)),
            (ColumnReader::DoubleColumnReader(r), Values::Double(v)) => fill(v, |v| r.read_records(rows, def, rep, v)),
            (ColumnReader::ByteArrayColumnReader(r), Values::Bytes(v)) => {
                fill(v, |v| r.read_records(rows, def, rep, v))
            }
            _ => unreachable!("the values match the reader they were made for"),
        }?;
        if self.max_rep == 0 && self.max_def > 0 {
            self.index.clear();
            let mut values = 0u32;
            self.index.extend(self.def.iter().map(|&d| {
                values += u32::from(d == self.max_def);
                values - u32::from(d == self.max_def)
            }));
        }
        Ok(read)
    }

    /// The definition level of level `i` of the batch.
    pub fn def(&self, i: usize) -> i16 {
        if self.max_def == 0 {
            0
        } else {
            self.def.get(i).copied().unwrap_or(0)
        }
    }

    /// The end of the row whose first level is `start` (a repeated leaf's next level of
    /// repetition 0).
    fn row_end(&self, start: usize) -> usize {
        let rest = self.rep.get(start + 1..).unwrap_or_default();
        start + 1 + rest.iter().position(|&r| r == 0).unwrap_or(rest.len())
    }

    /// The levels of row `row` of the batch. A repeated leaf's rows are visited in increasing
    /// order.
    pub fn span(&mut self, row: usize) -> Span {
        if self.max_rep == 0 {
            // One level per row, and its value's index counted when the batch was read.
            let value = if self.max_def == 0 { row } else { self.index.get(row).map_or(0, |&i| i as usize) };
            return Span { start: row, end: row + 1, value };
        }
        while self.row < row {
            let end = self.row_end(self.level);
            self.value += (self.level..end).filter(|&i| self.def(i) == self.max_def).count();
            (self.row, self.level) = (self.row + 1, end);
        }
        Span { start: self.level, end: self.row_end(self.level), value: self.value }
    }

    /// The single level of row `row` (the first, for a repeated leaf): its definition level and,
    /// when it holds a value, the value's index.
    pub fn first(&mut self, row: usize) -> (i16, Option<usize>) {
        let span = self.span(row);
        let def = self.def(span.start);
        (def, (def == self.max_def && span.start < span.end).then_some(span.value))
    }

    /// Value `i` of the batch.
    pub fn scalar(&self, i: usize) -> Option<Scalar<'_>> {
        Some(match &self.values {
            Values::Bool(v) => Scalar::Bool(*v.get(i)?),
            Values::Int32(v) => Scalar::Int(i64::from(*v.get(i)?)),
            Values::Int64(v) => Scalar::Int(*v.get(i)?),
            Values::Float(v) => Scalar::Double(f64::from(*v.get(i)?)),
            Values::Double(v) => Scalar::Double(*v.get(i)?),
            Values::Bytes(v) => Scalar::Bytes(v.get(i)?.data()),
        })
    }

    /// Value `i` as text; an error when it is not UTF-8 (or not a byte array).
    pub fn text(&self, i: usize) -> Result<&str, Refusal> {
        match self.scalar(i) {
            Some(Scalar::Bytes(b)) => std::str::from_utf8(b).map_err(|_| "a checkpoint string is not UTF-8"),
            _ => Err("a checkpoint string column holds no value"),
        }
    }

    /// Value `i` as an integer.
    pub fn int(&self, i: usize) -> Option<i64> {
        match self.scalar(i) {
            Some(Scalar::Int(v)) => Some(v),
            _ => None,
        }
    }
}

/// The kind of value a typed field expects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Int,
    Bool,
}

impl Kind {
    /// Whether a column of `physical` type holds this kind.
    pub fn accepts(self, physical: Physical) -> bool {
        matches!(
            (self, physical),
            (Kind::Text, Physical::BYTE_ARRAY)
                | (Kind::Int, Physical::INT32 | Physical::INT64)
                | (Kind::Bool, Physical::BOOLEAN)
        )
    }
}

/// Clears the values buffer and reads into it.
fn fill<T, R>(values: &mut Vec<T>, read: impl FnOnce(&mut Vec<T>) -> R) -> R {
    values.clear();
    read(values)
}
