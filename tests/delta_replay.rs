//! Delta log replay against tables written by `deltalake`, compared with what `deltalake`
//! reports about the same tables.

#[path = "common/tables.rs"]
mod tables;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use opensharing::delta::{Action, ReadStep};
use opensharing::delta::{CommitRangeReader, LogRequest, LogResponse, Snapshot, SnapshotReader, Target};
use tables::{answer, manifest, tables_dir};

/// Drives a log reader: its requests are answered in the order asked, one per `resume`.
fn drive<T, E: std::fmt::Display>(
    root: &Path,
    log: &mut Vec<LogRequest>,
    mut resume: impl FnMut(Option<LogResponse>) -> Result<ReadStep<T>, E>,
) -> Result<T, E> {
    let mut asked = VecDeque::new();
    let mut input = None;
    loop {
        match resume(input.take())? {
            ReadStep::Need(requests) => asked.extend(requests),
            ReadStep::Ready(t) => return Ok(t),
        }
        let request = asked.pop_front().expect("a reader that is not ready has asked for something");
        input = Some(answer(root, &request, log));
    }
}

fn read(table: &str, target: Target, cached: Option<Arc<Snapshot>>) -> (Arc<Snapshot>, Vec<LogRequest>) {
    let root = tables_dir().join(table);
    let mut reader = SnapshotReader::new(target, cached);
    let mut log = Vec::new();
    let s = drive(&root, &mut log, |input| reader.resume(input)).unwrap_or_else(|e| panic!("{table} {target:?}: {e}"));
    (s, log)
}

#[test]
fn latest_snapshots_match_deltalake() {
    let m = manifest();
    for table in ["basic", "cdf", "colmap", "unpartitioned"] {
        let expected = &m[table];
        let (s, _) = read(table, Target::Latest, None);
        assert_eq!(s.version, expected["version"].as_i64().unwrap(), "{table}");
        let files: Vec<serde_json::Value> = s
            .files
            .iter()
            .map(|f| {
                let pv: serde_json::Map<String, serde_json::Value> =
                    f.partition_values.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
                serde_json::json!({"path": f.path, "size": f.size, "partition_values": pv})
            })
            .collect();
        assert_eq!(serde_json::Value::Array(files), expected["files"], "{table}: active files");
        assert_eq!(
            s.metadata.partition_columns,
            serde_json::from_value::<Vec<String>>(expected["partition_columns"].clone()).unwrap()
        );
        for (k, v) in expected["configuration"].as_object().unwrap() {
            assert_eq!(s.metadata.property(k), v.as_str(), "{table}: {k}");
        }
    }
}

#[test]
fn time_travel_by_version_matches_deltalake() {
    let m = manifest();
    for table in ["basic", "cdf"] {
        for v in m[table]["versions"].as_array().unwrap() {
            let version = v["version"].as_i64().unwrap();
            let (s, _) = read(table, Target::Version(version), None);
            assert_eq!(s.version, version);
            assert_eq!(s.files.len() as u64, v["num_files"].as_u64().unwrap(), "{table}@{version}");
        }
    }
}

#[test]
fn the_checkpoint_bounds_the_listing() {
    let (s, log) = read("basic", Target::Latest, None);
    assert_eq!(log[0], LogRequest::Get { path: "_delta_log/_last_checkpoint".into() });
    assert_eq!(log[1], LogRequest::List { start_after: Some("_delta_log/00000000000000000005".into()) });
    let reads: Vec<_> = log[2..].iter().map(|r| format!("{r:?}")).collect();
    assert!(reads[0].contains("00000000000000000005.checkpoint.parquet"), "{reads:?}");
    assert_eq!(reads.len(), 3, "checkpoint + commits 6 and 7 only: {reads:?}");
    assert_eq!(s.version, 7);
}

#[test]
fn timestamp_time_travel_picks_the_commit_at_or_before() {
    let (latest, _) = read("basic", Target::Latest, None);
    let (v3, _) = read("basic", Target::Version(3), None);
    let (at, _) = read("basic", Target::Timestamp(v3.timestamp_ms), None);
    assert_eq!(at.version, 3);
    let (just_after, _) = read("basic", Target::Timestamp(v3.timestamp_ms + 1), None);
    assert_eq!(just_after.version, 3);
    let (end, _) = read("basic", Target::Timestamp(latest.timestamp_ms + 1_000_000), None);
    assert_eq!(end.version, latest.version);
    let mut reader = SnapshotReader::new(Target::Timestamp(0), None);
    let root = tables_dir().join("basic");
    let mut log = Vec::new();
    let Err(err) = drive(&root, &mut log, |input| reader.resume(input)) else {
        panic!("a time before the first commit has no snapshot")
    };
    assert!(err.to_string().contains("before the earliest version"), "{err}");
}

#[test]
fn a_cached_snapshot_only_reads_the_tail() {
    let (v6, _) = read("basic", Target::Version(6), None);
    let (latest, log) = read("basic", Target::Latest, Some(v6.clone()));
    assert_eq!(log[0], LogRequest::List { start_after: Some("_delta_log/00000000000000000006.json".into()) });
    assert_eq!(log.len(), 2, "one listing and commit 7: {log:?}");
    let (fresh, _) = read("basic", Target::Latest, None);
    assert_eq!(latest.files, fresh.files);
    let (same, log) = read("basic", Target::Latest, Some(fresh.clone()));
    assert!(Arc::ptr_eq(&same, &fresh), "no new commits: the cached snapshot is reused");
    assert_eq!(log.len(), 1);
}

#[test]
fn commit_ranges_carry_change_data() {
    let root = tables_dir().join("cdf");
    let mut reader = CommitRangeReader::new(0, None);
    let mut log = Vec::new();
    let (listing, commits) = drive(&root, &mut log, |input| reader.resume(input)).unwrap();
    assert_eq!(commits.len(), 4);
    assert_eq!(listing.latest(), Some(3));
    let cdc_commits: Vec<i64> =
        commits.iter().filter(|c| c.actions.iter().any(|a| matches!(a, Action::Cdc(_)))).map(|c| c.version).collect();
    assert_eq!(cdc_commits, [2, 3], "update and delete wrote _change_data files");
    assert!(commits.windows(2).all(|w| w[0].timestamp_ms < w[1].timestamp_ms));
}

#[test]
fn a_damaged_checkpoint_is_an_error_never_a_panic() {
    let path = tables_dir().join("basic/_delta_log/00000000000000000005.checkpoint.parquet");
    let good = std::fs::read(&path).unwrap();
    let mut errors = 0;
    for i in (0..good.len()).step_by(7) {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        let result = std::panic::catch_unwind(|| {
            opensharing::delta::checkpoint::parse_checkpoint(
                "00000000000000000005.checkpoint.parquet",
                bad.into(),
                &mut |_| {},
            )
        });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(_)) => errors += 1,
            Err(_) => panic!("flipping byte {i} made the checkpoint reader panic"),
        }
    }
    assert!(errors > 0, "some flipped bytes must be detected");
}
