"""Writes Parquet checkpoints in many shapes into OUT_DIR, each beside NAME.expected.json: the
actions that pyarrow reads back from the written file, in row order, in the form the Delta log
gives them (so the checkpoint reader is compared with a real reader of a real writer's file,
never with values written by hand).

    python tests/e2e/make_checkpoints.py OUT_DIR

Checkpoints:
  deltalake          a checkpoint deltalake writes for a partitioned table with null partition
                     values, removes and struct statistics (`add.stats_parsed`)
  features-*         the checkpoint schema with every `add` field deltalake cannot write itself
                     (deletion vectors, tags, row tracking, null map values, null maps), plus
                     `remove`, `txn`, `sidecar` rows; written as one row group with dictionary
                     pages, as row groups of 7 rows with data page v2 and no dictionary, and with
                     pages of a few values
  many               3,000 rows in row groups of 2,500, data page v2, so that decoding batches,
                     pages and map records cross one another
"""
import json
import os
import pathlib
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

out = pathlib.Path(sys.argv[1])
shutil.rmtree(out, ignore_errors=True)
out.mkdir(parents=True)

string_map = pa.map_(pa.string(), pa.string())
dv_type = pa.struct([
    pa.field("storageType", pa.string(), False), pa.field("pathOrInlineDv", pa.string(), False),
    ("offset", pa.int32()), pa.field("sizeInBytes", pa.int32(), False), pa.field("cardinality", pa.int64(), False)])
add_type = pa.struct([
    pa.field("path", pa.string(), False), ("partitionValues", string_map), pa.field("size", pa.int64(), False),
    ("modificationTime", pa.int64()), ("dataChange", pa.bool_()), ("stats", pa.string()), ("tags", string_map),
    ("deletionVector", dv_type), ("baseRowId", pa.int64()), ("defaultRowCommitVersion", pa.int64()),
    ("clusteringProvider", pa.string())])
remove_type = pa.struct([
    pa.field("path", pa.string(), False), ("deletionTimestamp", pa.int64()), ("dataChange", pa.bool_()),
    ("partitionValues", string_map), ("size", pa.int64())])
metadata_type = pa.struct([
    pa.field("id", pa.string(), False), ("name", pa.string()), ("description", pa.string()),
    ("format", pa.struct([("provider", pa.string()), ("options", string_map)])), ("schemaString", pa.string()),
    ("partitionColumns", pa.list_(pa.string())), ("configuration", string_map), ("createdTime", pa.int64())])
protocol_type = pa.struct([
    ("minReaderVersion", pa.int32()), ("minWriterVersion", pa.int32()),
    ("readerFeatures", pa.list_(pa.string())), ("writerFeatures", pa.list_(pa.string()))])
txn_type = pa.struct([("appId", pa.string()), ("version", pa.int64())])
sidecar_type = pa.struct([("path", pa.string()), ("sizeInBytes", pa.int64()), ("modificationTime", pa.int64())])
schema = pa.schema([("txn", txn_type), ("add", add_type), ("remove", remove_type), ("metaData", metadata_type),
                    ("protocol", protocol_type), ("sidecar", sidecar_type)])


def add(i):
    """An add row; `i` picks which optional parts it has."""
    dv = None
    if i % 3 == 1:
        dv = {"storageType": "u", "pathOrInlineDv": f"ab^-aqEH.-t@S}}K{{vb[*k^{i}", "offset": 1 if i % 2 else None,
              "sizeInBytes": 36 + i, "cardinality": i}
    elif i % 7 == 2:
        dv = {"storageType": "i", "pathOrInlineDv": "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
              "offset": None, "sizeInBytes": 40, "cardinality": 6}
    partition = [None, [], [("day", f"2024-01-{i % 28 + 1:02d}")], [("day", None), ("hour", str(i % 24))]][i % 4]
    tags = [None, [], [("INSERTION_TIME", str(1700000000000000 + i)), ("note", None)]][i % 3]
    stats = None if i % 5 == 0 else json.dumps({"numRecords": i, "minValues": {"id": i, "s": "a\"\\\n\u00e9"}})
    return {"path": f"day=x/part-{i:05d}-{'%' if i % 11 == 0 else ''}é.parquet", "partitionValues": partition,
            "size": 1000 + i, "modificationTime": None if i % 13 == 0 else 1700000000000 + i,
            "dataChange": [True, False, None][i % 3], "stats": stats, "tags": tags, "deletionVector": dv,
            "baseRowId": i * 10 if i % 2 else None, "defaultRowCommitVersion": i if i % 4 == 3 else None,
            "clusteringProvider": None}


