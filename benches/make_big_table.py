"""Writes a synthetic Delta log with many files for the query benchmark:
version 0 (protocol, metadata), a checkpoint at version 1 holding N adds (written with pyarrow in
the checkpoint schema), and commits 2 and 3 adding a few more files.

    python benches/make_big_table.py OUT_DIR [N]
"""
import json
import pathlib
import shutil
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
shutil.rmtree(out, ignore_errors=True)
log = out / "_delta_log"
log.mkdir(parents=True)

schema = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "day", "type": "string", "nullable": True, "metadata": {}},
    {"name": "value", "type": "double", "nullable": True, "metadata": {}}]}
protocol = {"minReaderVersion": 1, "minWriterVersion": 2}
metadata = {"id": "00000000-0000-0000-0000-000000000001", "format": {"provider": "parquet", "options": {}},
            "schemaString": json.dumps(schema), "partitionColumns": ["day"], "configuration": {},
            "createdTime": 1700000000000}


def add(i):
    day = f"2024-01-{i % 28 + 1:02d}"
    stats = json.dumps({"numRecords": 1000, "minValues": {"id": i * 1000, "value": 0.5},
                        "maxValues": {"id": i * 1000 + 999, "value": 99.5}, "nullCount": {"id": 0, "value": 0}})
    return {"path": f"day={day}/part-{i:06d}-6f1c2a7e-1b2c-4d5e-8f90-a1b2c3d4e5f6.c000.snappy.parquet",
            "partitionValues": [("day", day)], "size": 40_000 + i % 1000, "modificationTime": 1700000000000 + i,
            "dataChange": True, "stats": stats}


with open(log / "00000000000000000000.json", "w") as f:
    f.write(json.dumps({"protocol": protocol}) + "\n" + json.dumps({"metaData": metadata}) + "\n")

add_type = pa.struct([
    ("path", pa.string()), ("partitionValues", pa.map_(pa.string(), pa.string())), ("size", pa.int64()),
    ("modificationTime", pa.int64()), ("dataChange", pa.bool_()), ("stats", pa.string())])
protocol_type = pa.struct([("minReaderVersion", pa.int32()), ("minWriterVersion", pa.int32())])
metadata_type = pa.struct([
    ("id", pa.string()), ("format", pa.struct([("provider", pa.string()), ("options", pa.map_(pa.string(), pa.string()))])),
    ("schemaString", pa.string()), ("partitionColumns", pa.list_(pa.string())),
    ("configuration", pa.map_(pa.string(), pa.string())), ("createdTime", pa.int64())])
adds = [add(i) for i in range(n)]
meta_row = dict(metadata, format={"provider": "parquet", "options": []}, configuration=[])
table = pa.table({
    "add": pa.array([None, None] + adds, add_type),
    "protocol": pa.array([protocol, None] + [None] * n, protocol_type),
    "metaData": pa.array([None, meta_row] + [None] * n, metadata_type),
})
pq.write_table(table, log / "00000000000000000001.checkpoint.parquet", compression="snappy")
(log / "_last_checkpoint").write_text(json.dumps({"version": 1, "size": n + 2}))
for v in (2, 3):
    with open(log / f"{v:020d}.json", "w") as f:
        for i in range(n + v * 10, n + v * 10 + 5):
            a = add(i)
            a["partitionValues"] = dict(a["partitionValues"])
            f.write(json.dumps({"add": a}) + "\n")
print(f"{n + 10} files in {out}")
