"""The unmodified delta-sharing client reads Delta tables written by deltalake, stored in an S3
server that verifies signatures (s3s-fs), through `opensharing serve`; results are compared row
for row with what deltalake reads directly."""
import json
import urllib.error
import urllib.request

import delta_sharing
import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, profile, read_log, s3s_fs, same_rows

TOKEN = "e2e-s3-token-0123456789"
TABLES = ["basic", "cdf", "colmap", "unpartitioned"]


def sha256(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def share(s3_root, tmp_path_factory):
    work = tmp_path_factory.mktemp("s3-server")
    with s3s_fs(s3_root) as endpoint:
        config = {
            "stores": {"lake": {"kind": "s3", "bucket": "lake", "region": "us-east-1", "endpoint": endpoint,
                                "path_style": True, "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}},
            "shares": [{"name": "s3share", "schemas": [{"name": "default", "assets": [
                {"type": "delta_table", "name": t, "store": "lake", "path": f"tables/{t}", "history_shared": True}
                for t in TABLES]}]}],
            "recipients": [{"name": "e2e", "token_sha256": sha256(TOKEN), "shares": ["s3share"]}],
        }
        with opensharing_serve(config, work) as (url, _, _, log_path):
            yield {"profile": profile(work, url, TOKEN), "url": url, "s3": endpoint,
                   "tables": s3_root / "lake" / "tables", "log": log_path}


def expected(share, table, **kw):
    return DeltaTable(str(share["tables"] / table), **kw).to_pandas()


def test_lists_every_table(share):
    tables = delta_sharing.SharingClient(share["profile"]).list_all_tables()
    assert sorted(t.name for t in tables) == sorted(TABLES)


@pytest.mark.parametrize("mode", [False, True, None], ids=["parquet", "delta", "auto"])
@pytest.mark.parametrize("table", ["basic", "cdf", "unpartitioned"])
def test_load_as_pandas_matches_deltalake(share, table, mode):
    df = delta_sharing.load_as_pandas(f"{share['profile']}#s3share.default.{table}", use_delta_format=mode)
    same_rows(df, expected(share, table))


def test_column_mapping_table_in_delta_format(share):
    url = f"{share['profile']}#s3share.default.colmap"
    manifest = json.loads((share["tables"] / "manifest.json").read_text())
    same_rows(delta_sharing.load_as_pandas(url), pd.DataFrame(manifest["colmap"]["written_rows"]))
    with pytest.raises(Exception, match="Unsupported Delta Table Properties"):
        delta_sharing.load_as_pandas(url, use_delta_format=False)


def test_limit_version_and_timestamp(share):
    url = f"{share['profile']}#s3share.default.basic"
    assert len(delta_sharing.load_as_pandas(url, limit=3)) == 3
    for version in [0, 3, 5]:
        same_rows(delta_sharing.load_as_pandas(url, version=version), expected(share, "basic", version=version))
    # The timestamp of version 3's commit, as the server reports it.
    dt = DeltaTable(str(share["tables"] / "basic"))
    history = {h["version"]: h["timestamp"] for h in dt.history()}
    ts = pd.Timestamp(history[3], unit="ms", tz="UTC").isoformat()
    same_rows(delta_sharing.load_as_pandas(url, timestamp=ts), expected(share, "basic", version=3))


def test_table_changes_match_deltalake_cdf(share):
    url = f"{share['profile']}#s3share.default.cdf"
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=0, ending_version=3)
    cdf = pa.table(DeltaTable(str(share["tables"] / "cdf")).load_cdf(starting_version=0, ending_version=3).read_all()).to_pandas()
    key = ["id", "_change_type", "_commit_version"]
    cols = ["id", "region", "amount", "_change_type", "_commit_version"]
    a = changes[cols].sort_values(key).reset_index(drop=True)
    w = cdf[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, w, check_dtype=False)


def test_table_changes_in_delta_format(share):
    url = f"{share['profile']}#s3share.default.cdf"
    changes = delta_sharing.load_table_changes_as_pandas(url, starting_version=1, ending_version=3, use_delta_format=True)
    cdf = pa.table(DeltaTable(str(share["tables"] / "cdf")).load_cdf(starting_version=1, ending_version=3).read_all()).to_pandas()
    assert sorted(changes["_change_type"].tolist()) == sorted(cdf["_change_type"].tolist())


def query_urls(share, table="basic"):
    req = urllib.request.Request(f"{share['url']}/shares/s3share/schemas/default/tables/{table}/query",
                                 data=b"{}", method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        lines = [json.loads(line) for line in r.read().decode().splitlines()]
    return [line["file"] for line in lines[2:]]


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_signed_urls_are_verified_by_the_s3_server(share):
    f = query_urls(share)[0]
    status, data = fetch(f["url"])
    assert status == 200 and len(data) == f["size"]
    base, sig = f["url"].rsplit("X-Amz-Signature=", 1)
    tampered = base + "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]
    assert fetch(tampered)[0] == 403
    other_key = f["url"].replace(".parquet?", ".parquet.x?", 1)
    assert fetch(other_key)[0] == 403


def test_no_token_in_the_server_log(share):
    text = read_log(share["log"])
    assert TOKEN not in text and S3_SECRET not in text
    assert '"recipient":"e2e"' in text
