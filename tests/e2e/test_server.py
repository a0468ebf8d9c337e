"""`opensharing serve` on the bundled demo share (a `local` store served through the engine's
signed file URLs), read by the unmodified delta-sharing client and by plain HTTP: health,
discovery, table reads compared with deltalake, file GET/HEAD/Range and refusals, body limit,
hot reload (file change and SIGHUP) with no failed request, `recipient add`, `check`, graceful
shutdown, and a log that never holds a token or a signature."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import delta_sharing
import pytest
from deltalake import DeltaTable

from harness import opensharing_serve, profile, read_log, same_rows, server_binary

DEMO_TOKEN = "opensharing-demo-token"
TABLE = "demo.default.trips"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def demo_config(demo_dir):
    return json.loads((demo_dir / "opensharing.json").read_text())


def call(url, token=DEMO_TOKEN, method="GET", data=None, headers=None):
    """(status, headers, body) of one request; HTTP errors are answers, not exceptions."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def server(demo_dir):
    """The demo share served from a copy of demo/ (its `data` root is relative to the config)."""
    with opensharing_serve(demo_config(demo_dir), demo_dir) as (url, config_path, proc, log_path):
        yield {"url": url, "base": url.rsplit("/", 1)[0], "config": config_path, "proc": proc, "log": log_path,
               "profile": profile(demo_dir, url, DEMO_TOKEN), "dir": demo_dir}


def query_files(server, token=DEMO_TOKEN):
    status, _, body = call(f"{server['url']}/shares/demo/schemas/default/tables/trips/query", token, "POST", b"{}",
                           {"Content-Type": "application/json"})
    assert status == 200, body
    return [json.loads(line)["file"] for line in body.decode().splitlines()[2:]]


def test_healthz(server):
    status, _, body = call(server["base"] + "/healthz", token=None)
    assert (status, body) == (200, b"ok\n")


def test_client_lists_shares_and_tables(server):
    client = delta_sharing.SharingClient(server["profile"])
    assert [s.name for s in client.list_shares()] == ["demo"]
    tables = client.list_all_tables()
    assert [(t.share, t.schema, t.name) for t in tables] == [("demo", "default", "trips"), ("demo", "default", "daily_fares")]


def test_wrong_token_is_401(server):
    assert call(server["url"] + "/shares", token="nope")[0] == 401
    assert call(server["url"] + "/shares", token=None)[0] == 401


@pytest.mark.parametrize("mode", [False, True, None], ids=["parquet", "delta", "auto"])
def test_load_as_pandas_matches_deltalake(server, mode):
    # Delta format goes through delta-kernel, which fetches only URLs that look pre-signed.
    df = delta_sharing.load_as_pandas(f"{server['profile']}#{TABLE}", use_delta_format=mode)
    same_rows(df, DeltaTable(str(server["dir"] / "data" / "trips")).to_pandas(), key="trip_id")


@pytest.mark.parametrize("mode", [False, True], ids=["parquet", "delta"])
def test_demo_parquet_dataset_matches_pyarrow(server, mode):
    import pyarrow as pa
    import pyarrow.dataset as ds

    df = delta_sharing.load_as_pandas(f"{server['profile']}#demo.default.daily_fares", use_delta_format=mode)
    partitioning = ds.partitioning(pa.schema([("city", pa.string())]), flavor="hive")
    wanted = ds.dataset(server["dir"] / "data" / "daily_fares", partitioning=partitioning).to_table().to_pandas()
    same_rows(df.assign(key=df.city + df.day.astype(str)), wanted.assign(key=wanted.city + wanted.day.astype(str)),
              key="key")


