"""A hive-partitioned Parquet dataset written by pyarrow, shared as a `parquet_dataset` by
`opensharing serve` and read by the unmodified delta-sharing client in both response formats:
its rows equal pyarrow.dataset's read of the same directory, predicate hints prune files, and
time travel is refused with a reason."""
import datetime
import decimal
import hashlib
import json
import urllib.error
import urllib.request

import delta_sharing
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import requests

from harness import opensharing_serve, profile, same_rows

TOKEN = "parquet-dataset-token"
TABLE = "lake.default.events"


def rows(n, offset):
    ids = list(range(offset, offset + n))
    return {
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([f"event-{i}" if i % 7 else None for i in ids], pa.string()),
        "score": pa.array([i / 4 if i % 3 else None for i in ids], pa.float64()),
        "day": pa.array([datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 30) for i in ids], pa.date32()),
        "at": pa.array([datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=i)
                        for i in ids], pa.timestamp("us", tz="UTC")),
        "amount": pa.array([decimal.Decimal(i) / 100 for i in ids], pa.decimal128(10, 2)),
        "ok": pa.array([i % 2 == 0 for i in ids], pa.bool_()),
        "small": pa.array([i % 100 for i in ids], pa.int32()),
    }


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """`lake/events`: partitions region=eu|us, several files each (ids grow with the file), plus
    files that are not data."""
    root = tmp_path_factory.mktemp("datasets") / "lake"
    regions = ["eu"] * 120 + ["us"] * 80
    table = pa.table({**rows(200, 0), "region": pa.array(regions, pa.string())})
    ds.write_dataset(table, root / "events", format="parquet", partitioning=["region"], partitioning_flavor="hive",
                     max_rows_per_file=40, max_rows_per_group=20, basename_template="part-{i}.parquet",
                     preserve_order=True)
    nested = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "local": pa.array([datetime.datetime(2026, 1, 1, 12, 0, i) for i in range(3)], pa.timestamp("us")),
        "tags": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "point": pa.array([{"x": 1.0, "y": 2.0}, None, {"x": 3.0, "y": None}],
                          pa.struct([("x", pa.float64()), ("y", pa.float64())])),
        "attrs": pa.array([[("k", 1)], None, []], pa.map_(pa.string(), pa.int32())),
    })
    ds.write_dataset(nested, root / "nested", format="parquet", basename_template="part-{i}.parquet")
    write_with_every_option(root / "options")
    (root / "events" / "_SUCCESS").write_text("")
    (root / "events" / "region=eu" / ".part-0.parquet.crc").write_bytes(b"not parquet")
    return root


