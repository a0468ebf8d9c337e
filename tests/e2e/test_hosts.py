"""The four hosts (the Rust server, the Go host, the C host, the C++ host) serve the bundled demo share, and
the unmodified delta-sharing client reads the same rows through each, equal to what deltalake
reads directly."""
import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.request

import delta_sharing
import pandas as pd
import pytest
from deltalake import DeltaTable

from harness import ROOT, free_port, opensharing_serve, profile, wait_for

DEMO_TOKEN = "opensharing-demo-token"


def demo_config(demo_dir, port):
    config = json.loads((demo_dir / "opensharing.json").read_text())
    config["endpoint"] = f"http://127.0.0.1:{port}/delta-sharing"
    path = demo_dir / f"opensharing-{port}.json"
    path.write_text(json.dumps(config))
    return path


@contextlib.contextmanager
def native_host(command, port, log_path):
    log = open(log_path, "w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", expect=(200,))
        yield f"http://127.0.0.1:{port}/delta-sharing"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def host(kind, demo_dir):
    if kind == "rust":
        config = json.loads((demo_dir / "opensharing.json").read_text())
        with opensharing_serve(config, demo_dir) as (url, _, _, _):
            yield url
        return
    port = free_port()
    path = demo_config(demo_dir, port)
    command = {
        "c": [str(ROOT / "examples-c/build/http_host"), str(path), str(port)],
        "go": [str(ROOT / "examples-go/opensharing-go"), "-config", str(path), "-listen", f"127.0.0.1:{port}"],
        "cpp": [str(ROOT / "examples-cpp/build/http_host"), str(path), str(port)],
    }[kind]
    with native_host(command, port, demo_dir / f"{kind}-host.log") as url:
        yield url


@pytest.fixture(scope="module")
def expected_trips():
    return DeltaTable(str(ROOT / "demo/data/trips")).to_pandas()


def rows(df):
    return df[["trip_id", "city", "fare"]].sort_values("trip_id").reset_index(drop=True)


def first_file(url):
    req = urllib.request.Request(f"{url}/shares/demo/schemas/default/tables/trips/query", data=b"{}", method="POST",
                                 headers={"Authorization": f"Bearer {DEMO_TOKEN}"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read().decode().splitlines()[2])["file"]


def fetch(url, method="GET", headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers or {})) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, b""


@pytest.mark.parametrize("kind", ["rust", "go", "c", "cpp"])
def test_client_reads_the_demo_through_each_host(kind, demo_dir, tmp_path, expected_trips):
    with host(kind, demo_dir) as url:
        prof = profile(tmp_path, url, DEMO_TOKEN)
        tables = delta_sharing.SharingClient(prof).list_all_tables()
        assert [(t.share, t.schema, t.name) for t in tables] == [("demo", "default", "trips"), ("demo", "default", "daily_fares")]
        for mode in [False, True, None]:
            df = delta_sharing.load_as_pandas(f"{prof}#demo.default.trips", use_delta_format=mode)
            pd.testing.assert_frame_equal(rows(df), rows(expected_trips), check_dtype=False)
        # The local file URLs: GET, HEAD, Range (206), and a tampered signature (403).
        f = first_file(url)
        status, _, data = fetch(f["url"])
        assert (status, len(data)) == (200, f["size"])
        status, headers, data = fetch(f["url"], "HEAD")
        assert status == 200 and int(headers["Content-Length"]) == f["size"] and data == b""
        status, headers, part = fetch(f["url"], headers={"Range": "bytes=4-11"})
        assert status == 206 and part == data_of(f["url"])[4:12]
        assert fetch(f["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))[0] == 403


def data_of(url):
    return fetch(url)[2]