def test_local_file_urls_serve_get_head_and_ranges(server):
    f = query_files(server)[0]
    url = f["url"]
    assert "X-Amz-Signature=" in url and "X-Amz-Date=" in url and "X-Amz-Expires=3600" in url
    status, _, data = call(url, token=None)
    assert status == 200 and len(data) == f["size"] and data[:4] == b"PAR1"
    status, headers, body = call(url, token=None, method="HEAD")
    assert (status, headers["Content-Length"], body) == (200, str(f["size"]), b"")
    assert headers["Accept-Ranges"] == "bytes"
    status, headers, body = call(url, token=None, headers={"Range": "bytes=0-3"})
    assert (status, body, headers["Content-Range"]) == (206, b"PAR1", f"bytes 0-3/{f['size']}")
    status, _, body = call(url, token=None, headers={"Range": "bytes=-4"})
    assert (status, body) == (206, data[-4:])
    status, _, body = call(url, token=None, headers={"Range": "bytes=10-"})
    assert (status, body) == (206, data[10:])
    status, headers, _ = call(url, token=None, headers={"Range": f"bytes={f['size']}-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{f['size']}")


def test_local_file_urls_refuse_tampering(server):
    url = query_files(server)[0]["url"]
    base, sig = url.rsplit("X-Amz-Signature=", 1)
    tampered = base + "X-Amz-Signature=" + ("0" if sig[0] != "0" else "1") + sig[1:]
    for bad in [tampered,
                url.replace(".parquet?", ".parquet.x?", 1),
                url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"),
                url.split("?")[0]]:
        status, _, body = call(bad, token=None)
        assert status == 403, bad
        assert json.loads(body)["errorCode"] == "PERMISSION_DENIED"
    prefix = server["url"] + "/files/demo/"
    assert call(prefix + "../opensharing.json?" + url.split("?")[1], token=None)[0] == 404
    # A signature for another store and key does not match (checked before the store is looked up).
    assert call(server["url"] + "/files/nostore/x?" + url.split("?")[1], token=None)[0] == 403
    assert call(url, token=None, method="POST", data=b"")[0] == 405


def test_expired_local_file_url_is_403(demo_dir, tmp_path):
    config = dict(demo_config(demo_dir), url_ttl_seconds=2)
    (tmp_path / "data").symlink_to(demo_dir / "data")
    with opensharing_serve(config, tmp_path) as (url, _, _, _):
        f = query_files({"url": url})[0]
        assert call(f["url"], token=None)[0] == 200
        time.sleep(max(0.0, f["expirationTimestamp"] / 1000 - time.time()) + 0.1)
        status, _, body = call(f["url"], token=None)
        assert status == 403 and "expired" in json.loads(body)["message"]


def test_oversize_body_is_413(server):
    # The server may answer and close while the client is still sending the body: send it from
    # another thread (a broken pipe there is expected) and read the answer here.
    url = urllib.parse.urlsplit(server["url"])
    size = 2 << 20
    head = (f"POST {url.path}/shares/demo/schemas/default/tables/trips/query HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {DEMO_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:

        def send():
            try:
                conn.sendall(head.encode() + b" " * size)
            except OSError:
                pass

        sender = threading.Thread(target=send)
        sender.start()
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        sender.join()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413", status_line
    body = rest.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["errorCode"] == "MALFORMED_REQUEST"


class Hammer:
    """Requests `GET /shares` in a loop on a few threads, counting every answer that is not 200."""

    def __init__(self, url, threads=4):
        self.url, self.stop, self.ok, self.failures = url, threading.Event(), 0, []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        while not self.stop.is_set():
            try:
                status = call(self.url)[0]
            except OSError as e:  # connection refused or reset: a failed request too
                status = repr(e)
            with self.lock:
                if status == 200:
                    self.ok += 1
                else:
                    self.failures.append(status)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def test_hot_reload_adds_and_revokes_a_recipient_without_failing_requests(server):
    config_path, token = server["config"], "temporary-recipient-token-0123"
    shares_url = server["url"] + "/shares"
    config = json.loads(config_path.read_text())
    with Hammer(shares_url) as hammer:
        # A file change alone is picked up (mtime is checked every second).
        with_temp = dict(config, recipients=config["recipients"] + [
            {"name": "temp", "token_sha256": sha256(token), "shares": ["demo"]}])
        config_path.write_text(json.dumps(with_temp, indent=2))
        wait_until(lambda: call(shares_url, token)[0] == 200, what="recipient added by file change")
        # SIGHUP alone too: keep the old mtime so only the signal can trigger the reload.
        stat = config_path.stat()
        config_path.write_text(json.dumps(config, indent=2))
        os.utime(config_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        time.sleep(1.5)
        assert call(shares_url, token)[0] == 200, "reloaded without a signal or a new mtime"
        server["proc"].send_signal(signal.SIGHUP)
        wait_until(lambda: call(shares_url, token)[0] == 401, what="recipient revoked by SIGHUP")
        # An invalid file is refused and the running configuration keeps serving.
        config_path.write_text('{"shares": [{"name": "demo"}], "recipients": [{"name": "x"}]}')
        server["proc"].send_signal(signal.SIGHUP)
        wait_until(lambda: "reload_failed" in read_log(server["log"]), what="reload_failed logged")
        assert call(shares_url)[0] == 200
        config_path.write_text(json.dumps(config, indent=2))
        time.sleep(0.5)
    assert hammer.failures == [] and hammer.ok > 50, (hammer.ok, hammer.failures[:5])
    assert '"event":"reloaded"' in read_log(server["log"])


def test_recipient_add_writes_hash_and_profile_and_the_server_picks_it_up(server, tmp_path):
    config_path = server["config"]
    before = json.loads(config_path.read_text())
    os.chmod(config_path, 0o640)
    out = tmp_path / "acme.share"
    run = subprocess.run([str(server_binary()), "recipient", "add", "acme", "--share", "demo", "--expires",
                          "2099-01-01T00:00:00Z", "--config", str(config_path), "--profile", str(out)],
                         capture_output=True, text=True, check=True)
    token = run.stdout.split("token (shown once): ")[1].split()[0]
    after = json.loads(config_path.read_text())
    assert after["recipients"][:-1] == before["recipients"]
    assert after["recipients"][-1] == {"name": "acme", "token_sha256": sha256(token), "shares": ["demo"],
                                       "expires_at": "2099-01-01T00:00:00Z"}
    assert token not in config_path.read_text()
    assert oct(config_path.stat().st_mode & 0o777) == oct(0o640)
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)
    prof = json.loads(out.read_text())
    assert prof["bearerToken"] == token and prof["endpoint"] == server["url"]
    # The running server reloads the rewritten file by itself.
    wait_until(lambda: call(server["url"] + "/shares", token)[0] == 200, what="new recipient served")
    assert [s.name for s in delta_sharing.SharingClient(str(out)).list_shares()] == ["demo"]
    assert len(delta_sharing.load_as_pandas(f"{out}#{TABLE}")) == 8
    # A bad share is refused and the file is left alone.
    text = config_path.read_text()
    bad = subprocess.run([str(server_binary()), "recipient", "add", "x", "--share", "nope", "--config",
                          str(config_path)], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown share" in bad.stderr
    assert config_path.read_text() == text
    config_path.write_text(json.dumps(before, indent=2))
    wait_until(lambda: call(server["url"] + "/shares", token)[0] == 401, what="recipient removed again")


def test_check_reports_each_store(server, tmp_path):
    ok = subprocess.run([str(server_binary()), "check", "--config", str(server["config"])],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "[1/1] store 'demo'" in ok.stdout and "demo.default.trips: found trips/" in ok.stdout
    broken = dict(demo_config(server["dir"]), stores={"demo": {"kind": "local", "root": "missing"}})
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    bad = subprocess.run([str(server_binary()), "check", "--config", str(path)], capture_output=True, text=True)
    assert bad.returncode != 0
    assert "FAILED: the directory" in bad.stdout and "does not exist" in bad.stdout


def test_log_lines_are_json_without_tokens_or_signatures(server):
    query_files(server)
    lines = [json.loads(line) for line in read_log(server["log"]).splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert requests and all({"method", "path", "duration_ms", "status", "route"} <= set(r) for r in requests)
    assert all("?" not in r["path"] for r in requests)
    assert any(r["route"] == "file" and r["status"] == 206 for r in requests)
    assert any(r.get("recipient") == "demo-recipient" and r["route"] == "query_table" for r in requests)
    text = read_log(server["log"])
    for secret in [DEMO_TOKEN, "temporary-recipient-token", "X-Amz-Signature", "Bearer"]:
        assert secret not in text


def test_sigterm_stops_gracefully(demo_dir, tmp_path):
    (tmp_path / "data").symlink_to(demo_dir / "data")
    with opensharing_serve(demo_config(demo_dir), tmp_path) as (url, _, proc, log_path):
        assert call(url + "/shares")[0] == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        events = [json.loads(line) for line in read_log(log_path).splitlines()]
        assert {"event": "stopped", "graceful": True} in events


def test_large_query_streams_in_pieces(tmp_path):
    """A query answer larger than one 64 KiB piece is streamed (chunked), whole and in order."""
    log = tmp_path / "data" / "big" / "_delta_log"
    log.mkdir(parents=True)
    schema = {"type": "struct", "fields": [{"name": "a", "type": "long", "nullable": True, "metadata": {}}]}
    actions = [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
               {"metaData": {"id": "big", "format": {"provider": "parquet", "options": {}},
                             "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": {},
                             "createdTime": 0}}]
    actions += [{"add": {"path": f"part-{i:05d}.parquet", "partitionValues": {}, "size": i + 1,
                         "modificationTime": 0, "dataChange": True}} for i in range(2000)]
    (log / f"{0:020}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")
    config = {"stores": {"disk": {"kind": "local", "root": "data"}},
              "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
                  {"type": "delta_table", "name": "big", "store": "disk", "path": "big"}]}]}],
              "recipients": [{"name": "r", "token_sha256": sha256(DEMO_TOKEN), "shares": ["s"]}]}
    with opensharing_serve(config, tmp_path) as (url, _, _, _):
        status, headers, body = call(f"{url}/shares/s/schemas/d/tables/big/query", method="POST", data=b"{}")
    assert status == 200 and len(body) > 4 * 64 * 1024
    assert headers["Transfer-Encoding"] == "chunked" and headers["Content-Length"] is None
    files = [json.loads(line)["file"] for line in body.decode().splitlines()[2:]]
    assert sorted(f["size"] for f in files) == list(range(1, 2001))