def write_with_every_option(directory):
    """Footers and page headers with as many of the format's fields as pyarrow writes: data page
    v2 with checksums, page indexes, sorting columns, byte-stream split and dictionary pages,
    several pages and row groups, integer and fixed-length decimals, 8- and 16-bit integers."""
    directory.mkdir()
    n = 600
    table = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "tiny": pa.array([i % 100 - 50 for i in range(n)], pa.int8()),
        "short": pa.array([i * 7 for i in range(n)], pa.int16()),
        "real": pa.array([i / 3 if i % 11 else None for i in range(n)], pa.float32()),
        "small_money": pa.array([decimal.Decimal(i) / 100 for i in range(n)], pa.decimal128(9, 2)),
        "money": pa.array([decimal.Decimal(i * 1000003) / 1000 for i in range(n)], pa.decimal128(30, 3)),
        "raw": pa.array([bytes([i % 256]) * (i % 5) for i in range(n)], pa.binary()),
        "label": pa.array([f"label-{i % 5}" for i in range(n)], pa.string()),
        "flag": pa.array([i % 3 == 0 for i in range(n)], pa.bool_()),
        "day": pa.array([datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 90) for i in range(n)], pa.date32()),
    })
    for part, (version, decimals_as_ints) in enumerate([("2.0", True), ("1.0", False)]):
        pq.write_table(table.slice(part * n // 2, n // 2), directory / f"part-{part}.parquet",
                       data_page_version=version, store_decimal_as_integer=decimals_as_ints,
                       write_page_index=True, write_page_checksum=True, sorting_columns=[pq.SortingColumn(0)],
                       use_dictionary=["label", "raw"], use_byte_stream_split=["real"], compression="snappy",
                       row_group_size=100, max_rows_per_page=30, write_statistics=True)


@pytest.fixture(scope="module")
def share(dataset_dir):
    config = {
        "stores": {"disk": {"kind": "local", "root": str(dataset_dir)}},
        "shares": [{"name": "lake", "schemas": [{"name": "default", "assets": [
            {"type": "parquet_dataset", "name": "events", "store": "disk", "path": "events"},
            {"type": "parquet_dataset", "name": "nested", "store": "disk", "path": "nested"},
            {"type": "parquet_dataset", "name": "options", "store": "disk", "path": "options"}]}]}],
        "recipients": [{"name": "r", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(), "shares": ["lake"]}],
    }
    with opensharing_serve(config, dataset_dir.parent) as (url, _, _, log_path):
        yield {"url": url, "profile": profile(dataset_dir.parent, url, TOKEN), "dir": dataset_dir, "log": log_path}


def expected(share, filter=None):
    """pyarrow.dataset's own read of the directory (partition values as strings, like Delta)."""
    partitioning = ds.partitioning(pa.schema([("region", pa.string())]), flavor="hive")
    return ds.dataset(share["dir"] / "events", format="parquet", partitioning=partitioning).to_table(
        filter=filter).to_pandas()


def normalise(df):
    """The client hands timestamps back at its own resolution; compare instants."""
    df = df.copy()
    df["at"] = df["at"].astype("datetime64[us, UTC]")
    return df


def query(share, body):
    r = requests.post(f"{share['url']}/shares/lake/schemas/default/tables/events/query", json=body,
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines()]


@pytest.mark.parametrize("use_delta_format", [False, True])
def test_load_as_pandas_matches_pyarrow_dataset(share, use_delta_format):
    url = f"{share['profile']}#{TABLE}"
    df = delta_sharing.load_as_pandas(url, use_delta_format=use_delta_format)
    assert len(df) == 200
    same_rows(normalise(df), normalise(expected(share)))


def test_metadata_describes_the_dataset(share):
    client = delta_sharing.SharingClient(share["profile"])
    assert [t.name for t in client.list_all_tables()] == ["events", "nested", "options"]
    lines = query(share, {})
    meta = lines[1]["metaData"]
    assert meta["partitionColumns"] == ["region"]
    schema = {f["name"]: f["type"] for f in json.loads(meta["schemaString"])["fields"]}
    assert schema == {"id": "long", "name": "string", "score": "double", "day": "date", "at": "timestamp",
                      "amount": "decimal(10,2)", "ok": "boolean", "small": "integer", "region": "string"}
    files = [line["file"] for line in lines[2:]]
    on_disk = sorted(p.relative_to(share["dir"] / "events").as_posix()
                     for p in (share["dir"] / "events").rglob("part-*.parquet"))
    assert len(files) == len(on_disk) == meta["numFiles"] == 5
    stats = [json.loads(f["stats"]) for f in files]
    assert sum(s["numRecords"] for s in stats) == 200
    assert all(s["minValues"]["id"] <= s["maxValues"]["id"] for s in stats)


def plain(records):
    """Rows with arrays as lists, so nested values compare with ==."""
    return [{k: (list(v) if hasattr(v, "tolist") and not isinstance(v, (str, bytes)) else v) for k, v in r.items()}
            for r in records]


def test_nested_and_timestamp_ntz_columns(share):
    """timestamp_ntz needs the delta format: the client's auto-resolution picks it (the parquet
    format's schema parser does not know the type), and delta-kernel reads the nested columns."""
    url = f"{share['profile']}#lake.default.nested"
    protocol = delta_sharing.get_table_protocol(url)
    assert (protocol.min_reader_version, protocol.reader_features) == (3, ["timestampNtz"])
    df = delta_sharing.load_as_pandas(url)
    wanted = ds.dataset(share["dir"] / "nested", format="parquet").to_table().to_pandas()
    key = lambda r: r["id"]  # noqa: E731
    assert sorted(plain(df.to_dict("records")), key=key) == sorted(plain(wanted.to_dict("records")), key=key)
    with pytest.raises(requests.HTTPError) as e:
        delta_sharing.load_as_pandas(url, use_delta_format=False)
    assert "timestampntz" in e.value.response.json()["message"]


@pytest.mark.parametrize("use_delta_format", [False, True])
def test_every_writer_option_reads(share, use_delta_format):
    """The metadata guard holds every known footer and page-header field to the format's type:
    what a real writer produces with every option on still reads, row for row."""
    df = delta_sharing.load_as_pandas(f"{share['profile']}#lake.default.options", use_delta_format=use_delta_format)
    wanted = ds.dataset(share["dir"] / "options", format="parquet").to_table().to_pandas()
    assert len(df) == len(wanted) == 600
    same_rows(df, wanted)


def test_predicate_hints_prune_files(share):
    region = {"op": "equal", "children": [{"op": "column", "name": "region", "valueType": "string"},
                                          {"op": "literal", "value": "us", "valueType": "string"}]}
    files = [line["file"] for line in query(share, {"jsonPredicateHints": json.dumps(region)})[2:]]
    assert len(files) == 2 and all(f["partitionValues"] == {"region": "us"} for f in files)

    by_id = {"op": "lessThan", "children": [{"op": "column", "name": "id", "valueType": "long"},
                                            {"op": "literal", "value": "40", "valueType": "long"}]}
    files = [line["file"] for line in query(share, {"jsonPredicateHints": json.dumps(by_id)})[2:]]
    assert len(files) == 1, files
    assert json.loads(files[0]["stats"])["maxValues"]["id"] == 39

    url = f"{share['profile']}#{TABLE}"
    df = delta_sharing.load_as_pandas(url, jsonPredicateHints=json.dumps(by_id), use_delta_format=False)
    same_rows(normalise(df), normalise(expected(share, ds.field("id") < 40)))


def test_time_travel_is_refused_with_a_reason(share):
    url = f"{share['profile']}#{TABLE}"
    with pytest.raises(requests.HTTPError) as e:
        delta_sharing.load_as_pandas(url, version=1)
    assert e.value.response.status_code == 400
    assert "single version (0)" in e.value.response.json()["message"]
    with pytest.raises(requests.HTTPError) as e:
        delta_sharing.load_table_changes_as_pandas(url, starting_version=0)
    assert e.value.response.status_code == 400
    assert len(delta_sharing.load_as_pandas(url, version=0)) == 200


def test_a_corrupt_file_is_named_not_a_crash(share, tmp_path):
    bad = share["dir"] / "events" / "region=us" / "zz-corrupt.parquet"
    bad.write_bytes(b"PAR1" + b"\xff" * 64 + (64).to_bytes(4, "little") + b"PAR1")
    try:
        req = urllib.request.Request(f"{share['url']}/shares/lake/schemas/default/tables/events/metadata",
                                     headers={"Authorization": f"Bearer {TOKEN}"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        body = json.loads(e.value.read())
        assert e.value.code == 500 and body["errorCode"] == "INTERNAL_ERROR"
        assert "region=us/zz-corrupt.parquet" in body["message"], body
    finally:
        bad.unlink()
    assert len(query(share, {})) == 7
