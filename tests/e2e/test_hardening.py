"""`opensharing serve` against the attacks of the hardening review: request bodies that never end,
bodies of 1-byte chunks, more stalled connections than file descriptors, and clients that never
read their answer. Each test measures the server (resident memory from /proc, open descriptors)
and prints its figures with `-s`."""
import json
import resource
import socket
import threading
import time
import urllib.parse

import pytest

from harness import opensharing_serve, read_log, symlink_table
from test_server import DEMO_TOKEN, call, demo_config, sha256, wait_until

QUERY = "/shares/demo/schemas/default/tables/trips/query"
LIMITS = ["--request-timeout", "2", "--idle-timeout", "3"]
MIB = 1 << 20


def rss(proc):
    """Resident memory of `proc` in bytes."""
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def holds_file(proc, name):
    """Whether `proc` has a descriptor open on a file called `name`."""
    import os
    fds = f"/proc/{proc.pid}/fd"
    for fd in os.listdir(fds):
        try:
            if os.readlink(f"{fds}/{fd}").endswith("/" + name):
                return True
        except OSError:
            pass
    return False


def post_head(url, path, length=None, token=None, chunked=False):
    parts = urllib.parse.urlsplit(url)
    head = f"POST {parts.path}{path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {length}\r\n"
    return (head + "\r\n").encode()


def connect(url):
    parts = urllib.parse.urlsplit(url)
    conn = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return conn


def read_answer(conn, timeout=10.0):
    """The status of the answer on `conn`, and whether the server closed it after answering."""
    conn.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        status = int(data.split()[1]) if data else None
        while conn.recv(65536):
            pass
        closed = True
    except (socket.timeout, TimeoutError):
        status = int(data.split()[1]) if data else None
        closed = False
    except ConnectionResetError:
        status, closed = (int(data.split()[1]) if data else None), True
    return status, closed


@pytest.fixture()
def served(demo_dir):
    with opensharing_serve(demo_config(demo_dir), demo_dir, args=LIMITS) as (url, _, proc, log):
        yield {"url": url, "proc": proc, "log": log, "base": url.rsplit("/", 1)[0]}


def test_bodies_without_a_token_are_never_read(served):
    """150 anonymous POSTs declaring 1 MiB and stalling after 64 KiB: each is answered 401 and
    closed at once, and the server holds no body."""
    before = rss(served["proc"])
    conns = []
    for _ in range(150):
        c = connect(served["url"])
        c.sendall(post_head(served["url"], QUERY, MIB) + b" " * (64 << 10))
        conns.append(c)
    started = time.time()
    answers = [read_answer(c, timeout=5) for c in conns]
    shed = time.time() - started
    grown = rss(served["proc"]) - before
    for c in conns:
        c.close()
    print(f"\nanonymous stalled bodies: 150 answered in {shed:.2f} s, "
          f"server memory +{grown / MIB:.1f} MiB ({grown / 150 / 1024:.0f} KiB per connection)")
    assert answers == [(401, True)] * 150
    assert grown < 32 * MIB


def test_stalled_bodies_with_a_token_are_shed_within_the_request_budget(served):
    """Authenticated bodies that stop 1 byte short: 408 once the 2 s budget is spent, then closed."""
    before = rss(served["proc"])
    conns = []
    for _ in range(40):
        c = connect(served["url"])
        c.sendall(post_head(served["url"], QUERY, MIB, DEMO_TOKEN) + b" " * (MIB - 1))
        conns.append(c)
    time.sleep(1)
    peak = rss(served["proc"]) - before
    started = time.time()
    answers = [read_answer(c, timeout=10) for c in conns]
    shed = time.time() - started + 1
    for c in conns:
        c.close()
    print(f"\nauthenticated stalled 1 MiB bodies: 40 held +{peak / MIB:.1f} MiB "
          f"({peak / 40 / MIB:.2f} MiB per connection), all shed {shed:.2f} s after sending")
    assert answers == [(408, True)] * 40
    assert shed < 2 + 3
    assert peak < 40 * 3 * MIB, "at most the body limit (and its read buffer) per connection"


def test_one_byte_chunks_cost_no_more_than_their_bytes(served):
    """A chunked body of 1-byte chunks: 413 after 1 MiB of data, with the server's memory growing
    by about the body it kept, not by a buffer per chunk."""
    conn = connect(served["url"])
    before = rss(served["proc"])
    conn.sendall(post_head(served["url"], QUERY, token=DEMO_TOKEN, chunked=True))
    sent = [0]

    def send():
        piece = b"1\r\n \r\n" * 4096
        try:
            while sent[0] < 8 * MIB:
                conn.sendall(piece)
                sent[0] += len(piece)
        except OSError:
            pass

    sender = threading.Thread(target=send)
    sender.start()
    status, closed = read_answer(conn, timeout=20)
    sender.join()
    grown = rss(served["proc"]) - before
    conn.close()
    print(f"\n1-byte chunks: {sent[0] / MIB:.1f} MiB sent, answered {status}, server memory +{grown / MIB:.1f} MiB")
    assert (status, closed) == (413, True)
    assert grown < 8 * MIB


