"""The unmodified pyiceberg 0.12 `RestCatalog` reads Iceberg tables through `opensharing serve`'s
Iceberg REST catalog. pyiceberg itself writes the table (a SQL catalog on SQLite, several appends,
a delete and a schema change) into an S3 store; the reader gets it three ways:

- remote signing: the store vends nothing, every S3 request the reader makes is signed by our
  signer endpoint, and s3s-fs verifies each signature;
- vended static keys (s3s-fs);
- vended STS credentials from moto (IAM authentication on: moto checks every signature).

Rows and time travel are compared with what the writer's own catalog reads."""
import contextlib
import hashlib
import json
import time
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError, RESTError, UnauthorizedError
from pyiceberg.types import StringType

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, read_log, s3s_fs
from test_credentials_sts import BUCKET, REGION, client, iam_setup, moto_server

TOKEN = "e2e-iceberg-token-0123456789"
TABLE_PATH = "wh/ns/trips"


def write_table(work, endpoint, key_id, secret):
    """Writes `ns.trips` with pyiceberg's SQL catalog. Returns (writer catalog, first snapshot id)."""
    writer = SqlCatalog("writer", uri=f"sqlite:///{work}/writer.db", warehouse=f"s3://{BUCKET}/wh",
                        **{"s3.endpoint": endpoint, "s3.access-key-id": key_id, "s3.secret-access-key": secret,
                           "s3.region": REGION})
    writer.create_namespace("ns")
    first = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "city": ["paris", "lima", "oslo"],
                      "fare": pa.array([10.5, 20.0, 7.25], pa.float64())})
    table = writer.create_table("ns.trips", schema=first.schema)
    assert table.location() == f"s3://{BUCKET}/{TABLE_PATH}"
    table.append(first)
    first_snapshot = table.current_snapshot().snapshot_id
    table.append(pa.table({"id": pa.array([4, 5], pa.int64()), "city": ["rome", "kyiv"],
                           "fare": pa.array([3.0, 9.5], pa.float64())}))
    table.delete(delete_filter="id = 2")
    with table.update_schema() as update:
        update.add_column("note", StringType())
    table = writer.load_table("ns.trips")
    table.append(pa.table({"id": pa.array([6], pa.int64()), "city": ["faro"], "fare": pa.array([1.25], pa.float64()),
                           "note": ["late"]}))
    return writer, first_snapshot


def sorted_rows(arrow_table):
    return arrow_table.sort_by("id").to_pylist()


def share_config(store):
    return {
        "stores": {"lake": store},
        "shares": [{"name": "s", "schemas": [{"name": "ns", "assets": [
            {"type": "iceberg_table", "name": "trips", "store": "lake", "path": TABLE_PATH}]}]},
                   {"name": "other", "schemas": [{"name": "ns", "assets": []}]}],
        "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                        "shares": ["s"]}],
    }


