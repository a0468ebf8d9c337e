"""Agreement check of our GCS V4 signer against Google's `google-cloud-storage` Python library.

A fresh RSA-2048 service-account key is made at module setup. For each object name, URL style
and signing path (`GcsPresigner::presign`, or the batch path `GcsPresigner::batch` +
`presign_get`), `cargo run --example gcs_signed_url` prints a signed GET URL, and the library's
`generate_signed_url_v4` signs the same request with the same key, time and lifetime. RSA
PKCS#1 v1.5 signatures are deterministic, so the two URLs must be byte-identical.

The library's `Blob.generate_signed_url` is reproduced exactly: the object name is quoted with
`_quote(name, safe=b"/~")`, the resource is `/{bucket}/{quoted}` (path style) or `/{quoted}`
(virtual-hosted, bucket-bound host name), and the endpoint comes from the library's own helpers.

Run:   cd tests/e2e && python -m pytest -q test_gcs_oracle.py
Needs google-cloud-storage (pinned in requirements.txt). Set OPENSHARING_SKIP_E2E=1 to skip;
otherwise a missing library fails.
"""
import datetime
import json
import os
import pathlib
import subprocess
import urllib.parse

import pytest

from harness import ROOT, service_account

BUCKET = "lake-bucket"
DEFAULT_ENDPOINT = "https://storage.googleapis.com"
STAMP = "20240117T093005Z"
TTL = 3600

OBJECTS = [
    "plain.txt",
    "dir/sub/part-00000.snappy.parquet",
    "my file with spaces.csv",
    "café/日本語.txt",
    "a+b=c.txt",
    "tilde~name_-.x",
    "100%real%2F.txt",
    "what?is#this",
    "&;,:@!$'()*[] .json",
    "/leading//double-slash/",
]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        pytest.skip("OPENSHARING_SKIP_E2E=1")
    from google.cloud.storage import _helpers, _signing, blob
    from google.oauth2 import service_account as google_service_account

    info, _ = service_account()
    key_file = tmp_path_factory.mktemp("gcs-key") / "service-account.json"
    key_file.write_text(json.dumps(info))
    key_file.chmod(0o600)

    subprocess.run(["cargo", "build", "--quiet", "--example", "gcs_signed_url"], cwd=ROOT, check=True)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    exe = target / "debug" / "examples" / "gcs_signed_url"
    assert exe.exists(), f"{exe} was not built"

    return {
        "credentials": google_service_account.Credentials.from_service_account_info(info),
        "key_file": str(key_file),
        "exe": str(exe),
        "signing": _signing,
        "helpers": _helpers,
        "quote": blob._quote,
    }


