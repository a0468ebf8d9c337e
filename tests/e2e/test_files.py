"""The files surface of volumes, skills and model versions, through `opensharing serve`, from
three stores: a local store (URLs served by the host after the engine checks them), s3s-fs
(which verifies SigV4) and Azurite (which verifies SAS). For each: listings in pages of two,
every URL fetched and compared byte for byte, the 307 redirect followed, and tampered URLs
refused with 403."""
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, s3s_fs
from test_azurite_sas import ACCOUNT, ACCOUNT_KEY, CONTAINER, Azurite, shared_key_request

TOKEN = "e2e-files-token-0123456789"
FILES = {
    "vol/readme.txt": b"a volume\n",
    "vol/data/2026/01.csv": b"id,x\n1,2\n",
    "vol/data/2026/02.csv": b"id,x\n3,4\n",
    "vol/data/index.json": b"{}",
    "vol/zeta.bin": bytes(range(256)) * 40,
    "skills/sum/SKILL.md": b"---\nname: sum\ndescription: adds\n---\n",
    "skills/sum/scripts/sum.py": b"print(1 + 1)\n",
    "models/m/3/MLmodel": b"flavors: {}\n",
    "models/m/3/weights/w.bin": b"\x00\x01\x02" * 1000,
}
ASSETS = {  # route -> key prefix of its root
    "volumes/vol": "vol/",
    "skills/sum": "skills/sum/",
    "models/m/versions/3": "models/m/3/",
    "models/m/aliases/prod": "models/m/3/",
}


def config(store: dict) -> dict:
    return {
        "stores": {"st": store},
        "shares": [{"name": "f", "schemas": [{"name": "default", "assets": [
            {"type": "volume", "name": "vol", "store": "st", "path": "vol"},
            {"type": "skill", "name": "sum", "store": "st", "path": "skills/sum", "description": "adds"},
            {"type": "model", "name": "m", "store": "st", "versions": [{"version": 3, "path": "models/m/3"}],
             "aliases": {"prod": 3}},
        ]}]}],
        "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(), "shares": ["f"]}],
    }


def write_tree(root):
    for key, body in FILES.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


@pytest.fixture(scope="module", params=["local", "s3s-fs", "azurite"])
def server(request, tmp_path_factory):
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        pytest.skip("OPENSHARING_SKIP_E2E=1")
    work = tmp_path_factory.mktemp(f"files-{request.param}")
    if request.param == "local":
        write_tree(work / "data")
        with opensharing_serve(config({"kind": "local", "root": str(work / "data")}), work) as (url, *_):
            yield url
    elif request.param == "s3s-fs":
        write_tree(work / "s3" / "bucket")
        with s3s_fs(work / "s3") as endpoint:
            store = {"kind": "s3", "bucket": "bucket", "region": "us-east-1", "endpoint": endpoint,
                     "path_style": True, "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}
            with opensharing_serve(config(store), work) as (url, *_):
                yield url
    else:
        az = Azurite()
        try:
            for key, body in FILES.items():
                status, _ = shared_key_request(az.endpoint, "PUT", f"{CONTAINER}/{key}", {}, body,
                                               {"x-ms-blob-type": "BlockBlob"})
                assert status == 201, f"upload {key}: {status}"
            store = {"kind": "azure", "account": ACCOUNT, "container": CONTAINER, "endpoint": az.endpoint,
                     "account_key": ACCOUNT_KEY}
            with opensharing_serve(config(store), work) as (url, *_):
                yield url
        finally:
            az.close()


def call(url, method="GET"):
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        return r.status, r.read(), r.headers


def fetch(url):
    with urllib.request.urlopen(url) as r:
        return r.read()


def tamper(url):
    """Flips one hex or base64 character of the signature (`X-Amz-Signature` or `sig`)."""
    m = re.search(r"(X-Amz-Signature=|[?&]sig=)([^&])", url)
    assert m, url
    i = m.start(2)
    return url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1:]


def list_pages(base, route, **query):
    items, pages, token = [], 0, None
    while True:
        q = dict(query, maxResults=2, **({"pageToken": token} if token else {}))
        status, body, _ = call(f"{base}/shares/f/schemas/default/{route}/files?{urllib.parse.urlencode(q)}")
        assert status == 200
        page = json.loads(body)
        assert len(page["items"]) <= 2
        items += page["items"]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            return items, pages


@pytest.mark.parametrize("route", list(ASSETS))
def test_paged_listing_with_urls_that_serve_the_bytes(server, route):
    root = ASSETS[route]
    items, pages = list_pages(server, route)
    expected = sorted(k[len(root):] for k in FILES if k.startswith(root))
    assert [i["path"] for i in items] == expected
    assert pages == (len(expected) + 1) // 2
    for item in items:
        body = FILES[root + item["path"]]
        assert item["size"] == len(body)
        assert item["modificationTime"] > 0 and item["expirationTimestamp"] > item["modificationTime"]
        assert fetch(item["url"]) == body


def test_prefix_narrows_the_listing(server):
    items, _ = list_pages(server, "volumes/vol", prefix="data/2026/")
    assert [i["path"] for i in items] == ["data/2026/01.csv", "data/2026/02.csv"]


def test_redirect_to_one_file_is_followed(server):
    for route, path in [("volumes/vol", "data/2026/02.csv"), ("skills/sum", "scripts/sum.py"),
                        ("models/m/aliases/prod", "weights/w.bin")]:
        status, body, _ = call(f"{server}/shares/f/schemas/default/{route}/files/{path}")
        assert status == 200 and body == FILES[ASSETS[route] + path]
    with pytest.raises(urllib.error.HTTPError) as missing:
        call(f"{server}/shares/f/schemas/default/volumes/vol/files/nope.txt", "HEAD")
    assert missing.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as escaping:
        call(f"{server}/shares/f/schemas/default/volumes/vol/files/data/..%2F..%2Fskills/sum/SKILL.md")
    assert escaping.value.code == 400


def test_tampered_urls_are_refused(server):
    items, _ = list_pages(server, "skills/sum")
    for item in items:
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(tamper(item["url"]))
        assert refused.value.code == 403