def rows(adds):
    metadata = {"id": "6b7e-metadata", "name": None, "description": "features", "format": {
        "provider": "parquet", "options": [("a", "1")]}, "schemaString": '{"type":"struct","fields":[]}',
        "partitionColumns": ["day", "hour"], "configuration": [("delta.enableDeletionVectors", "true"), ("k", None)],
        "createdTime": 1700000000000}
    protocol = {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["deletionVectors"],
                "writerFeatures": ["deletionVectors", "rowTracking"]}
    result = [{"txn": {"appId": "app", "version": 3}}, {"protocol": protocol}, {"metaData": metadata}]
    result += [{"add": a} for a in adds[:len(adds) // 2]]
    result.append({"remove": {"path": "old.parquet", "deletionTimestamp": 5, "dataChange": True,
                              "partitionValues": [("day", None)], "size": 3}})
    result.append({"sidecar": {"path": "0000-sidecar.parquet", "sizeInBytes": 1234, "modificationTime": 5}})
    result += [{"add": a} for a in adds[len(adds) // 2:]]
    return pa.Table.from_pylist(result, schema)


def as_map(pairs):
    return None if pairs is None else {k: v for k, v in pairs}


def expected(path):
    """The actions pyarrow reads back from `path`, as the Delta log writes them."""
    actions = []
    table = pq.read_table(path)
    for row in table.to_pylist():
        for name in table.column_names:
            value = row[name]
            if value is None:
                continue
            if name == "add":
                actions.append({"add": {
                    "path": value["path"], "partitionValues": as_map(value["partitionValues"]) or {},
                    "size": value["size"], "modificationTime": value.get("modificationTime") or 0,
                    "dataChange": value.get("dataChange") is True, "stats": value.get("stats"),
                    "tags": as_map(value.get("tags")) or None, "deletionVector": value.get("deletionVector"),
                    "baseRowId": value.get("baseRowId"),
                    "defaultRowCommitVersion": value.get("defaultRowCommitVersion")}})
            elif name == "metaData":
                actions.append({"metaData": {
                    "id": value["id"], "name": value["name"], "description": value["description"],
                    "format": {"provider": value["format"]["provider"],
                               "options": as_map(value["format"]["options"]) or {}},
                    "schemaString": value["schemaString"], "partitionColumns": value["partitionColumns"],
                    "configuration": as_map(value["configuration"]) or {}, "createdTime": value["createdTime"]}})
            elif name == "protocol":
                actions.append({"protocol": {k: v for k, v in value.items() if v is not None}})
            elif name == "sidecar":
                actions.append({"sidecar": {"path": value["path"], "sizeInBytes": value["sizeInBytes"]}})
    return actions


def write(name, table, **options):
    path = out / f"{name}.checkpoint.parquet"
    pq.write_table(table, path, **options)
    (out / f"{name}.expected.json").write_text(json.dumps(expected(path), indent=1))


features = rows([add(i) for i in range(24)])
write("features-one-group", features, compression="snappy")
write("features-groups-of-7-v2", features, row_group_size=7, data_page_version="2.0", use_dictionary=False,
      compression="none")
write("features-small-pages", features, data_page_size=64, write_batch_size=3, compression="snappy")
write("many", rows([add(i) for i in range(3000)]), row_group_size=2500, data_page_version="2.0",
      data_page_size=4096, compression="snappy")

table = out / "deltalake-table"
for i, region in enumerate(["eu", None, "us", None]):
    data = pa.table({"id": pa.array(range(i * 5, i * 5 + 5), pa.int64()), "region": pa.array([region] * 5, pa.string())})
    write_deltalake(str(table), data, mode="append", partition_by=["region"],
                    configuration={"delta.checkpoint.writeStatsAsStruct": "true"} if i == 0 else None)
DeltaTable(str(table)).delete("id = 6")
DeltaTable(str(table)).create_checkpoint()
written = next((table / "_delta_log").glob("*.checkpoint.parquet"))
shutil.copy(written, out / "deltalake.checkpoint.parquet")
(out / "deltalake.expected.json").write_text(json.dumps(expected(written), indent=1))
print(f"wrote checkpoints to {out}", flush=True)
# deltalake's runtime threads can abort interpreter teardown (see make_tables.py).
os._exit(0)
