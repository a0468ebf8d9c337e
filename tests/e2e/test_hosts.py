"""The four hosts (the Rust server, the Go host, the C host, the C++ host) serve the bundled demo share, and
the unmodified delta-sharing client reads the same rows through each, equal to what deltalake
reads directly. Signed local file URLs go through the engine in every host, so every host answers
them alike: the same statuses, JSON error bodies and audit events, and the same refusal of a
symbolic link out of a store's root."""
import contextlib
import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request

import delta_sharing
import pandas as pd
import pytest
from deltalake import DeltaTable

from harness import ROOT, free_port, opensharing_serve, profile, symlink_table, wait_for

DEMO_TOKEN = "opensharing-demo-token"
HOSTS = ["rust", "go", "c", "cpp"]


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
def host(kind, config, workdir):
    """Host `kind` serving `config` from a file in `workdir` (relative store roots are relative
    to it). Yields the base URL and the host's log."""
    if kind == "rust":
        with opensharing_serve(config, workdir) as (url, _, _, log):
            yield url, log
        return
    port = free_port()
    path = workdir / f"opensharing-{port}.json"
    path.write_text(json.dumps(dict(config, endpoint=f"http://127.0.0.1:{port}/delta-sharing")))
    command = {
        "c": [str(ROOT / "examples-c/build/http_host"), str(path), str(port)],
        "go": [str(ROOT / "examples-go/opensharing-go"), "-config", str(path), "-listen", f"127.0.0.1:{port}"],
        "cpp": [str(ROOT / "examples-cpp/build/http_host"), str(path), str(port)],
    }[kind]
    log = workdir / f"{kind}-host-{port}.log"
    with native_host(command, port, log) as url:
        yield url, log


def audit_events(log):
    """The JSON objects of a host's log lines (audit events, after any prefix the host writes)."""
    events = []
    for line in log.read_text().splitlines():
        if "{" in line:
            with contextlib.suppress(ValueError):
                events.append(json.loads(line[line.index("{"):]))
    return events


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


def fetch(url, method="GET", headers=None, data=None):
    try:
        request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
        with urllib.request.urlopen(request) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_code(body):
    return json.loads(body)["errorCode"]


@pytest.mark.parametrize("kind", HOSTS)
def test_client_reads_the_demo_through_each_host(kind, demo_dir, tmp_path, expected_trips):
    config = json.loads((demo_dir / "opensharing.json").read_text())
    with host(kind, config, demo_dir) as (url, log):
        prof = profile(tmp_path, url, DEMO_TOKEN)
        tables = delta_sharing.SharingClient(prof).list_all_tables()
        assert [(t.share, t.schema, t.name) for t in tables] == [("demo", "default", "trips"), ("demo", "default", "daily_fares")]
        for mode in [False, True, None]:
            df = delta_sharing.load_as_pandas(f"{prof}#demo.default.trips", use_delta_format=mode)
            pd.testing.assert_frame_equal(rows(df), rows(expected_trips), check_dtype=False)
        # The local file URLs: GET, HEAD, Range (206), and the engine's JSON errors: a tampered
        # signature (403), a path out of the store (404), a range past the end (416), POST (405).
        f = first_file(url)
        status, _, data = fetch(f["url"])
        assert (status, len(data)) == (200, f["size"])
        status, headers, empty = fetch(f["url"], "HEAD")
        assert status == 200 and int(headers["Content-Length"]) == f["size"] and empty == b""
        status, headers, part = fetch(f["url"], headers={"Range": "bytes=4-11"})
        assert (status, part, headers["Content-Range"]) == (206, data[4:12], f"bytes 4-11/{f['size']}")
        status, _, body = fetch(f["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert (status, error_code(body)) == (403, "PERMISSION_DENIED")
        outside = url + "/files/demo/../opensharing.json?" + f["url"].split("?")[1]
        status, _, body = fetch(outside)
        assert (status, error_code(body)) == (404, "RESOURCE_DOES_NOT_EXIST")
        status, headers, body = fetch(f["url"], headers={"Range": f"bytes={f['size']}-"})
        assert (status, headers["Content-Range"], error_code(body)) == (416, f"bytes */{f['size']}", "INVALID_PARAMETER_VALUE")
        status, _, body = fetch(f["url"], "POST", data=b"")
        assert (status, error_code(body)) == (405, "METHOD_NOT_ALLOWED")
    # An audit event per file request, from the engine (the client's reads are file requests too).
    statuses = [e["status"] for e in audit_events(log) if e.get("route") == "file"]
    assert all(statuses.count(s) == 1 for s in [403, 404, 405, 416]) and 206 in statuses, statuses


@pytest.mark.parametrize("kind", HOSTS)
def test_each_host_refuses_symlinks_out_of_the_root(kind, tmp_path):
    """A table file that is a symbolic link out of the store's root answers 404 in every host; a
    link inside the root, and a plain file, are served."""
    config = symlink_table(tmp_path, hashlib.sha256(DEMO_TOKEN.encode()).hexdigest())
    with host(kind, config, tmp_path) as (url, _):
        req = urllib.request.Request(f"{url}/shares/s/schemas/d/tables/t/query", data=b"{}", method="POST",
                                     headers={"Authorization": f"Bearer {DEMO_TOKEN}"})
        with urllib.request.urlopen(req) as r:
            files = [json.loads(line)["file"]["url"] for line in r.read().decode().splitlines()[2:]]
        got = {u.split("?")[0].rsplit("/", 1)[1]: fetch(u) for u in files}
    assert got["real.bin"][::2] == (200, b"inside the root")
    assert got["alias.bin"][::2] == (200, b"inside the root")
    assert got["escape.bin"][0] == 404 and error_code(got["escape.bin"][2]) == "RESOURCE_DOES_NOT_EXIST"
