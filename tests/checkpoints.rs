//! The Parquet checkpoint reader against checkpoints written by real writers (deltalake, and
//! pyarrow in the checkpoint schema with the fields deltalake cannot write), compared with what
//! pyarrow reads back from the same files (tests/e2e/make_checkpoints.py).

#[path = "common/tables.rs"]
mod tables;

use std::path::PathBuf;

use opensharing::delta::checkpoint::parse_checkpoint;
use opensharing::delta::Action;
use serde_json::{json, Value};

/// The checkpoints and their expected actions, generated once per test binary.
fn checkpoints() -> Vec<(String, PathBuf, Value)> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("checkpoints-{}", std::process::id()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/make_checkpoints.py");
    let out =
        std::process::Command::new(tables::python()).arg(script).arg(&dir).output().expect("run make_checkpoints.py");
    assert!(out.status.success(), "make_checkpoints.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".expected.json").map(str::to_owned))
        .map(|name| {
            let expected = serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.expected.json"))).unwrap());
            (name.clone(), dir.join(format!("{name}.checkpoint.parquet")), expected.unwrap())
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// An action in the form of the Delta log's JSON.
fn as_json(action: Action) -> Value {
    match action {
        Action::Add(a) => json!({"add": {
            "path": a.path,
            "partitionValues": a.partition_values.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "size": a.size,
            "modificationTime": a.modification_time,
            "dataChange": a.data_change,
            "stats": a.stats.map(|s| serde_json::from_str::<String>(s.literal().get()).unwrap()),
            "tags": a.tags.map(|t| json!(*t)),
            "deletionVector": a.deletion_vector.map(|dv| json!({
                "storageType": dv.storage_type, "pathOrInlineDv": dv.path_or_inline_dv, "offset": dv.offset,
                "sizeInBytes": dv.size_in_bytes, "cardinality": dv.cardinality})),
            "baseRowId": a.base_row_id,
            "defaultRowCommitVersion": a.default_row_commit_version,
        }}),
        Action::Metadata(m) => json!({"metaData": m}),
        Action::Protocol(p) => json!({"protocol": p}),
        Action::Sidecar(s) => json!({"sidecar": {"path": s.path, "sizeInBytes": s.size_in_bytes}}),
        other => panic!("a checkpoint reader gave {other:?}"),
    }
}

#[test]
fn checkpoints_read_as_pyarrow_reads_them() {
    let all = checkpoints();
    assert!(all.len() >= 5, "{:?}", all.iter().map(|c| &c.0).collect::<Vec<_>>());
    for (name, path, expected) in all {
        let mut actions = Vec::new();
        let file = format!("00000000000000000010.checkpoint.parquet ({name})");
        parse_checkpoint(&file, std::fs::read(&path).unwrap().into(), &mut |a| actions.push(as_json(a)))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = expected.as_array().unwrap();
        assert_eq!(actions.len(), expected.len(), "{name}: number of actions");
        for (i, (got, want)) in actions.iter().zip(expected).enumerate() {
            assert_eq!(got, want, "{name}: action {i}");
        }
    }
}
