"""Federated recipients against a real OpenID Provider (node's `oidc-provider`): the unmodified
delta-sharing client with a version-2 OAuth profile (client credentials) reads the demo table
through `opensharing serve`; tokens that must not pass (another client, another audience,
HS256 with the client secret, alg none, altered claims, expired, a key rotated out) are 401 and
the server keeps serving; the JWKS is fetched once for many requests and a flood of unknown
kids adds at most one fetch; the server log never holds a token."""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import delta_sharing
import pytest
from deltalake import DeltaTable

from harness import background, free_port, opensharing_serve, read_log, same_rows

HERE = pathlib.Path(__file__).resolve().parent
NODE_OIDC = os.environ.get("OPENSHARING_NODE_OIDC",
                           str(pathlib.Path.home() / ".cache/opensharing-ci/node-oidc"))
AUDIENCE = "https://opensharing.test/api"
TABLE = "demo.default.trips"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@contextlib.contextmanager
def oidc_provider(workdir: pathlib.Path, kid: str, port: int = 0):
    """`oidc-provider` on loopback with a fresh RSA key named `kid`. Yields its issuer URL."""
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    argv = ["node", str(HERE / "oidc_provider.mjs"), str(port), AUDIENCE, kid]
    with background(argv, workdir / f"oidc-{port}-{kid}.log", issuer + "/.well-known/openid-configuration",
                    env={"OPENSHARING_NODE_OIDC": NODE_OIDC}):
        yield issuer


