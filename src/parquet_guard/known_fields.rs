//! The fields the Parquet format defines in a file's footer (`FileMetaData`) and in a page
//! header (`PageHeader`), with the type each one has in `parquet.thrift`.
//!
//! The decoder reads a field it knows by this type, whatever the field header declares, so the
//! guard holds every known field to it: then the guard's walk and the decoder read the same
//! bytes the same way. Fields the format does not define are skipped by both as declared.
//! Unions (`LogicalType`, `ColumnOrder`, …) are structs on the wire and are described as such;
//! an empty struct (`StringType`, `TypeDefinedOrder`, …) has no known fields.

/// The type a known field has in the format, as the compact protocol carries it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    Bool,
    /// `i8`: one byte.
    Byte,
    /// `i16`, `i32`, `i64` and enums: a zigzag varint (the decoder reads them alike).
    Int,
    Double,
    /// `binary` and `string`.
    Binary,
    Struct(&'static [Field]),
    List(&'static Shape),
}

/// A known field: its id and its shape.
pub(super) type Field = (i16, Shape);

use Shape::{Binary, Bool, Byte, Double, Int, List, Struct};

const EMPTY: &[Field] = &[];

const KEY_VALUE: &[Field] = &[(1, Binary), (2, Binary)];

const TIME_UNIT: &[Field] = &[(1, Struct(EMPTY)), (2, Struct(EMPTY)), (3, Struct(EMPTY))];

/// `TimeType` and `TimestampType`.
const TIME: &[Field] = &[(1, Bool), (2, Struct(TIME_UNIT))];

const LOGICAL_TYPE: &[Field] = &[
    (1, Struct(EMPTY)),
    (2, Struct(EMPTY)),
    (3, Struct(EMPTY)),
    (4, Struct(EMPTY)),
    (5, Struct(&[(1, Int), (2, Int)])),
    (6, Struct(EMPTY)),
    (7, Struct(TIME)),
    (8, Struct(TIME)),
    (10, Struct(&[(1, Byte), (2, Bool)])),
    (11, Struct(EMPTY)),
    (12, Struct(EMPTY)),
    (13, Struct(EMPTY)),
    (14, Struct(EMPTY)),
    (15, Struct(EMPTY)),
    (16, Struct(&[(1, Byte)])),
    (17, Struct(&[(1, Binary)])),
    (18, Struct(&[(1, Binary), (2, Int)])),
    (19, Struct(EMPTY)),
];

const SCHEMA_ELEMENT: &[Field] = &[
    (1, Int),
    (2, Int),
    (3, Int),
    (4, Binary),
    (5, Int),
    (6, Int),
    (7, Int),
    (8, Int),
    (9, Int),
    (10, Struct(LOGICAL_TYPE)),
];

const STATISTICS: &[Field] =
    &[(1, Binary), (2, Binary), (3, Int), (4, Int), (5, Binary), (6, Binary), (7, Bool), (8, Bool), (9, Int)];

const PAGE_ENCODING_STATS: &[Field] = &[(1, Int), (2, Int), (3, Int)];

const SIZE_STATISTICS: &[Field] = &[(1, Int), (2, List(&Int)), (3, List(&Int))];

const BOUNDING_BOX: &[Field] =
    &[(1, Double), (2, Double), (3, Double), (4, Double), (5, Double), (6, Double), (7, Double), (8, Double)];

const GEOSPATIAL_STATISTICS: &[Field] = &[(1, Struct(BOUNDING_BOX)), (2, List(&Int))];

const COLUMN_META_DATA: &[Field] = &[
    (1, Int),
    (2, List(&Int)),
    (3, List(&Binary)),
    (4, Int),
    (5, Int),
    (6, Int),
    (7, Int),
    (8, List(&Struct(KEY_VALUE))),
    (9, Int),
    (10, Int),
    (11, Int),
    (12, Struct(STATISTICS)),
    (13, List(&Struct(PAGE_ENCODING_STATS))),
    (14, Int),
    (15, Int),
    (16, Struct(SIZE_STATISTICS)),
    (17, Struct(GEOSPATIAL_STATISTICS)),
];

/// `ColumnCryptoMetaData`: footer key, or a column key (`EncryptionWithColumnKey`).
const COLUMN_CRYPTO_META_DATA: &[Field] = &[(1, Struct(EMPTY)), (2, Struct(&[(1, List(&Binary)), (2, Binary)]))];

const COLUMN_CHUNK: &[Field] = &[
    (1, Binary),
    (2, Int),
    (3, Struct(COLUMN_META_DATA)),
    (4, Int),
    (5, Int),
    (6, Int),
    (7, Int),
    (8, Struct(COLUMN_CRYPTO_META_DATA)),
    (9, Binary),
];

const SORTING_COLUMN: &[Field] = &[(1, Int), (2, Bool), (3, Bool)];

const ROW_GROUP: &[Field] = &[
    (1, List(&Struct(COLUMN_CHUNK))),
    (2, Int),
    (3, Int),
    (4, List(&Struct(SORTING_COLUMN))),
    (5, Int),
    (6, Int),
    (7, Int),
];

/// `ColumnOrder`: type-defined, IEEE 754 total order, INT96 timestamp order (all empty).
const COLUMN_ORDER: &[Field] = &[(1, Struct(EMPTY)), (2, Struct(EMPTY)), (3, Struct(EMPTY))];

/// `AesGcmV1` and `AesGcmCtrV1`.
const AES_GCM: &[Field] = &[(1, Binary), (2, Binary), (3, Bool)];

const ENCRYPTION_ALGORITHM: &[Field] = &[(1, Struct(AES_GCM)), (2, Struct(AES_GCM))];

/// `FileMetaData`: the footer.
pub(super) const FILE_META_DATA: &[Field] = &[
    (1, Int),
    (2, List(&Struct(SCHEMA_ELEMENT))),
    (3, Int),
    (4, List(&Struct(ROW_GROUP))),
    (5, List(&Struct(KEY_VALUE))),
    (6, Binary),
    (7, List(&Struct(COLUMN_ORDER))),
    (8, Struct(ENCRYPTION_ALGORITHM)),
    (9, Binary),
];

const DATA_PAGE_HEADER: &[Field] = &[(1, Int), (2, Int), (3, Int), (4, Int), (5, Struct(STATISTICS))];

const DICTIONARY_PAGE_HEADER: &[Field] = &[(1, Int), (2, Int), (3, Bool)];

const DATA_PAGE_HEADER_V2: &[Field] =
    &[(1, Int), (2, Int), (3, Int), (4, Int), (5, Int), (6, Int), (7, Bool), (8, Struct(STATISTICS))];

/// `PageHeader`: what precedes each page of a column chunk.
pub(super) const PAGE_HEADER: &[Field] = &[
    (1, Int),
    (2, Int),
    (3, Int),
    (4, Int),
    (5, Struct(DATA_PAGE_HEADER)),
    (6, Struct(EMPTY)),
    (7, Struct(DICTIONARY_PAGE_HEADER)),
    (8, Struct(DATA_PAGE_HEADER_V2)),
];

/// The known field `id` of a struct described by `fields`.
pub(super) fn lookup(fields: &[Field], id: i16) -> Option<Shape> {
    fields.iter().find(|(known, _)| *known == id).map(|(_, shape)| *shape)
}
