"""Writes real Delta tables with deltalake (delta-rs) into OUT_DIR, plus OUT_DIR/manifest.json
with what deltalake itself reports about them, so tests compare against the peer rather than
against numbers written by hand.

    python tests/e2e/make_tables.py OUT_DIR

Tables:
  basic         partitioned by `region`; appends, a delete (remove actions), a checkpoint, more appends
  cdf           change data feed on; insert, update, delete (writes _change_data files)
  colmap        column mapping mode `name`
  unpartitioned plain appends
"""
import json
import os
import pathlib
import shutil
import sys
import time

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

out = pathlib.Path(sys.argv[1])
shutil.rmtree(out, ignore_errors=True)
out.mkdir(parents=True)


def rows(start, n, region):
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "region": pa.array([region] * n, pa.string()),
        "amount": pa.array([float(i) * 1.5 for i in range(start, start + n)], pa.float64()),
    })


def pause():
    # Distinct commit times, so timestamp time travel has something to tell apart.
    time.sleep(0.05)


def describe(path):
    dt = DeltaTable(str(path))
    versions = []
    for v in range(dt.version() + 1):
        t = DeltaTable(str(path), version=v)
        adds = pa.table(t.get_add_actions(flatten=True)).to_pylist()
        versions.append({
            "version": v,
            "num_files": len(adds),
            "num_rows": t.to_pyarrow_table().num_rows,
        })
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    files = sorted(
        ({"path": a["path"], "size": a["size_bytes"],
          "partition_values": {k[len("partition."):]: (None if v is None else str(v))
                               for k, v in a.items() if k.startswith("partition.")}}
         for a in adds),
        key=lambda f: f["path"])
    return {"version": dt.version(), "files": files, "versions": versions,
            "partition_columns": dt.metadata().partition_columns,
            "configuration": dt.metadata().configuration}


basic = out / "basic"
for i, region in enumerate(["eu", "us", "eu", "apac", "us"]):
    write_deltalake(str(basic), rows(i * 10, 10, region), mode="append", partition_by=["region"])
    pause()
DeltaTable(str(basic)).delete("id < 5")
pause()
DeltaTable(str(basic)).create_checkpoint()
for i, region in enumerate(["eu", "apac"]):
    write_deltalake(str(basic), rows(100 + i * 10, 10, region), mode="append", partition_by=["region"])
    pause()

cdf = out / "cdf"
write_deltalake(str(cdf), rows(0, 6, "eu"), mode="append", partition_by=["region"],
                configuration={"delta.enableChangeDataFeed": "true"})
pause()
write_deltalake(str(cdf), rows(6, 4, "us"), mode="append", partition_by=["region"])
pause()
DeltaTable(str(cdf)).update(updates={"amount": "amount * 2"}, predicate="id = 1")
pause()
DeltaTable(str(cdf)).delete("id = 7")

colmap = out / "colmap"
colmap_written = pa.concat_tables([rows(0, 5, "eu"), rows(5, 5, "us")])
write_deltalake(str(colmap), rows(0, 5, "eu"), mode="append",
                configuration={"delta.columnMapping.mode": "name", "delta.minReaderVersion": "2",
                               "delta.minWriterVersion": "5"})
pause()
write_deltalake(str(colmap), rows(5, 5, "us"), mode="append")

plain = out / "unpartitioned"
for i in range(3):
    write_deltalake(str(plain), rows(i * 4, 4, "eu"), mode="append")
    pause()

manifest = {name: describe(out / name) for name in ["basic", "cdf", "colmap", "unpartitioned"]}
# deltalake 1.6.6 reads its own column-mapped table back with null values, so the rows it was
# given are the reference for that table.
manifest["colmap"]["written_rows"] = colmap_written.to_pylist()
(out / "manifest.json").write_text(json.dumps(manifest, indent=1))
print(f"wrote {len(manifest)} tables to {out}", flush=True)
# Leave without interpreter teardown: deltalake's runtime threads can abort it ("terminate
# called without an active exception") after everything has been written.
os._exit(0)
