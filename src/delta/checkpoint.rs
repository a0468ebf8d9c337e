//! Checkpoint files: Parquet (classic, multi-part, v2 sidecars) and v2 JSON manifests.
//!
//! A Parquet checkpoint is read with the `parquet` crate's column API, not its row API: only the
//! leaf columns a snapshot needs are decoded (the `add` fields of [`AddFile`](super::actions::AddFile), and every leaf of
//! the rare `metaData`, `protocol` and `sidecar` actions; a checkpoint's `remove` rows are
//! tombstones, and fields such as Spark's `add.stats_parsed` are never touched). Each row group
//! is decoded [`BATCH_ROWS`] rows at a time, all needed columns in step, and each row's actions
//! are handed on before the next batch is decoded, so memory stays bounded by a batch and a
//! page per column whatever the size of the file. `add` rows (module `add`) are assembled straight
//! into `AddFile`s; the rare actions (module `nested`) into JSON values that the commit parser
//! reads. Actions come out in row order, and within a row in schema order, as the Delta log
//! stores them.
//!
//! Before any decoding the footer and page headers pass the crate's `parquet_guard`, and the
//! decoding runs inside a `catch_unwind`: a damaged checkpoint is [`DeltaError::Corrupt`],
//! never a crash.

mod add;
mod leaf;
mod nested;

use bytes::Bytes;
use parquet::file::reader::{FileReader, SerializedFileReader};

use self::add::AddColumns;
use self::leaf::{Leaf, Node};
use self::nested::NestedColumn;
use super::actions::{action_from_value, parse_commit, Action};
use super::DeltaError;

/// The top-level checkpoint columns a snapshot reads.
const COLUMNS: [&str; 4] = ["add", "metaData", "protocol", "sidecar"];

/// Rows decoded at once (per column: their levels and values).
pub const BATCH_ROWS: usize = 1024;

/// Reads the actions of a checkpoint (or sidecar) file named `file`, handing each to `sink` as
/// it is read (a large checkpoint is never held as a list of actions).
pub fn parse_checkpoint(file: &str, bytes: Bytes, sink: &mut dyn FnMut(Action)) -> Result<(), DeltaError> {
    if file.ends_with(".json") {
        parse_commit(file, &bytes)?.into_iter().for_each(sink);
        return Ok(());
    }
    // The parquet decoder panics on some corrupt pages instead of returning an error: a bad
    // checkpoint must be an error, never a crash, so the decoding runs inside a catch.
    let decode = std::panic::AssertUnwindSafe(|| parse_parquet(file, bytes, sink));
    std::panic::catch_unwind(decode).unwrap_or_else(|_| {
        Err(DeltaError::Corrupt { file: file.into(), detail: "the Parquet data cannot be decoded".into() })
    })
}

/// The leaf columns the readers of a file use, each decoded once (`slot` → column index).
#[derive(Default)]
struct Columns(Vec<usize>);

impl Columns {
    /// The slot of column `column`, added on first use.
    fn slot(&mut self, column: usize) -> usize {
        self.0.iter().position(|&c| c == column).unwrap_or_else(|| {
            self.0.push(column);
            self.0.len() - 1
        })
    }
}

/// How one top-level column becomes actions.
enum Top {
    Add(Box<AddColumns>),
    Nested(NestedColumn),
}

