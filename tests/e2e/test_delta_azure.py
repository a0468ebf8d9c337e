"""A Delta table stored in Azurite (which verifies SAS signatures) is read through
`opensharing serve` by the unmodified delta-sharing client: the host reads the log with
object_store over SharedKey, the engine signs every file with a service SAS, and the client
fetches the blobs from Azurite directly. A tampered SAS is refused."""
import hashlib
import json
import os
import urllib.error
import urllib.request

import delta_sharing
import pandas as pd
import pytest
from deltalake import DeltaTable

from harness import opensharing_serve, profile
from test_azurite_sas import ACCOUNT, ACCOUNT_KEY, CONTAINER, Azurite, shared_key_request

TOKEN = "e2e-azure-token-0123456789"
TABLES = ["basic", "unpartitioned"]


@pytest.fixture(scope="module")
def share(s3_root, tmp_path_factory):
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        pytest.skip("OPENSHARING_SKIP_E2E=1")
    tables = s3_root / "lake" / "tables"
    server = Azurite()
    try:
        for table in TABLES:
            for path in sorted((tables / table).rglob("*")):
                if path.is_file():
                    name = f"tables/{path.relative_to(tables).as_posix()}"
                    status, _ = shared_key_request(server.endpoint, "PUT", f"{CONTAINER}/{name}", {},
                                                   path.read_bytes(), {"x-ms-blob-type": "BlockBlob"})
                    assert status == 201, f"upload {name}: {status}"
        config = {
            "stores": {"blob": {"kind": "azure", "account": ACCOUNT, "container": CONTAINER,
                                "endpoint": server.endpoint, "account_key": ACCOUNT_KEY}},
            "shares": [{"name": "az", "schemas": [{"name": "default", "assets": [
                {"type": "delta_table", "name": t, "store": "blob", "path": f"tables/{t}", "history_shared": True}
                for t in TABLES]}]}],
            "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                            "shares": ["az"]}],
        }
        work = tmp_path_factory.mktemp("azure-server")
        with opensharing_serve(config, work) as (url, _, _, _):
            yield {"profile": profile(work, url, TOKEN), "url": url, "tables": tables}
    finally:
        server.close()


def rows(df):
    return df[["id", "region", "amount"]].sort_values("id").reset_index(drop=True)


@pytest.mark.parametrize("mode", [False, True, None], ids=["parquet", "delta", "auto"])
@pytest.mark.parametrize("table", TABLES)
def test_client_reads_a_delta_table_from_azurite(share, table, mode):
    df = delta_sharing.load_as_pandas(f"{share['profile']}#az.default.{table}", use_delta_format=mode)
    expected = DeltaTable(str(share["tables"] / table)).to_pandas()
    pd.testing.assert_frame_equal(rows(df), rows(expected), check_dtype=False)


def test_file_urls_are_sas_urls_azurite_verifies(share):
    req = urllib.request.Request(f"{share['url']}/shares/az/schemas/default/tables/basic/query", data=b"{}",
                                 method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        f = json.loads(r.read().decode().splitlines()[2])["file"]
    assert "sig=" in f["url"] and "sp=r" in f["url"]
    with urllib.request.urlopen(f["url"]) as r:
        assert len(r.read()) == f["size"]
    base, sig = f["url"].split("sig=", 1)
    tampered = base + "sig=" + ("A" if sig[0] != "A" else "B") + sig[1:]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403
