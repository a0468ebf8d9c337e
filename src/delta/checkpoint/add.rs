//! The `add` column of a checkpoint, assembled into [`AddFile`]s from the leaf columns it needs
//! (other `add` fields, such as Spark's `stats_parsed`, are never decoded).
//!
//! Null and missing fields read as the Delta protocol and the former row reader read them: a
//! null `add` is no action; a null or missing `path` or `size`, a null key in
//! `partitionValues` or a null required deletion vector field make the checkpoint corrupt; a
//! null `partitionValues` is an empty map; a null, empty or null-keyed `tags` is no tags; other
//! fields are optional.

use std::collections::BTreeMap;

use parquet::schema::types::SchemaDescriptor;

use super::leaf::{Kind, Leaf, Node, Refusal, Scalar};
use super::Columns;
use crate::delta::actions::{AddFile, DeletionVector, PartitionValues, StatsJson};

/// A field of a struct: the slot of its leaf, `Bad` when the file gives it another type.
#[derive(Clone, Copy)]
enum Field {
    Absent,
    Bad,
    Leaf(usize),
}

/// A `map<string, string>` field: its key and value leaves and the levels that tell a null map
/// from an empty one.
#[derive(Clone, Copy)]
enum MapField {
    Absent,
    Bad,
    Map { key: usize, value: usize, map_def: i16, entry_def: i16 },
}

/// What a map field holds in one row.
enum MapValue {
    Null,
    Entries(PartitionValues),
    NullKey,
}

/// The `deletionVector` struct: the leaf that tells whether it is null, and its fields.
struct DvColumns {
    presence: usize,
    def: i16,
    storage_type: Field,
    path_or_inline_dv: Field,
    offset: Field,
    size_in_bytes: Field,
    cardinality: Field,
}

/// The leaves of `add` a snapshot needs.
pub(super) struct AddColumns {
    /// The first leaf of `add`, which tells whether the row has one.
    presence: usize,
    def: i16,
    path: Field,
    partition_values: MapField,
    size: Field,
    modification_time: Field,
    data_change: Field,
    stats: Field,
    tags: MapField,
    deletion_vector: Option<DvColumns>,
    base_row_id: Field,
    default_row_commit_version: Field,
}

fn field(schema: &SchemaDescriptor, columns: &mut Columns, parent: &Node<'_>, name: &str, kind: Kind) -> Field {
    let Some(node) = parent.child(name) else { return Field::Absent };
    if node.ty.is_group() || node.repeated() || !kind.accepts(node.ty.get_physical_type()) {
        return Field::Bad;
    }
    node.column(schema).map_or(Field::Bad, |c| Field::Leaf(columns.slot(c)))
}

fn map_field(schema: &SchemaDescriptor, columns: &mut Columns, parent: &Node<'_>, name: &str) -> MapField {
    let Some(map) = parent.child(name) else { return MapField::Absent };
    let children = map.children();
    let [entries] = children.as_slice() else { return MapField::Bad };
    let kv = entries.children();
    if map.repeated() || !entries.repeated() || kv.len() < 2 {
        return MapField::Bad;
    }
    let text = |n: &Node<'_>| !n.ty.is_group() && Kind::Text.accepts(n.ty.get_physical_type());
    match (text(&kv[0]).then(|| kv[0].column(schema)).flatten(), text(&kv[1]).then(|| kv[1].column(schema)).flatten()) {
        (Some(key), Some(value)) => MapField::Map {
            key: columns.slot(key),
            value: columns.slot(value),
            map_def: map.def,
            entry_def: entries.def,
        },
        _ => MapField::Bad,
    }
}

impl AddColumns {
    /// The leaves of the `add` struct `add`, registered in `columns`; `None` when it has none.
    pub fn new(schema: &SchemaDescriptor, columns: &mut Columns, add: &Node<'_>) -> Option<AddColumns> {
        let presence = columns.slot(add.leaves().iter().find_map(|l| l.column(schema))?);
        let dv = add.child("deletionVector").and_then(|dv| {
            let presence = columns.slot(dv.leaves().iter().find_map(|l| l.column(schema))?);
            if !dv.ty.is_group() {
                let bad = Field::Bad;
                let (storage_type, path_or_inline_dv, offset, size_in_bytes, cardinality) = (bad, bad, bad, bad, bad);
                return Some(DvColumns {
                    presence,
                    def: dv.def,
                    storage_type,
                    path_or_inline_dv,
                    offset,
                    size_in_bytes,
                    cardinality,
                });
            }
            Some(DvColumns {
                presence,
                def: dv.def,
                storage_type: field(schema, columns, &dv, "storageType", Kind::Text),
                path_or_inline_dv: field(schema, columns, &dv, "pathOrInlineDv", Kind::Text),
                offset: field(schema, columns, &dv, "offset", Kind::Int),
                size_in_bytes: field(schema, columns, &dv, "sizeInBytes", Kind::Int),
                cardinality: field(schema, columns, &dv, "cardinality", Kind::Int),
            })
        });
        Some(AddColumns {
            presence,
            def: add.def,
            path: field(schema, columns, add, "path", Kind::Text),
            partition_values: map_field(schema, columns, add, "partitionValues"),
            size: field(schema, columns, add, "size", Kind::Int),
            modification_time: field(schema, columns, add, "modificationTime", Kind::Int),
            data_change: field(schema, columns, add, "dataChange", Kind::Bool),
            stats: field(schema, columns, add, "stats", Kind::Text),
            tags: map_field(schema, columns, add, "tags"),
            deletion_vector: dv,
            base_row_id: field(schema, columns, add, "baseRowId", Kind::Int),
            default_row_commit_version: field(schema, columns, add, "defaultRowCommitVersion", Kind::Int),
        })
    }

