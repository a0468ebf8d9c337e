"""`opensharing serve` as an operator runs it: health, body limit, hot reload without failed
requests, revocation, expired file URLs, logs without secrets, and the operator commands."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import delta_sharing

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, profile, s3s_fs, server_binary

DEMO_TOKEN = "opensharing-demo-token"


def demo(demo_dir, **changes):
    config = json.loads((demo_dir / "opensharing.json").read_text())
    config.update(changes)
    return config


def call(url, token=DEMO_TOKEN, data=None):
    req = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_health_and_body_limit(demo_dir):
    with opensharing_serve(demo(demo_dir), demo_dir) as (url, _, _, _):
        with urllib.request.urlopen(url.replace("/delta-sharing", "/healthz")) as r:
            assert r.status == 200
        status, body = call(f"{url}/shares/demo/schemas/default/tables/trips/query", data=b"{" + b" " * (2 << 20) + b"}")
        assert status == 413 and json.loads(body)["errorCode"] == "MALFORMED_REQUEST"


def test_hot_reload_revokes_without_failing_requests(demo_dir, tmp_path):
    other_hash = "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"  # sha256("foobar")
    config = demo(demo_dir)
    config["recipients"].append({"name": "temp", "token_sha256": other_hash, "shares": ["demo"]})
    with opensharing_serve(config, demo_dir) as (url, path, proc, log_path):
        assert call(f"{url}/shares", token="foobar")[0] == 200
        failures, done = [], threading.Event()

        def hammer():
            while not done.is_set():
                status, _ = call(f"{url}/shares/demo/all-tables")
                if status != 200:
                    failures.append(status)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.3)
        config["recipients"] = [r for r in config["recipients"] if r["name"] != "temp"]
        config["endpoint"] = json.loads(path.read_text())["endpoint"]
        path.write_text(json.dumps(config))
        proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while call(f"{url}/shares", token="foobar")[0] != 401 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        done.set()
        for w in workers:
            w.join()
        assert call(f"{url}/shares", token="foobar")[0] == 401, "the removed recipient is revoked"
        assert failures == [], "no request failed during the reload"
        # A broken config is refused and the server keeps serving the last good one.
        path.write_text("{ not json")
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert call(f"{url}/shares")[0] == 200
        log = log_path.read_text()
        assert '"event":"reloaded"' in log and '"event":"reload_failed"' in log
        assert DEMO_TOKEN not in log and "foobar" not in log


def test_expired_file_urls_are_refused(demo_dir):
    with opensharing_serve(demo(demo_dir, url_ttl_seconds=1), demo_dir) as (url, _, _, _):
        status, body = call(f"{url}/shares/demo/schemas/default/tables/trips/query", data=b"{}")
        file_url = json.loads(body.decode().splitlines()[2])["file"]["url"]
        assert call(file_url)[0] == 200
        time.sleep(1.2)
        assert call(file_url)[0] == 403


def test_recipient_add_prints_the_token_once_and_stores_its_hash(demo_dir, tmp_path):
    config_path = tmp_path / "config.json"
    config = demo(demo_dir)
    config["stores"]["demo"]["root"] = str(demo_dir / "data")
    config_path.write_text(json.dumps(config))
    out = subprocess.run([str(server_binary()), "recipient", "add", "newco", "--share", "demo", "--config",
                          str(config_path), "--profile", str(tmp_path / "newco.json")],
                         check=True, capture_output=True, text=True).stdout
    token = out.split("token (shown once): ")[1].split()[0]
    stored = config_path.read_text()
    assert token not in stored and '"newco"' in stored
    prof = json.loads((tmp_path / "newco.json").read_text())
    assert prof["bearerToken"] == token and prof["shareCredentialsVersion"] == 1
    with opensharing_serve(json.loads(stored), demo_dir) as (url, _, _, _):
        assert call(f"{url}/shares", token=token)[0] == 200
        assert len(delta_sharing.load_as_pandas(f"{profile(tmp_path, url, token)}#demo.default.trips")) == 8


def test_check_reports_store_problems_in_plain_words(s3_root, tmp_path):
    with s3s_fs(s3_root) as endpoint:
        def check(secret, path_style=True):
            config = {"stores": {"lake": {"kind": "s3", "bucket": "lake", "region": "us-east-1", "endpoint": endpoint,
                                          "path_style": path_style, "access_key_id": S3_KEY_ID,
                                          "secret_access_key": secret}}}
            path = tmp_path / "check.json"
            path.write_text(json.dumps(config))
            return subprocess.run([str(server_binary()), "check", "--config", str(path)], capture_output=True, text=True)
        ok = check(S3_SECRET)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "store 'lake'" in ok.stdout and "ok" in ok.stdout
        assert "signed URL for" in ok.stdout and "read" in ok.stdout, ok.stdout
        bad = check("wrong-secret")
        assert bad.returncode != 0
        assert "secret access key is wrong" in bad.stdout, bad.stdout
        assert "wrong-secret" not in bad.stdout + bad.stderr
