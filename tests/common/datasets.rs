//! Parquet datasets for tests and benches: files written with the `parquet` crate, and an
//! in-memory store that answers listings (recursive, by key prefix) and ranged reads.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use opensharing::{IoNeed, IoResult, Listing, ObjectMeta};
use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

/// A file with columns `id` (of `id_type`), `name` (string) and `score` (double, null for odd
/// ids), one row per id; `extra_metadata` bytes of key-value metadata make the footer large.
pub fn parquet_file(ids: &[i64], id_type: Physical, extra_metadata: usize) -> Vec<u8> {
    let id = Type::primitive_type_builder("id", id_type).with_repetition(Repetition::REQUIRED).build().unwrap();
    let name = Type::primitive_type_builder("name", Physical::BYTE_ARRAY)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(Some(LogicalType::String))
        .build()
        .unwrap();
    let score =
        Type::primitive_type_builder("score", Physical::DOUBLE).with_repetition(Repetition::OPTIONAL).build().unwrap();
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(vec![Arc::new(id), Arc::new(name), Arc::new(score)])
            .build()
            .unwrap(),
    );
    let mut props = WriterProperties::builder();
    if extra_metadata > 0 {
        props = props.set_key_value_metadata(Some(vec![KeyValue::new("padding".into(), "x".repeat(extra_metadata))]));
    }
    let mut buf = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buf, schema, Arc::new(props.build())).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    let mut column = rg.next_column().unwrap().unwrap();
    match id_type {
        Physical::INT64 => {
            column.typed::<Int64Type>().write_batch(ids, None, None).unwrap();
        }
        _ => {
            let as_text: Vec<ByteArray> = ids.iter().map(|i| ByteArray::from(i.to_string().as_str())).collect();
            column.typed::<ByteArrayType>().write_batch(&as_text, None, None).unwrap();
        }
    }
    column.close().unwrap();
    let mut column = rg.next_column().unwrap().unwrap();
    let names: Vec<ByteArray> = ids.iter().map(|i| ByteArray::from(format!("n{i}").as_str())).collect();
    column.typed::<ByteArrayType>().write_batch(&names, Some(&vec![1; ids.len()]), None).unwrap();
    column.close().unwrap();
    let mut column = rg.next_column().unwrap().unwrap();
    let scores: Vec<f64> = ids.iter().map(|&i| i as f64 / 2.0).collect();
    let defs: Vec<i16> = ids.iter().map(|&i| i16::from(i % 2 == 0)).collect();
    let present: Vec<f64> = scores.iter().zip(&defs).filter(|(_, d)| **d == 1).map(|(s, _)| *s).collect();
    column.typed::<DoubleType>().write_batch(&present, Some(&defs), None).unwrap();
    column.close().unwrap();
    rg.close().unwrap();
    writer.close().unwrap();
    buf
}

/// An in-memory store: recursive listings by key prefix, ranged reads.
#[derive(Default, Clone)]
pub struct Store {
    /// Key → (bytes, modification time in ms).
    pub objects: BTreeMap<String, (Vec<u8>, i64)>,
}

impl Store {
    /// Stores an object, modified at 1,000 ms.
    pub fn put(&mut self, key: &str, bytes: Vec<u8>) {
        self.objects.insert(key.to_string(), (bytes, 1_000));
    }

    /// Changes an object's modification time.
    pub fn touch(&mut self, key: &str, modified_ms: i64) {
        if let Some(o) = self.objects.get_mut(key) {
            o.1 = modified_ms;
        }
    }

    /// Answers an IO need as a store would.
    pub fn answer(&self, need: &IoNeed) -> IoResult {
        match need {
            IoNeed::List { prefix, start_after, max_keys, .. } => IoResult::Listing(Listing::page(
                self.objects
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(prefix.as_str()))
                    .filter(|(k, _)| start_after.as_ref().is_none_or(|s| k.as_str() > s.as_str()))
                    .map(|(k, (v, m))| ObjectMeta { key: k.clone(), size: v.len() as u64, last_modified_ms: *m })
                    .collect(),
                *max_keys,
            )),
            IoNeed::Get { key, range, .. } => match self.objects.get(key) {
                Some((bytes, _)) => match range {
                    Some(r) => IoResult::Bytes(bytes[r.start as usize..r.end as usize].to_vec().into()),
                    None => IoResult::Bytes(bytes.clone().into()),
                },
                None => IoResult::NotFound,
            },
            other => IoResult::Failed(format!("unexpected {other:?}")),
        }
    }
}