    /// The `add` of row `row` of the batch, if the row has one.
    pub fn row(&self, leaves: &mut [Leaf], row: usize) -> Result<Option<AddFile>, Refusal> {
        if leaves[self.presence].first(row).0 < self.def {
            return Ok(None);
        }
        let bad = "an add action lacks its path or size";
        let path = match self.path {
            Field::Leaf(slot) => match leaves[slot].first(row).1 {
                Some(i) => leaves[slot].text(i)?.to_owned(),
                None => return Err(bad),
            },
            _ => return Err(bad),
        };
        let partition_values = match map(leaves, self.partition_values, row)? {
            MapValue::Null => Vec::new(),
            MapValue::Entries(entries) => entries,
            MapValue::NullKey => return Err("an add action has a null partition column name"),
        };
        let size = int(leaves, self.size, row).ok_or(bad)?;
        let stats = match self.stats {
            Field::Leaf(slot) => match leaves[slot].first(row).1 {
                Some(i) => StatsJson::from_text(leaves[slot].text(i)?),
                None => None,
            },
            _ => None,
        };
        let tags = match map(leaves, self.tags, row)? {
            MapValue::Entries(tags) if !tags.is_empty() => Some(Box::new(tags.into_iter().collect::<BTreeMap<_, _>>())),
            _ => None,
        };
        let deletion_vector = match &self.deletion_vector {
            Some(dv) if leaves[dv.presence].first(row).0 >= dv.def => Some(Box::new(dv.row(leaves, row)?)),
            _ => None,
        };
        let add = AddFile {
            path,
            partition_values: partition_values.into(),
            size,
            modification_time: int(leaves, self.modification_time, row).unwrap_or_default(),
            data_change: matches!(scalar(leaves, self.data_change, row), Some(true)),
            stats,
            tags,
            deletion_vector,
            base_row_id: int(leaves, self.base_row_id, row),
            default_row_commit_version: int(leaves, self.default_row_commit_version, row),
        };
        match add.path.is_empty() || add.size < 0 {
            true => Err(bad),
            false => Ok(Some(add)),
        }
    }
}

impl DvColumns {
    fn row(&self, leaves: &mut [Leaf], row: usize) -> Result<DeletionVector, Refusal> {
        let bad = "a deletion vector lacks a required field";
        let text = |leaves: &mut [Leaf], f: Field| -> Result<String, Refusal> {
            match f {
                Field::Absent => Ok(String::new()),
                Field::Bad => Err(bad),
                Field::Leaf(slot) => match leaves[slot].first(row).1 {
                    Some(i) => leaves[slot].text(i).map(str::to_owned),
                    None => Err(bad),
                },
            }
        };
        let required = |leaves: &mut [Leaf], f: Field| match f {
            Field::Absent => Ok(0),
            _ => int(leaves, f, row).ok_or(bad),
        };
        Ok(DeletionVector {
            storage_type: text(leaves, self.storage_type)?,
            path_or_inline_dv: text(leaves, self.path_or_inline_dv)?,
            offset: int(leaves, self.offset, row).and_then(|v| i32::try_from(v).ok()),
            size_in_bytes: i32::try_from(required(leaves, self.size_in_bytes)?).map_err(|_| bad)?,
            cardinality: required(leaves, self.cardinality)?,
        })
    }
}

/// The integer of field `f` in row `row`: `None` when null, missing or of another type.
fn int(leaves: &mut [Leaf], f: Field, row: usize) -> Option<i64> {
    let Field::Leaf(slot) = f else { return None };
    let i = leaves[slot].first(row).1?;
    leaves[slot].int(i)
}

/// The boolean of field `f` in row `row`.
fn scalar(leaves: &mut [Leaf], f: Field, row: usize) -> Option<bool> {
    let Field::Leaf(slot) = f else { return None };
    let i = leaves[slot].first(row).1?;
    match leaves[slot].scalar(i)? {
        Scalar::Bool(b) => Some(b),
        _ => None,
    }
}

/// The map of field `f` in row `row`.
fn map(leaves: &mut [Leaf], f: MapField, row: usize) -> Result<MapValue, Refusal> {
    let (key, value, map_def, entry_def) = match f {
        MapField::Absent => return Ok(MapValue::Null),
        MapField::Bad => return Ok(MapValue::NullKey),
        MapField::Map { key, value, map_def, entry_def } => (key, value, map_def, entry_def),
    };
    let (keys, values) = (leaves[key].span(row), leaves[value].span(row));
    let (keys_leaf, values_leaf) = (&leaves[key], &leaves[value]);
    let first = keys_leaf.def(keys.start);
    if keys.start >= keys.end || first < map_def {
        return Ok(MapValue::Null);
    }
    if first < entry_def {
        return Ok(MapValue::Entries(Vec::new()));
    }
    if keys.end - keys.start != values.end - values.start {
        return Err("a checkpoint map has more keys than values");
    }
    let mut entries = Vec::with_capacity(keys.end - keys.start);
    let (mut k, mut v) = (keys.value, values.value);
    for (ki, vi) in (keys.start..keys.end).zip(values.start..values.end) {
        if keys_leaf.def(ki) != keys_leaf.max_def {
            return Ok(MapValue::NullKey);
        }
        let name = keys_leaf.text(k)?.to_owned();
        k += 1;
        let value = match values_leaf.def(vi) == values_leaf.max_def {
            true => {
                v += 1;
                Some(values_leaf.text(v - 1)?.to_owned())
            }
            false => None,
        };
        entries.push((name, value));
    }
    Ok(MapValue::Entries(entries))
}