fn parse_parquet(file: &str, bytes: Bytes, sink: &mut dyn FnMut(Action)) -> Result<(), DeltaError> {
    let corrupt = |e: &dyn std::fmt::Display| DeltaError::Corrupt { file: file.into(), detail: e.to_string() };
    crate::parquet_guard::check_footer(&bytes).map_err(|e| corrupt(&e))?;
    let reader = SerializedFileReader::new(bytes.clone()).map_err(|e| corrupt(&e))?;
    crate::parquet_guard::check_pages(&bytes, reader.metadata(), &|column| COLUMNS.contains(&column))
        .map_err(|e| corrupt(&e))?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let mut columns = Columns::default();
    let mut tops: Vec<Top> = schema
        .root_schema()
        .get_fields()
        .iter()
        .filter(|f| COLUMNS.contains(&f.name()))
        .filter_map(|f| {
            let node = Node::top(schema, f.name())?;
            match f.name() {
                "add" => AddColumns::new(schema, &mut columns, &node).map(|add| Top::Add(Box::new(add))),
                _ => NestedColumn::new(schema, &mut columns, &node).map(Top::Nested),
            }
        })
        .collect();
    if columns.0.is_empty() {
        return Ok(());
    }
    for group in 0..reader.num_row_groups() {
        let group = reader.get_row_group(group).map_err(|e| corrupt(&e))?;
        let rows = usize::try_from(group.metadata().num_rows()).map_err(|e| corrupt(&e))?;
        let mut leaves = Vec::with_capacity(columns.0.len());
        for &column in &columns.0 {
            let descr = schema.column(column);
            let reader = group.get_column_reader(column).map_err(|e| corrupt(&e))?;
            let leaf = Leaf::new(reader, descr.max_def_level(), descr.max_rep_level());
            leaves.push(leaf.ok_or_else(|| corrupt(&"a checkpoint column has an unexpected type"))?);
        }
        let mut done = 0;
        while done < rows {
            let batch = BATCH_ROWS.min(rows - done);
            for leaf in &mut leaves {
                if leaf.read(batch).map_err(|e| corrupt(&e))? != batch {
                    return Err(corrupt(&"a checkpoint column has fewer rows than its row group"));
                }
            }
            for row in 0..batch {
                for top in &mut tops {
                    match top {
                        Top::Add(add) => {
                            if let Some(add) = add.row(&mut leaves, row).map_err(|e| corrupt(&e))? {
                                sink(Action::Add(add));
                            }
                        }
                        Top::Nested(column) => {
                            if let Some(value) = column.row(&mut leaves, row).map_err(|e| corrupt(&e))? {
                                if let Some(action) = action_from_value(value).map_err(|e| corrupt(&e))? {
                                    sink(action);
                                }
                            }
                        }
                    }
                }
            }
            done += batch;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parquet_guard::fixtures::{file_with_footer, HOSTILE};

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [&b""[..], b"PAR1", b"PAR1\x00\x00\x00\x00PAR1", &[0xffu8; 64][..]] {
            assert!(
                parse_checkpoint("00000000000000000010.checkpoint.parquet", bad.to_vec().into(), &mut |_| {}).is_err()
            );
        }
    }

    fn refusal(bytes: Vec<u8>) -> String {
        match parse_checkpoint("00000000000000000010.checkpoint.parquet", bytes.into(), &mut |_| {}) {
            Err(DeltaError::Corrupt { detail, .. }) => detail,
            other => panic!("expected a corrupt checkpoint, got {other:?}"),
        }
    }

    /// A list of two billion booleans declared in a few bytes: the `parquet` crate would skip it
    /// one element at a time (the fuzzer's slow units), the guard refuses it first.
    #[test]
    fn a_footer_declaring_more_elements_than_bytes_is_refused() {
        assert!(refusal(file_with_footer(&HOSTILE)).contains("declares more"));
    }

    #[test]
    fn a_page_header_declaring_more_elements_than_bytes_is_refused() {
        let good = include_bytes!("../../fuzz/corpus/checkpoint/basic-5.checkpoint.parquet");
        let mut actions = 0;
        parse_checkpoint("00000000000000000005.checkpoint.parquet", good[..].into(), &mut |_| actions += 1)
            .expect("the seed checkpoint reads");
        assert!(actions > 0);
        let reader = SerializedFileReader::new(Bytes::from_static(good)).expect("seed metadata");
        let add = reader.metadata().row_groups()[0]
            .columns()
            .iter()
            .find(|c| c.column_path().parts()[0] == "add")
            .expect("an add column");
        let at = add.byte_range().0 as usize;
        let mut bad = good.to_vec();
        bad[at..at + HOSTILE.len()].copy_from_slice(&HOSTILE);
        assert!(refusal(bad).contains("declares more"));
    }
}
