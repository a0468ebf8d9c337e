"""Live check of our Azure SAS against Azurite 3.35, which verifies SAS signatures.

Starts Azurite on a free loopback port (installing it with npm into a cache folder the first
time), creates a container and blobs with SharedKey-signed requests, then fetches them through
SAS URLs printed by `cargo run --example azure_sas_url`: good SAS → 200 and the exact bytes;
tampered signature, another blob, expired, missing permission → 403. Covers service SAS at our
pinned version and at older layouts, the batch path, a container (list) SAS, and a
user-delegation SAS (Azurite derives delegation keys itself; its installed module is asked for
the key value).

Run:   python3 tests/e2e/test_azurite_sas.py        (plain; prints "N passed, N failed")
   or: python -m pytest -q tests/e2e/test_azurite_sas.py
Needs node and npm. Azurite is cached in $OPENSHARING_TOOLS_DIR/node, else
~/.cache/opensharing-ci/node. Set OPENSHARING_SKIP_E2E=1 to skip; otherwise a missing tool fails.
"""
import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
AZURITE_VERSION = "3.35.0"
ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key (not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
API_VERSION = "2025-05-05"
CONTAINER = "lake"
BLOB = "dir/my blob+ü%.txt"
OTHER_BLOB = "other.bin"
BLOB_BYTES = bytes(range(256)) * 9 + "ünïcode".encode()
OTHER_BYTES = b"other blob\n"


def _node_dir():
    tools = os.environ.get("OPENSHARING_TOOLS_DIR")
    if tools:
        return pathlib.Path(tools) / "node"
    return pathlib.Path.home() / ".cache" / "opensharing-ci" / "node"


def install_azurite():
    """Returns the path of Azurite's package folder, installing it once with npm."""
    pkg = _node_dir() / "node_modules" / "azurite"
    manifest = pkg / "package.json"
    if manifest.exists() and json.loads(manifest.read_text())["version"] == AZURITE_VERSION:
        return pkg
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed: the Azurite check needs node and npm "
                               "(or set OPENSHARING_SKIP_E2E=1 to skip it)")
    _node_dir().mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--prefix", str(_node_dir()), "--no-audit", "--no-fund",
                    f"azurite@{AZURITE_VERSION}"], check=True, stdout=subprocess.DEVNULL)
    return pkg


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Azurite:
    """A running Azurite blob service with the test container and blobs."""

    def __init__(self):
        self.pkg = install_azurite()
        self.data = tempfile.mkdtemp(prefix="azurite-")
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
        self.log = open(os.path.join(self.data, "azurite.log"), "wb")
        self.proc = subprocess.Popen(
            ["node", str(self.pkg / "dist" / "src" / "blob" / "main.js"), "--blobHost", "127.0.0.1",
             "--blobPort", str(self.port), "--location", self.data, "--disableTelemetry"],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait()
            status, _ = shared_key_request(self.endpoint, "PUT", CONTAINER, {"restype": "container"})
            assert status == 201, f"create container: {status}"
            for name, body in ((BLOB, BLOB_BYTES), (OTHER_BLOB, OTHER_BYTES)):
                status, _ = shared_key_request(self.endpoint, "PUT", f"{CONTAINER}/{name}", {}, body,
                                               {"x-ms-blob-type": "BlockBlob"})
                assert status == 201, f"upload {name}: {status}"
        except BaseException:
            self.close()
            raise

    def _wait(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Azurite exited with {self.proc.returncode}; see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("Azurite did not start within 30 s")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def shared_key_request(endpoint, method, path, query, body=b"", headers=None):
    """A request authorised with SharedKey (used only to set up the container and blobs)."""
    parsed = urllib.parse.urlsplit(endpoint)
    url_path = parsed.path + "/" + urllib.parse.quote(path, safe="/")
    headers = dict(headers or {})
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = API_VERSION
    length = str(len(body)) if body else ""
    content_type = "application/octet-stream" if body else ""
    if body:
        headers["Content-Type"] = content_type
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(
        (k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-ms-")))
    canonical_resource = f"/{ACCOUNT}{url_path}" + "".join(
        f"\n{k.lower()}:{v}" for k, v in sorted(query.items()))
    string_to_sign = "\n".join([method, "", "", length, "", content_type, "", "", "", "", "", ""]) + "\n" \
        + canonical_headers + canonical_resource
    sig = base64.b64encode(hmac.new(base64.b64decode(ACCOUNT_KEY), string_to_sign.encode(),
                                    hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {ACCOUNT}:{sig}"
    url = f"{parsed.scheme}://{parsed.netloc}{url_path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    return http(method, url, body or None, headers)


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def sas_url(az, *args, env=None):
    """Runs our example signer and returns the URL it prints."""
    env = dict(os.environ, **(env or {"AZURE_STORAGE_KEY": ACCOUNT_KEY}))
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--example", "azure_sas_url", "--", "--endpoint", az.endpoint,
         "--account", ACCOUNT, "--container", CONTAINER, *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def tamper(url):
    """Flips one character of the signature."""
    head, sig = url.rsplit("&sig=", 1)
    decoded = urllib.parse.unquote(sig)
    flipped = ("A" if decoded[0] != "A" else "B") + decoded[1:]
    return f"{head}&sig={urllib.parse.quote(flipped, safe='')}"


def get(url):
    return http("GET", url)


def refused(response, code):
    """True if `response` is a 403 with the storage error `code`."""
    status, body = response
    return status == 403 and f"<Code>{code}</Code>".encode() in body


# --- the checks ------------------------------------------------------------------------------

def test_blob_sas_reads_exact_bytes(az):
    url = sas_url(az, "--blob", BLOB)
    assert "/lake/dir/my%20blob%2B%C3%BC%25.txt?sv=2025-05-05&" in url, url
    assert get(url) == (200, BLOB_BYTES)


def test_batch_path_url_reads_exact_bytes(az):
    assert get(sas_url(az, "--blob", BLOB, "--batch")) == (200, BLOB_BYTES)
    assert get(sas_url(az, "--blob", OTHER_BLOB, "--batch")) == (200, OTHER_BYTES)


def test_older_service_sas_layouts_are_accepted(az):
    for version in ("2015-04-05", "2018-11-09", "2020-02-10", "2022-11-02"):
        status, body = get(sas_url(az, "--blob", BLOB, "--version", version))
        assert (status, body) == (200, BLOB_BYTES), f"sv={version}: {status} {body[:300]!r}"


def test_tampered_signature_is_rejected(az):
    assert refused(get(tamper(sas_url(az, "--blob", BLOB))), "AuthorizationFailure")


def test_sas_of_one_blob_does_not_open_another(az):
    url = sas_url(az, "--blob", OTHER_BLOB)
    other = url.replace("/lake/other.bin?", "/lake/" + urllib.parse.quote(BLOB) + "?")
    assert other != url
    assert get(url) == (200, OTHER_BYTES)
    assert refused(get(other), "AuthorizationFailure")


def test_expired_sas_is_rejected(az):
    url = sas_url(az, "--blob", BLOB, "--ttl", "-60")
    assert refused(get(url), "AuthorizationFailure")


def test_read_only_sas_cannot_write(az):
    url = sas_url(az, "--blob", "new.txt")
    assert refused(http("PUT", url, b"x", {"x-ms-blob-type": "BlockBlob"}), "AuthorizationPermissionMismatch")


def test_anonymous_read_is_rejected(az):
    assert get(f"{az.endpoint}/{CONTAINER}/{OTHER_BLOB}")[0] == 403


def test_container_sas_lists_only_with_list_permission(az):
    url = sas_url(az, "--permissions", "rl") + "&restype=container&comp=list"
    status, body = get(url)
    assert status == 200, body[:300]
    assert BLOB.encode() in body and OTHER_BLOB.encode() in body
    url = sas_url(az, "--permissions", "r") + "&restype=container&comp=list"
    assert refused(get(url), "AuthorizationPermissionMismatch")


def _delegation_key(az):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    fields = {
        "signed_oid": "11111111-1111-1111-1111-111111111111",
        "signed_tid": "22222222-2222-2222-2222-222222222222",
        "signed_start": (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signed_expiry": (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signed_service": "b",
        "signed_version": API_VERSION,
    }
    # Azurite derives delegation key values itself; ask its own module for this key's value.
    script = ("const u = require(process.argv[1]);"
              "console.log(u.getUserDelegationKeyValue(...process.argv.slice(2)));")
    utils = az.pkg / "dist" / "src" / "blob" / "utils" / "utils.js"
    out = subprocess.run(["node", "-e", script, str(utils), fields["signed_oid"], fields["signed_tid"],
                          fields["signed_start"], fields["signed_expiry"], fields["signed_version"]],
                         check=True, capture_output=True, text=True)
    fields["value"] = out.stdout.strip()
    return {"AZURE_USER_DELEGATION_KEY": json.dumps(fields)}


def test_user_delegation_sas(az):
    env = _delegation_key(az)
    url = sas_url(az, "--blob", BLOB, env=env)
    assert "&skoid=11111111-1111-1111-1111-111111111111&" in url, url
    assert get(url) == (200, BLOB_BYTES)
    assert get(sas_url(az, "--blob", BLOB, "--batch", env=env)) == (200, BLOB_BYTES)
    assert refused(get(tamper(url)), "AuthorizationFailure")


TESTS = [v for k, v in sorted(globals().items()) if k.startswith("test_")]

if "pytest" in sys.modules:
    import pytest

    @pytest.fixture(scope="module")
    def az():
        if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
            pytest.skip("OPENSHARING_SKIP_E2E=1")
        server = Azurite()
        yield server
        server.close()


def main():
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        print("azurite SAS check skipped (OPENSHARING_SKIP_E2E=1)")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    subprocess.run(["cargo", "build", "--quiet", "--example", "azure_sas_url"], cwd=ROOT, check=True)
    server = Azurite()
    passed = failed = 0
    try:
        for test in TESTS:
            try:
                test(server)
                passed += 1
                print(f"ok     {test.__name__}")
            except Exception as err:  # report every failing check, then fail the run
                failed += 1
                print(f"FAILED {test.__name__}: {type(err).__name__}: {err}")
    finally:
        server.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
