"""A Delta table stored in Azurite (which verifies SAS signatures) is read through
`opensharing serve` by the unmodified delta-sharing client: the host reads the log with
object_store over SharedKey, the engine signs every file with a service SAS, and the client
fetches the blobs from Azurite directly. A tampered SAS is refused. In `dir` mode the engine
vends a read-and-list SAS for the container, and deltalake reads the table in place with it."""
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
                                "endpoint": server.endpoint, "account_key": ACCOUNT_KEY,
                                "vend": {"scope": "container"}}},
            "shares": [{"name": "az", "schemas": [{"name": "default", "assets": [
                {"type": "delta_table", "name": t, "store": "blob", "path": f"tables/{t}", "history_shared": True}
                for t in TABLES]}]}],
            "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                            "shares": ["az"]}],
        }
        work = tmp_path_factory.mktemp("azure-server")
        with opensharing_serve(config, work) as (url, _, _, _):
            yield {"profile": profile(work, url, TOKEN), "url": url, "tables": tables, "azurite": server.endpoint}
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


def test_vended_sas_reads_the_table_in_place(share, monkeypatch):
    req = urllib.request.Request(f"{share['url']}/shares/az/schemas/default/tables/basic/temporary-table-credentials",
                                 data=b"", method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        creds = json.loads(r.read())["credentials"]
    assert creds["location"] == f"abfss://{CONTAINER}@{ACCOUNT}.dfs.core.windows.net/tables/basic"
    sas = creds["azureUserDelegationSas"]["sasToken"]
    assert "sp=rl" in sas and "sr=c" in sas
    listing = f"{share['azurite']}/{CONTAINER}?restype=container&comp=list&prefix=tables/basic/_delta_log/&{sas}"
    with urllib.request.urlopen(listing) as r:
        assert b"00000000000000000000.json" in r.read()
    # deltalake (object_store) reads the whole table with nothing but the vended SAS.
    monkeypatch.setenv("AZURITE_BLOB_STORAGE_URL", share["azurite"].rsplit("/", 1)[0])
    options = {"account_name": ACCOUNT, "sas_token": sas, "use_emulator": "true"}
    df = DeltaTable(f"az://{CONTAINER}/tables/basic", storage_options=options).to_pandas()
    expected = DeltaTable(str(share["tables"] / "basic")).to_pandas()
    pd.testing.assert_frame_equal(rows(df), rows(expected), check_dtype=False)
    base, sig = sas.split("sig=", 1)
    tampered = listing.replace(sas, base + "sig=" + ("A" if sig[0] != "A" else "B") + sig[1:])
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403
