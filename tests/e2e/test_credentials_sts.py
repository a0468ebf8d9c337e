"""Temporary credentials from AWS STS, against moto's STS with IAM authentication on: moto
checks the SigV4 signature of the AssumeRole call the engine builds and `opensharing serve` sends,
and the role's trust and user policies. The vended credentials then read the Delta table
straight from moto's S3 with deltalake (signature-checked again), which is what a `dir`-mode
recipient does."""
import contextlib
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3
import pandas as pd
import pytest
from deltalake import DeltaTable, write_deltalake

from harness import background, free_port, opensharing_serve, read_log

TOKEN = "e2e-sts-token-0123456789"
BUCKET = "lake"
REGION = "us-east-1"
ROLE_NAME = "sharing-reader"
# moto answers this many calls unauthenticated (the IAM setup below), then checks every signature.
SETUP_CALLS = 5


@contextlib.contextmanager
def moto_server(workdir):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
    with background([moto, "-H", "127.0.0.1", "-p", str(port)], workdir / f"moto-{port}.log", endpoint + "/moto-api/",
                    env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}):
        yield endpoint


def client(service, endpoint, key_id="setup", secret="setup"):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def iam_setup(endpoint):
    """A user whose key signs the AssumeRole call, and the role it may assume (exactly
    SETUP_CALLS calls). Returns (key id, secret, role ARN)."""
    iam = client("iam", endpoint)
    user = iam.create_user(UserName="sharing-server")["User"]
    key = iam.create_access_key(UserName="sharing-server")["AccessKey"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user["Arn"]}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]},
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="sharing-server", PolicyName="assume", PolicyDocument=json.dumps(allow))
    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="read", PolicyDocument=json.dumps(read))
    return key["AccessKeyId"], key["SecretAccessKey"], role["Arn"]


def s3_options(endpoint, key_id, secret, token=None):
    options = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ENDPOINT_URL": endpoint,
               "AWS_REGION": REGION, "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    if token:
        options["AWS_SESSION_TOKEN"] = token
    return options


@pytest.fixture(scope="module")
def sts(tmp_path_factory):
    if os.environ.get("OPENSHARING_SKIP_E2E") == "1":
        pytest.skip("OPENSHARING_SKIP_E2E=1")
    work = tmp_path_factory.mktemp("sts")
    with moto_server(work) as endpoint:
        key_id, secret, role_arn = iam_setup(endpoint)
        client("s3", endpoint, key_id, secret).create_bucket(Bucket=BUCKET)
        uri = f"s3://{BUCKET}/tables/orders"
        options = s3_options(endpoint, key_id, secret)
        first = pd.DataFrame({"id": [1, 2, 3], "region": ["eu", "us", "eu"], "amount": [10.5, 20.0, 7.25]})
        write_deltalake(uri, first, partition_by=["region"], storage_options=options)
        second = pd.DataFrame({"id": [4], "region": ["ap"], "amount": [1.0]})
        write_deltalake(uri, second, mode="append", storage_options=options)
        store = {"kind": "s3", "bucket": BUCKET, "region": REGION, "endpoint": endpoint, "path_style": True,
                 "access_key_id": key_id, "secret_access_key": secret,
                 "vend": {"sts": {"role_arn": role_arn, "endpoint": endpoint}}}
        wrong = dict(store, secret_access_key="not-the-secret-" + secret[:4])
        config = {
            "credential_ttl_seconds": 900,
            "stores": {"lake": store, "wrong": wrong},
            "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
                {"type": "delta_table", "name": "orders", "store": "lake", "path": "tables/orders",
                 "history_shared": True},
                {"type": "volume", "name": "files", "store": "wrong", "path": "volumes/files"}]}]}],
            "recipients": [{"name": "e2e", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
                            "shares": ["s"]}],
        }
        with opensharing_serve(config, work) as (url, _, _, log_path):
            yield {"url": url, "moto": endpoint, "options": options, "uri": uri, "log": log_path,
                   "secret": secret, "expected": pd.concat([first, second])}


