"""Recipient access through `opensharing serve`: token rotation with a grace period (`recipient
rotate`, `--grace 0`, `recipient revoke`), IP access lists (403 from a non-listed loopback
address, `X-Forwarded-For` believed only from a trusted proxy) and rate limits (429 with
`Retry-After`). The server's log never holds a token, and says why a request was refused."""
import json
import subprocess
import time

import delta_sharing
import pytest

from harness import opensharing_serve, read_log, server_binary
from test_server import DEMO_TOKEN, call, demo_config, sha256, wait_until

SHARES = "/shares"


def cli(*args):
    run = subprocess.run([str(server_binary()), *map(str, args)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def token_of(output):
    return output.split("token (shown once): ")[1].split()[0]


def log_events(log_path):
    return [json.loads(line) for line in read_log(log_path).splitlines() if line.startswith("{")]


@pytest.fixture()
def served(demo_dir):
    """A fresh server on the demo share; yields (url, config path, log path)."""
    with opensharing_serve(demo_config(demo_dir), demo_dir) as (url, config_path, _proc, log_path):
        yield url, config_path, log_path


def rewrite(config_path, url, **changes):
    config = json.loads(config_path.read_text())
    config.update(changes)
    config_path.write_text(json.dumps(config, indent=2))
    time.sleep(0.3)


def test_rotation_keeps_old_tokens_for_the_grace_period_then_revokes(served, tmp_path):
    url, config_path, log_path = served
    first = token_of(cli("recipient", "add", "acme", "--share", "demo", "--config", config_path))
    wait_until(lambda: call(url + SHARES, first)[0] == 200, what="added recipient served")

    out = tmp_path / "acme.share"
    rotated = cli("recipient", "rotate", "acme", "--grace", "3s", "--config", config_path, "--profile", out)
    second = token_of(rotated)
    assert second != first and "1 old token(s) keep working until" in rotated
    stored = next(r for r in json.loads(config_path.read_text())["recipients"] if r["name"] == "acme")
    assert "token_sha256" not in stored and [t["sha256"] for t in stored["tokens"]] == [sha256(second), sha256(first)]
    assert "expires_at" not in stored["tokens"][0] and stored["tokens"][1]["expires_at"].endswith("Z")
    wait_until(lambda: call(url + SHARES, second)[0] == 200, what="rotated token served")
    assert call(url + SHARES, first)[0] == 200, "the old token works during the grace period"
    assert [s.name for s in delta_sharing.SharingClient(str(out)).list_shares()] == ["demo"]
    wait_until(lambda: call(url + SHARES, first)[0] == 401, timeout=6, what="old token expired after the grace")
    assert call(url + SHARES, second)[0] == 200

    third = token_of(cli("recipient", "rotate", "acme", "--grace", "0", "--config", config_path))
    wait_until(lambda: call(url + SHARES, third)[0] == 200, what="second rotation served")
    assert call(url + SHARES, second)[0] == 401, "--grace 0 revokes the old token at once"

    assert "1 token(s) revoked" in cli("recipient", "revoke", "acme", "--config", config_path)
    wait_until(lambda: call(url + SHARES, third)[0] == 401, what="revoked")
    assert call(url + SHARES, DEMO_TOKEN)[0] == 200, "other recipients are untouched"

    missing = subprocess.run([str(server_binary()), "recipient", "rotate", "nobody", "--config", str(config_path)],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "no recipient named 'nobody'" in missing.stderr
    log = read_log(log_path)
    for token in (first, second, third):
        assert token not in log


def test_ip_access_lists_refuse_other_addresses_and_trust_only_listed_proxies(served):
    url, config_path, log_path = served
    base = demo_config(config_path.parent)
    recipients = base["recipients"] + [
        {"name": "here", "token_sha256": sha256("here-token"), "shares": ["demo"], "ip_access_list": ["127.0.0.1/32"]},
        {"name": "there", "token_sha256": sha256("there-token"), "shares": ["demo"],
         "ip_access_list": ["127.0.0.2/32", "2001:db8::/32"]},
    ]
    rewrite(config_path, url, recipients=recipients)
    wait_until(lambda: call(url + SHARES, "here-token")[0] == 200, what="listed address admitted")
    status, _, body = call(url + SHARES, "there-token")
    assert (status, json.loads(body)["errorCode"]) == (403, "PERMISSION_DENIED")
    # Without trusted proxies, X-Forwarded-For is ignored.
    assert call(url + SHARES, "there-token", headers={"X-Forwarded-For": "127.0.0.2"})[0] == 403

    rewrite(config_path, url, recipients=recipients, trusted_proxies=["127.0.0.1/32"])
    wait_until(lambda: call(url + SHARES, "there-token", headers={"X-Forwarded-For": "127.0.0.2"})[0] == 200,
               what="client behind a trusted proxy admitted")
    # The right-most untrusted address is the client: a spoofed entry left of it does not help.
    assert call(url + SHARES, "there-token", headers={"X-Forwarded-For": "127.0.0.2, 198.51.100.7"})[0] == 403
    assert call(url + SHARES, "there-token")[0] == 403, "the proxy itself is not in the list"

    refusals = [e for e in log_events(log_path) if e.get("status") == 403 and e.get("recipient") == "there"]
    assert refusals and all("ip_access_list" in e.get("detail", "") for e in refusals), refusals
    assert "198.51.100.7" in json.dumps(refusals)
    assert "there-token" not in read_log(log_path)


def test_rate_limits_answer_429_with_retry_after(served):
    url, config_path, log_path = served
    recipients = demo_config(config_path.parent)["recipients"] + [
        {"name": "slow", "token_sha256": sha256("slow-token"), "shares": ["demo"],
         "rate_limit": {"requests_per_second": 0.5, "burst": 2}}]
    rewrite(config_path, url, recipients=recipients, rate_limit={"requests_per_second": 1000, "burst": 1000})
    wait_until(lambda: call(url + SHARES, "slow-token")[0] in (200, 429), what="limited recipient served")
    answers = [call(url + SHARES, "slow-token") for _ in range(3)]
    limited = [a for a in answers if a[0] == 429]
    assert limited, [a[0] for a in answers]
    status, headers, body = limited[0]
    assert json.loads(body)["errorCode"] == "RESOURCE_EXHAUSTED"
    assert 1 <= int(headers["Retry-After"]) <= 2
    assert call(url + SHARES, DEMO_TOKEN)[0] == 200, "another recipient has its own bucket"
    time.sleep(int(headers["Retry-After"]))
    assert call(url + SHARES, "slow-token")[0] == 200, "allowed again after Retry-After"
    events = [e for e in log_events(log_path) if e.get("status") == 429]
    assert events and all(e["recipient"] == "slow" and "rate limit" in e["detail"] for e in events)
    assert "slow-token" not in read_log(log_path)