def token(issuer: str, client: str, resource: str = None) -> str:
    body = "grant_type=client_credentials&scope=share"
    if resource:
        body += "&resource=" + urllib.parse.quote(resource, safe="")
    basic = base64.b64encode(f"{client}:{client}-secret".encode()).decode()
    req = urllib.request.Request(issuer + "/token", data=body.encode(), method="POST", headers={
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["access_token"]


def counts(issuer: str) -> dict:
    with urllib.request.urlopen(issuer + "/test/counts", timeout=10) as r:
        return json.load(r)


def call(url: str, bearer: str, data: bytes = None):
    """GET `url` (POST `data` when given) with `bearer`: (status, headers, body)."""
    req = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {bearer}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def config(demo_dir: pathlib.Path, issuer: str) -> dict:
    cfg = json.loads((demo_dir / "opensharing.json").read_text())
    cfg["oidc_issuers"] = [{"issuer": issuer, "audiences": [AUDIENCE], "leeway_seconds": 0}]
    cfg["recipients"].append({"name": "federated-reader", "shares": ["demo"],
                              "oidc": {"issuer": issuer, "subject": "reader"}})
    return cfg


def assert_refused(url: str, bearer: str, why: str):
    status, headers, body = call(url + "/shares", bearer)
    assert status == 401, (why, status, body)
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"', why
    assert json.loads(body) == {"errorCode": "UNAUTHENTICATED", "message": "The bearer token is not valid"}, why


def resign(jwt: str, header: dict = None, claims: dict = None, signature: bytes = None) -> str:
    """The token with its header and claims changed, keeping its signature unless given one."""
    h, c, s = jwt.split(".")
    head = b64(json.dumps(header).encode()) if header is not None else h
    payload = b64(json.dumps(claims).encode()) if claims is not None else c
    return f"{head}.{payload}.{b64(signature) if signature is not None else s}"


@pytest.fixture(scope="module")
def federation(demo_dir, tmp_path_factory):
    if shutil.which("node") is None or not (pathlib.Path(NODE_OIDC) / "node_modules/oidc-provider").exists():
        pytest.fail("node and oidc-provider are needed (scripts/setup.sh installs them)")
    work = tmp_path_factory.mktemp("oidc")
    with oidc_provider(work, "key-a") as issuer:
        with opensharing_serve(config(demo_dir, issuer), demo_dir) as (url, _, proc, log_path):
            yield {"issuer": issuer, "url": url, "proc": proc, "log": log_path, "work": work, "dir": demo_dir}


def test_delta_sharing_client_reads_with_an_oauth_profile(federation):
    profile = federation["work"] / "oauth-profile.json"
    profile.write_text(json.dumps({
        "shareCredentialsVersion": 2, "type": "oauth_client_credentials", "endpoint": federation["url"],
        "tokenEndpoint": federation["issuer"] + "/token", "clientId": "reader", "clientSecret": "reader-secret",
        "scope": "share"}))
    client = delta_sharing.SharingClient(str(profile))
    assert [s.name for s in client.list_shares()] == ["demo"]
    df = delta_sharing.load_as_pandas(f"{profile}#{TABLE}")
    same_rows(df, DeltaTable(str(federation["dir"] / "data" / "trips")).to_pandas(), key="trip_id")
    audit = [json.loads(line) for line in read_log(federation["log"]).splitlines() if '"oidc"' in line]
    assert audit and all(a["recipient"] == "federated-reader" and a["sub"] == "reader"
                         and a["iss"] == federation["issuer"] for a in audit)


def test_keys_are_fetched_once_for_many_requests(federation):
    bearer = token(federation["issuer"], "reader")
    assert call(federation["url"] + "/shares", bearer)[0] == 200
    before = counts(federation["issuer"])
    for _ in range(30):
        fresh = token(federation["issuer"], "reader")
        assert call(federation["url"] + "/shares", fresh)[0] == 200
        assert call(federation["url"] + "/shares", bearer)[0] == 200
    assert counts(federation["issuer"]) == before
    assert before["jwks"] == 1, before


def test_tokens_that_must_not_pass_are_401(federation):
    url, issuer = federation["url"], federation["issuer"]
    good = token(issuer, "reader")
    header, claims = (json.loads(unb64(part)) for part in good.split(".")[:2])
    assert (header["alg"], claims["sub"], claims["aud"]) == ("RS256", "reader", AUDIENCE)
    assert_refused(url, token(issuer, "stranger"), "another client of the IdP")
    assert_refused(url, token(issuer, "reader", resource="https://other.test/api"), "another audience")
    hs_header = dict(header, alg="HS256")
    signing_input = resign(good, header=hs_header).rsplit(".", 1)[0].encode()
    hs256 = hmac.new(b"reader-secret", signing_input, hashlib.sha256).digest()
    assert_refused(url, resign(good, header=hs_header, signature=hs256), "HS256 with the client secret")
    assert_refused(url, resign(good, header={"alg": "none", "typ": "at+jwt"}, signature=b""), "alg none")
    assert_refused(url, resign(good, claims=dict(claims, scope="share admin")), "altered claims")
    assert_refused(url, resign(good, claims=dict(claims, exp=claims["exp"] + 86400)), "altered expiry")
    # `short` tokens live 30 s; the issuer allows no leeway in this configuration.
    short_cfg_token = token(issuer, "short")
    short_claims = json.loads(unb64(short_cfg_token.split(".")[1]))
    assert short_claims["exp"] - short_claims["iat"] == 30
    # The same expired token, presented after its expiry, as the provider issued it. (Waiting
    # 30 s is the honest way to get one the IdP signed.)
    expired = resign(good, claims=dict(claims, exp=int(time.time()) - 5))
    assert_refused(url, expired, "expired (re-signed claims are refused before the signature)")
    time.sleep(max(0, short_claims["exp"] - time.time()) + 1.5)
    assert_refused(url, short_cfg_token, "expired")
    assert call(url + "/shares", good)[0] == 200, "the server still serves"
    log = read_log(federation["log"])
    details = [json.loads(line).get("detail", "") for line in log.splitlines() if '"status":401' in line]
    assert any("expired" in d for d in details) and any("HS256" in d for d in details), details
    assert any("audience" in d for d in details) and any("no recipient" in d for d in details), details


def test_unknown_kids_cause_at_most_one_fetch(federation):
    url, issuer = federation["url"], federation["issuer"]
    good = token(issuer, "reader")
    header = json.loads(unb64(good.split(".")[0]))
    before = counts(issuer)["jwks"]
    for i in range(200):
        assert_refused(url, resign(good, header=dict(header, kid=f"junk-{i}")), "unknown kid")
    assert counts(issuer)["jwks"] - before <= 1


def test_a_key_rotated_out_of_the_jwks_is_refused(federation, demo_dir, tmp_path):
    """The provider restarts with a new key on the same address: a token signed with the old key
    is refused by a server that fetches the new key set, and the new key's tokens pass."""
    port = free_port()
    with oidc_provider(tmp_path, "key-old", port) as issuer:
        old = token(issuer, "reader")
    with oidc_provider(tmp_path, "key-new", port) as issuer:
        new = token(issuer, "reader")
        with opensharing_serve(config(demo_dir, issuer), demo_dir) as (url, _, _, log_path):
            assert_refused(url, old, "key rotated out")
            assert call(url + "/shares", new)[0] == 200
            assert "unknown kid" in read_log(log_path)


def test_no_token_in_the_server_log(federation):
    log = read_log(federation["log"])
    assert "eyJ" not in log
    assert "reader-secret" not in log
    assert federation["proc"].poll() is None, "the server is still running"