def ours(oracle, name, *, style="path", endpoint=None, batch=False, stamp=STAMP, ttl=TTL):
    argv = [oracle["exe"], "--bucket", BUCKET, "--object-hex", name.encode("utf-8").hex(),
            "--timestamp", stamp, "--ttl", str(ttl)]
    if endpoint is not None:
        argv += ["--endpoint", endpoint]
    if style == "virtual-hosted":
        argv.append("--virtual-hosted")
    elif style == "bucket-bound":
        argv.append("--bucket-bound-hostname")
    if batch:
        argv.append("--batch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GCS_")}
    env["GCS_SERVICE_ACCOUNT_KEY_FILE"] = oracle["key_file"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"gcs_signed_url failed: {done.stderr}"
    return done.stdout.strip()


def theirs(oracle, name, *, style="path", endpoint=None, stamp=STAMP, ttl=TTL, headers=None):
    """What `Blob(name, Bucket(BUCKET)).generate_signed_url(version="v4", ...)` signs."""
    helpers = oracle["helpers"]
    quoted = oracle["quote"](name, safe=b"/~")
    if style == "virtual-hosted":
        api_access_endpoint = helpers._virtual_hosted_style_base_url(endpoint or DEFAULT_ENDPOINT, BUCKET)
        resource = f"/{quoted}"
    elif style == "bucket-bound":
        api_access_endpoint = helpers._bucket_bound_hostname_url(endpoint, "https")
        resource = f"/{quoted}"
    else:
        api_access_endpoint = endpoint or DEFAULT_ENDPOINT
        resource = f"/{BUCKET}/{quoted}"
    return oracle["signing"].generate_signed_url_v4(
        oracle["credentials"], resource=resource, expiration=datetime.timedelta(seconds=ttl),
        api_access_endpoint=api_access_endpoint, method="GET", headers=headers, _request_timestamp=stamp)


def same_url(got, want):
    """Asserts byte-identical URLs, first part by part so that a failure says where they differ."""
    g, w = urllib.parse.urlsplit(got), urllib.parse.urlsplit(want)
    assert (g.scheme, g.netloc, g.path) == (w.scheme, w.netloc, w.path), \
        f"URL bases differ:\n ours   {got}\n theirs {want}"
    gq = urllib.parse.parse_qsl(g.query, keep_blank_values=True)
    wq = urllib.parse.parse_qsl(w.query, keep_blank_values=True)
    unsigned = lambda q: [(k, v) for k, v in q if k != "X-Goog-Signature"]
    assert unsigned(gq) == unsigned(wq), "query parameters differ"
    assert dict(gq).get("X-Goog-Signature") == dict(wq).get("X-Goog-Signature"), "signatures differ"
    assert got == want, f"URLs differ in encoding:\n ours   {got}\n theirs {want}"


@pytest.mark.parametrize("batch", [False, True], ids=["presign", "batch"])
@pytest.mark.parametrize("style", ["path", "virtual-hosted"])
@pytest.mark.parametrize("name", OBJECTS, ids=[n.encode().hex()[:16] + ":" + repr(n) for n in OBJECTS])
def test_default_endpoint(oracle, name, style, batch):
    same_url(ours(oracle, name, style=style, batch=batch), theirs(oracle, name, style=style))


@pytest.mark.parametrize("batch", [False, True], ids=["presign", "batch"])
@pytest.mark.parametrize("name", ["plain.txt", "café/日本語.txt", "what?is#this"])
def test_bucket_bound_hostname(oracle, name, batch):
    endpoint = "https://cdn.example.com"
    same_url(ours(oracle, name, style="bucket-bound", endpoint=endpoint, batch=batch),
             theirs(oracle, name, style="bucket-bound", endpoint=endpoint))


@pytest.mark.parametrize("batch", [False, True], ids=["presign", "batch"])
@pytest.mark.parametrize("style", ["path", "virtual-hosted"])
def test_other_universe_domain(oracle, style, batch):
    endpoint = "https://storage.example-universe.goog"
    same_url(ours(oracle, "dir/a b.txt", style=style, endpoint=endpoint, batch=batch),
             theirs(oracle, "dir/a b.txt", style=style, endpoint=endpoint))


@pytest.mark.parametrize("batch", [False, True], ids=["presign", "batch"])
@pytest.mark.parametrize("stamp,ttl", [("20240229T235959Z", 1), ("19991231T000000Z", 604800),
                                       ("2031-07-04T12:00:00+02:00", 90)])
def test_times_and_lifetimes(oracle, stamp, ttl, batch):
    # The library takes the X-Goog-Date text as given; ours parses RFC 3339 too and signs in UTC.
    goog = stamp
    if "-" in stamp:
        t = datetime.datetime.fromisoformat(stamp).astimezone(datetime.timezone.utc)
        goog = t.strftime("%Y%m%dT%H%M%SZ")
    same_url(ours(oracle, "x/y.bin", stamp=stamp, ttl=ttl, batch=batch),
             theirs(oracle, "x/y.bin", stamp=goog, ttl=ttl))


@pytest.mark.parametrize("batch", [False, True], ids=["presign", "batch"])
@pytest.mark.parametrize("endpoint", ["http://localhost:8080", "https://storage.googleapis.com:443"])
def test_endpoint_port_is_kept_in_url_but_not_signed(oracle, endpoint, batch):
    # Google's conformance suite ("Simple GET with non-default hostname", "Simple GET with endpoint
    # on client") keeps the port in the URL but signs `host:` without it, and so do we. The Python
    # library, given such an endpoint, signs the netloc with its port (its own conformance runner
    # never passes one), so it is told the bare host; everything else must still match.
    host = urllib.parse.urlsplit(endpoint).hostname
    same_url(ours(oracle, "dir/a b.txt", endpoint=endpoint, batch=batch),
             theirs(oracle, "dir/a b.txt", endpoint=endpoint, headers={"Host": host}))
