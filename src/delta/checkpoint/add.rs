//! The `add` column of a checkpoint, assembled into [`AddFile`]s from the leaf columns it needs
//! (other `add` fields, such as Spark's `stats_parsed`, are never decoded).
//!
//! Null and missing fields read as the Delta protocol and the former row reader read them: a
//! null `add` is no action; a null or missing `path` or `size`, a null key in
//! `partitionValues` or a null required deletion vector field make the checkpoint corrupt; a
//! null `partitionValues` is an empty map; a null, empty or null-keyed `tags` is no tags; other
//! fields are optional.

use std::collections::{BTreeMap, HashMap};

use parquet::schema::types::SchemaDescriptor;

use super::leaf::{Kind, Leaf, Node, Refusal, Scalar};
use super::Columns;
use crate::delta::actions::{AddFile, DeletionVector, PartitionValues, SharedPartitionValues, StatsJson};

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

/// What a map field holds in one row: null, entries (none or more), or a null key.
enum MapValue {
    Null,
    Entries,
    NullKey,
}

/// Most distinct partitions kept for sharing while a file is read.
const MAX_SHARED_PARTITIONS: usize = 4096;

/// Slots of [`Partitions::recent`].
const RECENT_SLOTS: usize = 256;

/// The partition values of the rows read so far, keyed by their encoded entries: a table has
/// few partitions and many files, so most rows find theirs here and allocate nothing.
#[derive(Default)]
struct Partitions {
    shared: HashMap<Box<[u8]>, SharedPartitionValues>,
    /// The values last found for encoded entries, by a cheap hash of them ([`slot`]): most rows
    /// find theirs here, compared byte for byte, before `shared` SipHashes the entries.
    recent: Vec<Option<(Box<[u8]>, SharedPartitionValues)>>,
    /// The current row's entries, encoded: per entry the key's length and bytes, then `0` for a
    /// null value or `1`, its length and bytes.
    scratch: Vec<u8>,
}

impl Partitions {
    fn encode(&mut self, key: &str, value: Option<&str>) {
        self.scratch.extend_from_slice(&(key.len() as u64).to_le_bytes());
        self.scratch.extend_from_slice(key.as_bytes());
        match value {
            None => self.scratch.push(0),
            Some(value) => {
                self.scratch.push(1);
                self.scratch.extend_from_slice(&(value.len() as u64).to_le_bytes());
                self.scratch.extend_from_slice(value.as_bytes());
            }
        }
    }

    /// The shared values of the entries encoded in `scratch`; `entries` builds them when no
    /// earlier row had the same.
    fn share(
        &mut self,
        entries: impl FnOnce() -> Result<PartitionValues, Refusal>,
    ) -> Result<SharedPartitionValues, Refusal> {
        if self.recent.is_empty() {
            self.recent.resize(RECENT_SLOTS, None);
        }
        let slot = slot(&self.scratch);
        if let Some((key, shared)) = &self.recent[slot] {
            if **key == *self.scratch {
                return Ok(shared.clone());
            }
        }
        let shared = match self.shared.get(self.scratch.as_slice()) {
            Some(shared) => shared.clone(),
            None => {
                let shared: SharedPartitionValues = entries()?.into();
                if self.shared.len() < MAX_SHARED_PARTITIONS {
                    self.shared.insert(self.scratch.as_slice().into(), shared.clone());
                }
                shared
            }
        };
        self.recent[slot] = Some((self.scratch.as_slice().into(), shared.clone()));
        Ok(shared)
    }
}

/// The slot of encoded entries in [`Partitions::recent`]: a multiplicative hash of their 8-byte
/// words (unkeyed, so only a first look: a miss falls back to the SipHash map).
fn slot(bytes: &[u8]) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let (words, tail) = bytes.as_chunks::<8>();
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    let hash =
        words.iter().chain([&last]).fold(0u64, |h, w| (h.rotate_left(5) ^ u64::from_le_bytes(*w)).wrapping_mul(K));
    (hash >> 56) as usize % RECENT_SLOTS
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
    partitions: Partitions,
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
            // A deletion vector that is not a struct has every field of the wrong type.
            let mut dv_field = |name, kind| match dv.ty.is_group() {
                true => field(schema, columns, &dv, name, kind),
                false => Field::Bad,
            };
            Some(DvColumns {
                presence,
                def: dv.def,
                storage_type: dv_field("storageType", Kind::Text),
                path_or_inline_dv: dv_field("pathOrInlineDv", Kind::Text),
                offset: dv_field("offset", Kind::Int),
                size_in_bytes: dv_field("sizeInBytes", Kind::Int),
                cardinality: dv_field("cardinality", Kind::Int),
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
            partitions: Partitions::default(),
        })
    }

    /// The partition values of row `row` (a null map has none).
    fn partition_values(&mut self, leaves: &mut [Leaf], row: usize) -> Result<SharedPartitionValues, Refusal> {
        let cache = &mut self.partitions;
        cache.scratch.clear();
        let mut entries = 0;
        let field = self.partition_values;
        if let MapValue::NullKey = map(leaves, field, row, &mut |k, v| {
            cache.encode(k, v);
            entries += 1;
        })? {
            return Err("an add action has a null partition column name");
        }
        cache.share(|| {
            let mut values = Vec::with_capacity(entries);
            if entries > 0 {
                map(leaves, field, row, &mut |k, v| values.push((k.to_owned(), v.map(str::to_owned))))?;
            }
            Ok(values)
        })
    }

    /// The `add` of row `row` of the batch, if the row has one.
    pub fn row(&mut self, leaves: &mut [Leaf], row: usize) -> Result<Option<AddFile>, Refusal> {
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
        let partition_values = self.partition_values(leaves, row)?;
        let size = int(leaves, self.size, row).ok_or(bad)?;
        let stats = match self.stats {
            Field::Leaf(slot) => match leaves[slot].first(row).1 {
                Some(i) => StatsJson::from_text(leaves[slot].text(i)?),
                None => None,
            },
            _ => None,
        };
        let mut tags = BTreeMap::new();
        let tags = match map(leaves, self.tags, row, &mut |k, v| drop(tags.insert(k.to_owned(), v.map(str::to_owned))))?
        {
            MapValue::Entries if !tags.is_empty() => Some(Box::new(tags)),
            _ => None,
        };
        let deletion_vector = match &self.deletion_vector {
            Some(dv) if leaves[dv.presence].first(row).0 >= dv.def => Some(Box::new(dv.row(leaves, row)?)),
            _ => None,
        };
        let add = AddFile {
            path,
            partition_values,
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

/// The entries of map field `f` in row `row`, handed to `entry` as text.
fn map<'l>(
    leaves: &'l mut [Leaf],
    f: MapField,
    row: usize,
    entry: &mut dyn FnMut(&'l str, Option<&'l str>),
) -> Result<MapValue, Refusal> {
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
        return Ok(MapValue::Entries);
    }
    if keys.end - keys.start != values.end - values.start {
        return Err("a checkpoint map has more keys than values");
    }
    let (mut k, mut v) = (keys.value, values.value);
    for (ki, vi) in (keys.start..keys.end).zip(values.start..values.end) {
        if keys_leaf.def(ki) != keys_leaf.max_def {
            return Ok(MapValue::NullKey);
        }
        let name = keys_leaf.text(k)?;
        k += 1;
        let value = match values_leaf.def(vi) == values_leaf.max_def {
            true => {
                v += 1;
                Some(values_leaf.text(v - 1)?)
            }
            false => None,
        };
        entry(name, value);
    }
    Ok(MapValue::Entries)
}
