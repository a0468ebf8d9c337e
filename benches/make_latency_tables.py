"""Writes the three Delta log layouts of the latency benchmark (benches/query_latency.rs), each
with N active files, under OUT_DIR:

- `commits`:   a classic checkpoint at version 1, then 10 commits (2..11) adding a file each;
- `multipart`: a classic checkpoint at version 1 in 4 parts;
- `v2`:        a v2 checkpoint at version 1: a JSON manifest naming 4 Parquet sidecars.

Checkpoint files are written with pyarrow in the checkpoint schema.

    python benches/make_latency_tables.py OUT_DIR [N]
"""
import json
import pathlib
import shutil
import sys
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

out = pathlib.Path(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
shutil.rmtree(out, ignore_errors=True)

schema = {"type": "struct", "fields": [
    {"name": "id", "type": "long", "nullable": True, "metadata": {}},
    {"name": "value", "type": "double", "nullable": True, "metadata": {}}]}
metadata = {"id": "00000000-0000-0000-0000-000000000002", "format": {"provider": "parquet", "options": {}},
            "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": {},
            "createdTime": 1700000000000}
classic = {"minReaderVersion": 1, "minWriterVersion": 2}
v2 = {"minReaderVersion": 3, "minWriterVersion": 7, "readerFeatures": ["v2Checkpoint"],
      "writerFeatures": ["v2Checkpoint"]}

add_type = pa.struct([
    ("path", pa.string()), ("partitionValues", pa.map_(pa.string(), pa.string())), ("size", pa.int64()),
    ("modificationTime", pa.int64()), ("dataChange", pa.bool_()), ("stats", pa.string())])
metadata_type = pa.struct([
    ("id", pa.string()), ("format", pa.struct([("provider", pa.string()), ("options", pa.map_(pa.string(), pa.string()))])),
    ("schemaString", pa.string()), ("partitionColumns", pa.list_(pa.string())),
    ("configuration", pa.map_(pa.string(), pa.string())), ("createdTime", pa.int64())])
meta_row = dict(metadata, format={"provider": "parquet", "options": []}, configuration=[])


def protocol_type(protocol):
    fields = [("minReaderVersion", pa.int32()), ("minWriterVersion", pa.int32())]
    if "readerFeatures" in protocol:
        fields += [("readerFeatures", pa.list_(pa.string())), ("writerFeatures", pa.list_(pa.string()))]
    return pa.struct(fields)


def add(i):
    stats = json.dumps({"numRecords": 1000, "minValues": {"id": i * 1000, "value": 0.5},
                        "maxValues": {"id": i * 1000 + 999, "value": 99.5}, "nullCount": {"id": 0, "value": 0}})
    return {"path": f"part-{i:06d}-6f1c2a7e-1b2c-4d5e-8f90-a1b2c3d4e5f6.c000.snappy.parquet",
            "partitionValues": [], "size": 40_000 + i % 1000, "modificationTime": 1700000000000 + i,
            "dataChange": True, "stats": stats}


def write_parquet(path, adds, protocol=None, with_metadata=False):
    """A checkpoint part or sidecar: optional protocol and metadata rows, then the adds."""
    head = int(protocol is not None) + int(with_metadata)
    columns = {"add": pa.array([None] * head + adds, add_type)}
    if protocol is not None:
        rows = [protocol] + [None] * (head - 1 + len(adds))
        columns["protocol"] = pa.array(rows, protocol_type(protocol))
    if with_metadata:
        columns["metaData"] = pa.array([None] * (head - 1) + [meta_row] + [None] * len(adds), metadata_type)
    pq.write_table(pa.table(columns), path, compression="snappy")


def start(name, protocol):
    log = out / name / "_delta_log"
    log.mkdir(parents=True)
    with open(log / f"{0:020d}.json", "w") as f:
        f.write(json.dumps({"protocol": protocol}) + "\n" + json.dumps({"metaData": metadata}) + "\n")
    return log


def chunks(items, count):
    size = (len(items) + count - 1) // count
    return [items[i:i + size] for i in range(0, len(items), size)]


adds = [add(i) for i in range(n)]

log = start("commits", classic)
write_parquet(log / f"{1:020d}.checkpoint.parquet", adds[:n - 10], classic, True)
(log / "_last_checkpoint").write_text(json.dumps({"version": 1, "size": n}))
for v in range(2, 12):
    a = dict(adds[n - 12 + v], partitionValues={})
    (log / f"{v:020d}.json").write_text(json.dumps({"add": a}) + "\n")

log = start("multipart", classic)
for part, chunk in enumerate(chunks(adds, 4), 1):
    first = part == 1
    write_parquet(log / f"{1:020d}.checkpoint.{part:010d}.{4:010d}.parquet", chunk, classic if first else None, first)
(log / "_last_checkpoint").write_text(json.dumps({"version": 1, "size": n, "parts": 4}))

log = start("v2", v2)
(log / "_sidecars").mkdir()
manifest = [{"protocol": v2}, {"metaData": metadata}, {"checkpointMetadata": {"version": 1}}]
for chunk in chunks(adds, 4):
    name = f"{uuid.uuid4()}.parquet"
    write_parquet(log / "_sidecars" / name, chunk)
    size = (log / "_sidecars" / name).stat().st_size
    manifest.append({"sidecar": {"path": name, "sizeInBytes": size, "modificationTime": 1700000000000}})
(log / f"{1:020d}.checkpoint.{uuid.uuid4()}.json").write_text("\n".join(json.dumps(a) for a in manifest) + "\n")
(log / "_last_checkpoint").write_text(json.dumps({"version": 1, "size": n}))
print(f"3 layouts of {n} files in {out}")