@contextlib.contextmanager
def s3s_share(tmp_path_factory, vend):
    work = tmp_path_factory.mktemp("iceberg-" + ("static" if vend else "signing"))
    (work / "s3" / BUCKET).mkdir(parents=True)
    with s3s_fs(work / "s3") as endpoint:
        writer, first = write_table(work, endpoint, S3_KEY_ID, S3_SECRET)
        store = {"kind": "s3", "bucket": BUCKET, "region": REGION, "endpoint": endpoint, "path_style": True,
                 "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}
        if vend:
            store["vend"] = {"static": {"access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}}
        with opensharing_serve(share_config(store), work) as (url, config_path, _, log):
            yield {"url": url, "writer": writer, "first": first, "config": config_path, "log": log,
                   "endpoint": endpoint}


@pytest.fixture(scope="module")
def signing(tmp_path_factory):
    with s3s_share(tmp_path_factory, vend=False) as share:
        yield share


@pytest.fixture(scope="module")
def static(tmp_path_factory):
    with s3s_share(tmp_path_factory, vend=True) as share:
        yield share


@pytest.fixture(scope="module")
def sts(tmp_path_factory):
    work = tmp_path_factory.mktemp("iceberg-sts")
    with moto_server(work) as endpoint:
        key_id, secret, role_arn = iam_setup(endpoint)
        client("s3", endpoint, key_id, secret).create_bucket(Bucket=BUCKET)
        writer, first = write_table(work, endpoint, key_id, secret)
        store = {"kind": "s3", "bucket": BUCKET, "region": REGION, "endpoint": endpoint, "path_style": True,
                 "access_key_id": key_id, "secret_access_key": secret,
                 "vend": {"sts": {"role_arn": role_arn, "endpoint": endpoint}}}
        with opensharing_serve(dict(share_config(store), credential_ttl_seconds=900), work) as (url, path, _, log):
            yield {"url": url, "writer": writer, "first": first, "config": path, "log": log, "endpoint": endpoint}


def catalog(share, token=TOKEN, warehouse="s"):
    """A RestCatalog configured as a recipient would from the profile: nothing else."""
    return load_catalog("shared", type="rest", uri=share["url"] + "/iceberg", token=token, warehouse=warehouse)


def events(share, route):
    lines = read_log(share["log"]).splitlines()
    return [e for e in (json.loads(line) for line in lines if line.startswith("{")) if e.get("route") == route]


@pytest.mark.parametrize("mode", ["signing", "static", "sts"])
def test_pyiceberg_lists_loads_scans_and_time_travels(mode, request):
    share = request.getfixturevalue(mode)
    cat = catalog(share)
    assert cat.list_namespaces() == [("ns",)]
    assert cat.list_tables("ns") == [("ns", "trips")]
    assert cat.table_exists("ns.trips") and cat.namespace_exists("ns")
    table = cat.load_table("ns.trips")
    written = share["writer"].load_table("ns.trips")
    assert table.metadata_location == written.metadata_location
    assert table.metadata == written.metadata
    rows = sorted_rows(table.scan().to_arrow())
    assert rows == sorted_rows(written.scan().to_arrow())
    assert [r["id"] for r in rows] == [1, 3, 4, 5, 6], "the delete and the later append are seen"
    assert rows[-1]["note"] == "late" and rows[0]["note"] is None, "the schema change is seen"
    first = sorted_rows(table.scan(snapshot_id=share["first"]).to_arrow())
    assert first == sorted_rows(written.scan(snapshot_id=share["first"]).to_arrow())
    assert [r["id"] for r in first] == [1, 2, 3]
    assert sorted_rows(table.scan(row_filter="fare > 5").to_arrow()) == [r for r in rows if r["fare"] > 5]
    signed = events(share, "iceberg_sign")
    if mode == "signing":
        # Every S3 request went through the signer (s3s-fs refuses unsigned ones).
        assert len(signed) >= 4 and all(e["status"] == 200 for e in signed), signed[:3]
        assert table.io.__class__.__name__ == "FsspecFileIO"
    else:
        assert signed == []
        assert table.io.properties["s3.access-key-id"]


def test_the_vended_sts_keys_are_temporary(sts):
    table = catalog(sts).load_table("ns.trips")
    props = table.io.properties
    assert props["s3.access-key-id"].startswith("ASIA") and props["s3.session-token"]
    with urllib.request.urlopen(urllib.request.Request(
            f"{sts['url']}/iceberg/v1/shares/s/namespaces/ns/tables/trips/credentials",
            headers={"Authorization": f"Bearer {TOKEN}"})) as r:
        creds = json.loads(r.read())["storage-credentials"]
    assert creds[0]["prefix"] == f"s3://{BUCKET}/{TABLE_PATH}"
    assert creds[0]["config"]["s3.access-key-id"] == props["s3.access-key-id"], "the cached grant"


def sign(share, body, token=TOKEN):
    req = urllib.request.Request(f"{share['url']}/iceberg/v1/shares/s/namespaces/ns/tables/trips/sign",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def fetch(uri, headers, method="GET"):
    req = urllib.request.Request(uri, headers={k: ", ".join(v) for k, v in headers.items()}, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_the_signer_signs_only_reads_of_the_table(signing):
    metadata = signing["writer"].load_table("ns.trips").metadata_location
    key = metadata.split(f"s3://{BUCKET}/", 1)[1]
    uri = f"{signing['endpoint']}/{BUCKET}/{key}"
    status, signed = sign(signing, {"method": "GET", "region": REGION, "uri": uri, "headers": {}})
    assert status == 200
    got = fetch(signed["uri"], signed["headers"])
    assert got[0] == 200 and json.loads(got[1])["format-version"] == 2, "s3s-fs accepts the signature"
    # The last hex digit of the signature, changed: always to another digit (replacing it with a
    # fixed one left the signature valid whenever it already ended in that digit).
    authorization = signed["headers"]["Authorization"][0]
    other_digit = "1" if authorization[-1] == "0" else "0"
    tampered = dict(signed["headers"], Authorization=[authorization[:-1] + other_digit])
    assert tampered["Authorization"][0] != authorization
    assert fetch(signed["uri"], tampered)[0] == 403, "and checks it"
    refused = [
        {"method": "PUT", "uri": uri},
        {"method": "DELETE", "uri": uri},
        {"method": "GET", "uri": f"{signing['endpoint']}/{BUCKET}/wh/ns/other/metadata/x.json"},
        {"method": "GET", "uri": f"{signing['endpoint']}/{BUCKET}/wh/ns/trips2/metadata/x.json"},
        {"method": "GET", "uri": f"{signing['endpoint']}/otherbucket/{TABLE_PATH}/metadata/x.json"},
        {"method": "GET", "uri": f"{signing['endpoint']}/{BUCKET}?list-type=2&prefix=wh/"},
    ]
    for body in refused:
        status, error = sign(signing, dict(body, region=REGION, headers={}))
        assert status == 403 and error["error"]["type"] == "ForbiddenException", body
    status, error = sign(signing, {"method": "GET", "region": REGION, "uri": uri, "headers": {}}, token="wrong")
    assert status == 401 and error["error"]["code"] == 401


def test_pyiceberg_raises_its_own_errors(signing):
    cat = catalog(signing)
    with pytest.raises(NoSuchTableError):
        cat.load_table("ns.nope")
    with pytest.raises(NoSuchNamespaceError):
        cat.list_tables("nope")
    with pytest.raises(NoSuchNamespaceError):
        cat.load_namespace_properties("nope")
    assert not cat.table_exists("ns.nope") and not cat.namespace_exists("nope")
    with pytest.raises(UnauthorizedError):
        catalog(signing, token="not-the-token")
    with pytest.raises(RESTError):
        catalog(signing, warehouse="other")
    req = urllib.request.Request(f"{signing['url']}/iceberg/v1/config?warehouse=s",
                                 headers={"Authorization": "Bearer not-the-token"})
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(req)
    assert wrong.value.code == 401
    assert json.loads(wrong.value.read())["error"]["type"] == "NotAuthorizedException"


def test_a_revoked_grant_reads_as_missing(signing):
    """A catalog made while the share was granted: once the grant is gone (hot reload), pyiceberg
    sees NoSuchTable / NoSuchNamespace, exactly as for a share that does not exist."""
    cat = catalog(signing)
    config = json.loads(signing["config"].read_text())
    original = json.dumps(config, indent=2)
    config["recipients"][0]["shares"] = ["other"]
    try:
        signing["config"].write_text(json.dumps(config, indent=2))
        deadline = time.time() + 15
        while True:
            try:
                cat.list_namespaces()
            except NoSuchNamespaceError:
                break
            assert time.time() < deadline, "the reload did not take effect"
            time.sleep(0.2)
        with pytest.raises(NoSuchTableError):
            cat.load_table("ns.trips")
        with pytest.raises(NoSuchNamespaceError):
            cat.list_tables("ns")
    finally:
        signing["config"].write_text(original)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                cat.list_namespaces()
                break
            except NoSuchNamespaceError:
                time.sleep(0.2)


def test_the_delta_surface_points_iceberg_tables_to_the_catalog(static):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with urllib.request.urlopen(urllib.request.Request(f"{static['url']}/shares/s/schemas/ns/tables", headers=auth)) as r:
        item = json.loads(r.read())["items"][0]
    assert item["format"] == "iceberg" and item["accessModes"] == ["dir"]
    req = urllib.request.Request(f"{static['url']}/shares/s/schemas/ns/tables/trips/query", data=b"{}",
                                 method="POST", headers=auth)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req)
    assert refused.value.code == 501
    assert static["url"] + "/iceberg" in json.loads(refused.value.read())["message"]
    req = urllib.request.Request(f"{static['url']}/shares/s/schemas/ns/tables/trips/temporary-table-credentials",
                                 data=b"{}", method="POST", headers=auth)
    with urllib.request.urlopen(req) as r:
        creds = json.loads(r.read())["credentials"]
    assert creds["location"] == f"s3://{BUCKET}/{TABLE_PATH}"
    assert creds["awsTempCredentials"]["accessKeyId"] == S3_KEY_ID


def test_no_secret_in_the_server_log(signing, static):
    for share in (signing, static):
        text = read_log(share["log"])
        assert TOKEN not in text and S3_SECRET not in text and "Signature=" not in text
