"""Starts the real peers the end-to-end tests talk to: an S3 server that verifies SigV4
signatures (s3s-fs) and `opensharing serve`. Every process is bound to loopback, on a free
port, and stopped when its context ends."""
import contextlib
import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pandas as pd

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOLS = pathlib.Path(os.environ.get("OPENSHARING_TOOLS", pathlib.Path.home() / ".cache/opensharing-ci/tools"))
S3_KEY_ID = "AKIAOPENSHARINGTEST"
S3_SECRET = "opensharing/test+secret/key0123456789abcd"


def read_log(path: pathlib.Path, settle: float = 0.1, timeout: float = 3.0) -> str:
    """The server's log once it has stopped growing for `settle` seconds (at most `timeout`).
    `serve` writes a request's access line when its response body is dropped, after the client
    has its answer, and gathers lines into batches written when a worker runs out of work: a
    test that reads the log right after a response would otherwise race those writes."""
    deadline = time.time() + timeout
    text = path.read_text()
    while time.time() < deadline:
        time.sleep(settle)
        again = path.read_text()
        if again == text:
            break
        text = again
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0, expect=(200, 403, 404)) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status in expect:
                    return
        except urllib.error.HTTPError as e:
            if e.code in expect:
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise TimeoutError(f"{url} did not come up")
        time.sleep(0.1)


@contextlib.contextmanager
def background(argv, log_path: pathlib.Path, ready_url: str, env=None):
    """Runs `argv` with its output in `log_path` until the context ends; returns once
    `ready_url` answers."""
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        wait_for(ready_url)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextlib.contextmanager
def s3s_fs(root: pathlib.Path):
    """An s3s-fs server over `root` (each sub-directory is a bucket). Yields its endpoint."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [str(TOOLS / "bin/s3s-fs"), "--host", "127.0.0.1", "--port", str(port),
            "--access-key", S3_KEY_ID, "--secret-key", S3_SECRET, str(root)]
    with background(argv, root.parent / f"s3s-{port}.log", endpoint + "/"):
        yield endpoint


def server_binary() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "opensharing"


@contextlib.contextmanager
def opensharing_serve(config: dict, workdir: pathlib.Path, env=None, args=(), preexec_fn=None):
    """`opensharing serve` on `config`, with extra `args`. Yields (base_url, config_path, process,
    log_path)."""
    port = free_port()
    config = dict(config, endpoint=f"http://127.0.0.1:{port}/delta-sharing")
    path = workdir / f"opensharing-{port}.json"
    path.write_text(json.dumps(config, indent=2))
    log_path = workdir / f"opensharing-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(server_binary()), "serve", "--config", str(path), "--listen", f"127.0.0.1:{port}", *args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", expect=(200,))
        yield base + "/delta-sharing", path, proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def service_account():
    """A fresh RSA-2048 service-account key: (the key file's fields, the public key PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    info = {"type": "service_account", "project_id": "opensharing-test", "private_key_id": "0123456789abcdef",
            "private_key": pem, "client_email": "signer@opensharing-test.iam.gserviceaccount.com",
            "client_id": "1234567890", "token_uri": "https://oauth2.googleapis.com/token"}
    return info, public_pem


def profile(workdir: pathlib.Path, endpoint: str, token: str) -> str:
    path = workdir / "profile.json"
    path.write_text(json.dumps({"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token}))
    return str(path)


def same_rows(actual, wanted, key="id"):
    """Asserts two data frames hold the same rows (in any order, dtypes loosely)."""
    cols = sorted(wanted.columns)
    a = actual[cols].sort_values(key).reset_index(drop=True)
    w = wanted[cols].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, w, check_dtype=False, check_categorical=False)


def symlink_table(workdir: pathlib.Path, token_sha256: str, follow: bool = False) -> dict:
    """A Delta table `s.d.t` in a local store `data/` under `workdir` whose files are `real.bin`,
    `escape.bin` (a symbolic link to a file outside the store's root) and `alias.bin` (a link to
    `real.bin`, inside the root); returns its configuration (`follow_symlinks` as given)."""
    table = workdir / "data" / "t"
    (table / "_delta_log").mkdir(parents=True)
    (workdir / "outside.bin").write_bytes(b"outside the root")
    (table / "real.bin").write_bytes(b"inside the root")
    (table / "escape.bin").symlink_to(workdir / "outside.bin")
    (table / "alias.bin").symlink_to(table / "real.bin")
    schema = {"type": "struct", "fields": [{"name": "a", "type": "long", "nullable": True, "metadata": {}}]}
    actions = [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
               {"metaData": {"id": "t", "format": {"provider": "parquet", "options": {}},
                             "schemaString": json.dumps(schema), "partitionColumns": [], "configuration": {},
                             "createdTime": 0}}]
    actions += [{"add": {"path": name, "partitionValues": {}, "size": 15, "modificationTime": 0, "dataChange": True}}
                for name in ["real.bin", "escape.bin", "alias.bin"]]
    (table / "_delta_log" / f"{0:020}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")
    return {"stores": {"disk": {"kind": "local", "root": "data", "follow_symlinks": follow}},
            "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
                {"type": "delta_table", "name": "t", "store": "disk", "path": "t"}]}]}],
            "recipients": [{"name": "r", "token_sha256": token_sha256, "shares": ["s"]}]}