def test_health_answers_under_a_128_descriptor_limit(demo_dir):
    """140 stalled authenticated POSTs against a server limited to 128 descriptors: the
    connection cap (128 less a reserve) turns the excess away at once with a 503, /healthz never
    hangs, and is 200 again once the stalled requests are shed."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))

    with opensharing_serve(demo_config(demo_dir), demo_dir, args=LIMITS, preexec_fn=limit) as (url, _, proc, _):
        base = url.rsplit("/", 1)[0]
        conns = []
        for _ in range(140):
            c = connect(url)
            c.sendall(post_head(url, QUERY, 100, DEMO_TOKEN) + b"{")
            conns.append(c)
        started = time.time()
        status = call(base + "/healthz", token=None)[0]
        first = time.time() - started
        assert status in (200, 503) and first < 1.5, (status, first)
        wait_until(lambda: call(base + "/healthz", token=None)[0] == 200, timeout=8, what="healthz back to 200")
        recovered = time.time() - started
        answers = [read_answer(c, timeout=10)[0] for c in conns]
        for c in conns:
            c.close()
    print(f"\n140 stalled POSTs at 128 descriptors: /healthz answered {status} in {first * 1000:.0f} ms, "
          f"200 again after {recovered:.1f} s; answers {sorted(set(answers))}")
    assert set(answers) <= {408, 503} and 503 in answers and 408 in answers


def test_a_client_that_never_reads_its_answer_is_closed(tmp_path):
    """A 64 MiB local file requested by a client that reads nothing: once no byte has moved for
    the 3 s idle timeout, the server closes the connection and the file."""
    log = tmp_path / "data" / "big" / "_delta_log"
    log.mkdir(parents=True)
    (tmp_path / "data" / "big" / "big.parquet").write_bytes(b"\0" * (64 * MIB))
    schema = {"type": "struct", "fields": [{"name": "a", "type": "long", "nullable": True, "metadata": {}}]}
    actions = [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
               {"metaData": {"id": "big", "format": {"provider": "parquet", "options": {}},
                             "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": {},
                             "createdTime": 0}},
               {"add": {"path": "big.parquet", "partitionValues": {}, "size": 64 * MIB, "modificationTime": 0,
                        "dataChange": True}}]
    (log / f"{0:020}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")
    config = {"stores": {"disk": {"kind": "local", "root": "data"}},
              "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
                  {"type": "delta_table", "name": "big", "store": "disk", "path": "big"}]}]}],
              "recipients": [{"name": "r", "token_sha256": sha256(DEMO_TOKEN), "shares": ["s"]}]}
    with opensharing_serve(config, tmp_path, args=LIMITS) as (url, _, proc, _):
        status, _, body = call(f"{url}/shares/s/schemas/d/tables/big/query", method="POST", data=b"{}")
        assert status == 200
        file_url = urllib.parse.urlsplit(json.loads(body.decode().splitlines()[2])["file"]["url"])
        conn = socket.socket()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conn.connect((file_url.hostname, file_url.port))
        conn.sendall(f"GET {file_url.path}?{file_url.query} HTTP/1.1\r\nHost: {file_url.netloc}\r\n\r\n".encode())
        wait_until(lambda: holds_file(proc, "big.parquet"), timeout=10, what="the file is open")
        started = time.time()
        wait_until(lambda: not holds_file(proc, "big.parquet"), timeout=15, what="connection and file closed")
        closed_after = time.time() - started
        conn.close()
    print(f"\nnon-reading client of a 64 MiB file: connection and file closed {closed_after:.1f} s after the "
          f"response stalled (idle timeout 3 s)")
    assert closed_after < 3 + 3


@pytest.mark.parametrize("follow", [False, True])
def test_local_store_symlinks_do_not_leave_the_root(tmp_path, follow):
    """A file of the table that is a symbolic link to a file outside the store's root answers 404
    (as a missing file), unless the store sets `follow_symlinks`; a link inside the root works."""
    config = symlink_table(tmp_path, sha256(DEMO_TOKEN), follow)
    with opensharing_serve(config, tmp_path) as (url, _, _, log):
        status, _, body = call(f"{url}/shares/s/schemas/d/tables/t/query", method="POST", data=b"{}")
        assert status == 200
        urls = {urllib.parse.urlsplit(json.loads(line)["file"]["url"]).path.rsplit("/", 1)[1]: json.loads(line)["file"]["url"]
                for line in body.decode().splitlines()[2:]}
        got = {name: call(u, token=None)[::2] for name, u in urls.items()}
    assert got["real.bin"] == (200, b"inside the root")
    assert got["alias.bin"] == (200, b"inside the root")
    if follow:
        assert got["escape.bin"] == (200, b"outside the root")
    else:
        assert got["escape.bin"][0] == 404 and b"outside" not in got["escape.bin"][1]
        assert "symlink_refused" in read_log(log)
