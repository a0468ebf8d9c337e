"""`opensharing check` against an S3 server that verifies signatures (s3s-fs): a good store is
listed, its asset locations found, and a URL signed by the engine is read; credential, endpoint
and addressing mistakes are reported in plain words, with a non-zero exit."""
import json
import subprocess

import pytest

from harness import S3_KEY_ID, S3_SECRET, free_port, s3s_fs, server_binary


@pytest.fixture(scope="module")
def s3(s3_root):
    with s3s_fs(s3_root) as endpoint:
        yield endpoint


def check(tmp_path, **store):
    config = {
        "endpoint": "http://127.0.0.1:1/delta-sharing",
        "stores": {"lake": {"kind": "s3", "bucket": "lake", "region": "us-east-1", "path_style": True,
                            "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET, **store}},
        "shares": [{"name": "s", "schemas": [{"name": "d", "assets": [
            {"type": "delta_table", "name": "basic", "store": "lake", "path": "tables/basic"}]}]}],
    }
    path = tmp_path / "check.json"
    path.write_text(json.dumps(config))
    run = subprocess.run([str(server_binary()), "check", "--config", str(path)], capture_output=True, text=True,
                         timeout=60)
    return run.returncode, run.stdout


def test_good_store_is_listed_signed_and_read(s3, tmp_path):
    code, out = check(tmp_path, endpoint=s3)
    assert code == 0, out
    assert "s.d.basic: found tables/basic/" in out
    assert "a signed URL for 'tables/basic/" in out and "can be read" in out


@pytest.mark.parametrize("store, advice", [
    ({"secret_access_key": "wrong-secret"}, "the secret access key is wrong"),
    ({"access_key_id": "AKIAUNKNOWN"}, "access key id"),
    ({"bucket": "nobucket"}, "does not exist"),
    ({"path_style": False}, '"path_style": true'),
], ids=["secret", "key-id", "bucket", "virtual-hosted-ip"])
def test_mistakes_are_explained(s3, tmp_path, store, advice):
    code, out = check(tmp_path, endpoint=s3, **store)
    assert code != 0 and "FAILED" in out and advice in out, out
    assert "wrong-secret" not in out and S3_SECRET not in out


def test_unreachable_endpoint(tmp_path):
    code, out = check(tmp_path, endpoint=f"http://127.0.0.1:{free_port()}")
    assert code != 0 and "cannot be reached" in out, out