def post(url, body=b"{}"):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def assumed_roles(moto):
    with urllib.request.urlopen(f"{moto}/moto-api/data.json") as r:
        data = json.loads(r.read())
    roles = data.get("sts", {}).get("AssumedRole", [])
    return roles if isinstance(roles, list) else list(roles.values())


def test_assume_role_is_signed_and_scoped_read_only_to_the_table(sts):
    before = time.time()
    creds = post(f"{sts['url']}/shares/s/schemas/d/tables/orders/temporary-table-credentials")["credentials"]
    assert creds["location"] == f"s3://{BUCKET}/tables/orders"
    aws = creds["awsTempCredentials"]
    assert aws["accessKeyId"].startswith("ASIA") and aws["secretAccessKey"] and aws["sessionToken"]
    assert before + 800 < creds["expirationTime"] / 1000 < time.time() + 1000
    roles = assumed_roles(sts["moto"])
    assert len(roles) == 1, roles
    policy = json.loads(roles[0]["policy"])
    statements = {s["Action"][0]: s for s in policy["Statement"]}
    assert statements["s3:GetObject"]["Resource"] == [f"arn:aws:s3:::{BUCKET}/tables/orders/*"]
    assert statements["s3:ListBucket"]["Condition"]["StringLike"]["s3:prefix"] == ["tables/orders/*"]
    assert roles[0]["role_arn"].endswith(f":role/{ROLE_NAME}")
    assert roles[0]["session_name"] == "opensharing-e2e"
    assert roles[0]["access_key_id"] == aws["accessKeyId"]
    # Asked again: the cached grant comes back, and STS is not called again.
    again = post(f"{sts['url']}/shares/s/schemas/d/tables/orders/temporary-table-credentials")["credentials"]
    assert again["awsTempCredentials"]["accessKeyId"] == aws["accessKeyId"]
    assert len(assumed_roles(sts["moto"])) == 1


def test_vended_credentials_read_the_table_directly(sts):
    aws = post(f"{sts['url']}/shares/s/schemas/d/tables/orders/temporary-table-credentials")["credentials"][
        "awsTempCredentials"]
    options = s3_options(sts["moto"], aws["accessKeyId"], aws["secretAccessKey"], aws["sessionToken"])
    df = DeltaTable(sts["uri"], storage_options=options).to_pandas()
    cols = ["id", "region", "amount"]
    pd.testing.assert_frame_equal(df[cols].sort_values("id").reset_index(drop=True),
                                  sts["expected"][cols].sort_values("id").reset_index(drop=True), check_dtype=False)
    # The same keys without the session token are refused: they really are temporary.
    without_token = s3_options(sts["moto"], aws["accessKeyId"], aws["secretAccessKey"])
    with pytest.raises(Exception):
        DeltaTable(sts["uri"], storage_options=without_token).to_pandas()


def test_the_table_listing_advertises_dir_and_url(sts):
    req = urllib.request.Request(f"{sts['url']}/shares/s/schemas/d/tables", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        item = json.loads(r.read())["items"][0]
    assert item["accessModes"] == ["dir", "url"]
    assert item["location"] == f"s3://{BUCKET}/tables/orders"


def test_a_refused_assume_role_is_a_bad_gateway_logged_without_secrets(sts):
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(f"{sts['url']}/shares/s/schemas/d/volumes/files/temporary-volume-credentials")
    assert refused.value.code == 502
    body = json.loads(refused.value.read())
    assert body["errorCode"] == "CATALOG_ERROR"
    assert "SignatureDoesNotMatch" in body["message"]
    log = read_log(sts["log"])
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    failed = [e for e in events if e.get("route") == "volume_credentials"]
    assert failed and "SignatureDoesNotMatch" in failed[-1].get("detail", ""), failed
    assert sts["secret"] not in log
    assert "Signature=" not in log
