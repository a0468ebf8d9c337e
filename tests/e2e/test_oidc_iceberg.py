"""Federated recipients on the Iceberg REST catalog: the unmodified pyiceberg 0.12 `RestCatalog`,
configured with `credential="client_id:client_secret"` and `oauth2-server-uri`, gets an RS256 JWT
from a real OpenID Provider (node's `oidc-provider`) and reads, through `opensharing serve`, an
Iceberg table that pyiceberg's own SQL catalog wrote into s3s-fs. The store vends nothing, so
every S3 read goes through our remote signer with that JWT too.

pyiceberg 0.12 fetches the token itself (`LegacyOAuth2AuthManager`): it posts `grant_type=
client_credentials`, `client_id` and `client_secret` in the form body (`client_secret_post`),
with `scope` (default `catalog`) and the `audience` and `resource` catalog properties when set.
The provider names our audience from `resource`. A client of the same IdP that matches no
recipient gets 401, which pyiceberg raises as its own `UnauthorizedError`."""
import json
import pathlib
import shutil

import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import UnauthorizedError

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, read_log, s3s_fs
from test_credentials_sts import BUCKET, REGION
from test_iceberg import TOKEN, share_config, sorted_rows, write_table
from test_oidc import AUDIENCE, NODE_OIDC, call, oidc_provider, token

RECIPIENT = "federated-iceberg"


def routes(log: pathlib.Path, prefix: str = "iceberg_") -> list:
    events = (json.loads(line) for line in read_log(log).splitlines() if line.startswith("{"))
    return [e for e in events if e.get("route", "").startswith(prefix)]


@pytest.fixture(scope="module")
def federated(tmp_path_factory):
    if shutil.which("node") is None or not (pathlib.Path(NODE_OIDC) / "node_modules/oidc-provider").exists():
        pytest.fail("node and oidc-provider are needed (scripts/setup.sh installs them)")
    work = tmp_path_factory.mktemp("oidc-iceberg")
    (work / "s3" / BUCKET).mkdir(parents=True)
    with oidc_provider(work, "key-ice") as issuer, s3s_fs(work / "s3") as endpoint:
        writer, _ = write_table(work, endpoint, S3_KEY_ID, S3_SECRET)
        store = {"kind": "s3", "bucket": BUCKET, "region": REGION, "endpoint": endpoint, "path_style": True,
                 "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}
        config = share_config(store)
        config["oidc_issuers"] = [{"issuer": issuer, "audiences": [AUDIENCE]}]
        config["recipients"].append({"name": RECIPIENT, "shares": ["s"],
                                     "oidc": {"issuer": issuer, "subject": "pyiceberg"}})
        with opensharing_serve(config, work) as (url, _, proc, log):
            yield {"url": url, "issuer": issuer, "writer": writer, "log": log, "proc": proc}


def catalog(share, client="pyiceberg"):
    """A RestCatalog that signs in to the IdP as `client`, as pyiceberg's documentation shows."""
    return load_catalog("federated", type="rest", uri=share["url"] + "/iceberg", warehouse="s",
                        credential=f"{client}:{client}-secret", scope="share", resource=AUDIENCE,
                        **{"oauth2-server-uri": share["issuer"] + "/token"})


def test_pyiceberg_reads_with_a_token_from_the_idp(federated):
    cat = catalog(federated)
    assert cat.list_namespaces() == [("ns",)]
    assert cat.list_tables("ns") == [("ns", "trips")]
    table = cat.load_table("ns.trips")
    written = federated["writer"].load_table("ns.trips")
    assert table.metadata_location == written.metadata_location
    rows = sorted_rows(table.scan().to_arrow())
    assert rows == sorted_rows(written.scan().to_arrow())
    assert [r["id"] for r in rows] == [1, 3, 4, 5, 6]
    events = routes(federated["log"])
    seen = {e["route"] for e in events}
    assert {"iceberg_config", "iceberg_list_namespaces", "iceberg_list_tables", "iceberg_load_table",
            "iceberg_sign"} <= seen, seen
    assert all(e["status"] == 200 and e["recipient"] == RECIPIENT and e["auth"] == "oidc"
               and e["sub"] == "pyiceberg" and e["iss"] == federated["issuer"] for e in events), events[:3]
    signed = [e for e in events if e["route"] == "iceberg_sign"]
    assert len(signed) >= 4, "every S3 read was signed for the federated recipient (s3s-fs checks each)"


def test_a_stranger_of_the_same_idp_is_refused(federated):
    before = len(routes(federated["log"]))
    with pytest.raises(UnauthorizedError):
        catalog(federated, client="pyiceberg-stranger")
    refused = routes(federated["log"])[before:]
    assert refused and all(e["status"] == 401 and "recipient" not in e for e in refused), refused
    assert all(e["sub"] == "pyiceberg-stranger" and "no recipient" in e["detail"] for e in refused), refused


def test_a_refused_token_is_an_iceberg_401_with_the_invalid_token_challenge(federated):
    config = federated["url"] + "/iceberg/v1/config?warehouse=s"
    stranger = token(federated["issuer"], "stranger")
    sign = federated["url"] + "/iceberg/v1/shares/s/namespaces/ns/tables/trips/sign"
    for url, bearer in [(config, stranger), (config, TOKEN + "-wrong"), (sign, stranger)]:
        status, headers, body = call(url, bearer, data=b"{}" if url == sign else None)
        assert status == 401, (url, status, body)
        assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert json.loads(body) == {"error": {"message": "The bearer token is not valid",
                                              "type": "NotAuthorizedException", "code": 401}}
    assert call(config, TOKEN)[0] == 200, "opaque tokens still pass"


def test_no_token_in_the_server_log(federated):
    log = read_log(federated["log"])
    assert "eyJ" not in log, "no JWT"
    assert "pyiceberg-secret" not in log and TOKEN not in log and S3_SECRET not in log
    assert federated["proc"].poll() is None, "the server is still running"
