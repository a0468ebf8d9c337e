"""`opensharing get` and `opensharing ls`, the recipient side, against `opensharing serve`: a skill
and model versions (by number, by alias, the latest) are downloaded through the files listing
from a local store and from s3s-fs (which verifies SigV4), compared byte for byte with the
source, and a partial download (one file deleted, one truncated) is resumed fetching only
those two. The bundled demo's skill downloads as the README shows."""
import hashlib
import json
import os
import pathlib
import subprocess

import pytest

from harness import S3_KEY_ID, S3_SECRET, opensharing_serve, profile, s3s_fs, server_binary

TOKEN = "get-test-token"
BUCKET = "assets"
FILES = {
    "skills/report/SKILL.md": b"---\nname: report\ndescription: Writes reports\n---\nSteps.\n",
    "skills/report/scripts/run.py": b"print('report')\n",
    "skills/report/data/empty.txt": b"",
    "skills/report/data/big.bin": os.urandom(3 * 1024 * 1024 + 17),
    "skills/report/a b/c+d=e.txt": b"awkward name\n",
    "models/fare/1/MLmodel": b"flavors: {}\nversion: 1\n",
    "models/fare/2/MLmodel": b"flavors: {}\nversion: 2\n",
    "models/fare/2/weights/model.bin": os.urandom(1024 * 1024),
}


def write_tree(root: pathlib.Path):
    for key, data in FILES.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def config(store):
    return {
        "stores": {"st": store},
        "shares": [{"name": "share", "schemas": [{"name": "default", "assets": [
            {"type": "skill", "name": "report", "store": "st", "path": "skills/report",
             "description": "Writes reports"},
            {"type": "model", "name": "fare", "store": "st",
             "versions": [{"version": 1, "path": "models/fare/1"}, {"version": 2, "path": "models/fare/2"}],
             "aliases": {"champion": 2}}]}]}],
        "recipients": [{"name": "r", "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(), "shares": ["share"]}],
    }


@pytest.fixture(scope="module", params=["local", "s3s-fs"])
def served(request, tmp_path_factory):
    """`opensharing serve` over the test tree in a local store or in s3s-fs; yields a profile."""
    work = tmp_path_factory.mktemp(f"get-{request.param}")
    if request.param == "local":
        write_tree(work / "tree")
        with opensharing_serve(config({"kind": "local", "root": str(work / "tree")}), work) as (url, *_):
            yield profile(work, url, TOKEN)
        return
    write_tree(work / "s3" / BUCKET)
    with s3s_fs(work / "s3") as endpoint:
        store = {"kind": "s3", "bucket": BUCKET, "region": "us-east-1", "endpoint": endpoint, "path_style": True,
                 "access_key_id": S3_KEY_ID, "secret_access_key": S3_SECRET}
        with opensharing_serve(config(store), work) as (url, *_):
            yield profile(work, url, TOKEN)


def get(*args):
    return subprocess.run([str(server_binary()), "get", *map(str, args)], capture_output=True, text=True)


def tree(root: pathlib.Path):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def source(prefix):
    return {key[len(prefix):]: data for key, data in FILES.items() if key.startswith(prefix)}


def test_get_downloads_a_skill_byte_for_byte_and_resumes(served, tmp_path):
    out = tmp_path / "report"
    run = get(f"{served}#share.default.report", "--out", out)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == "", "quiet when not on a terminal"
    assert tree(out) == source("skills/report/")

    # A partial earlier run: one file missing, one cut short. Only those two are fetched again.
    (out / "scripts/run.py").unlink()
    with open(out / "data/big.bin", "r+b") as f:
        f.truncate(1000)
    kept = {p: (out / p).stat().st_ino for p in ("SKILL.md", "a b/c+d=e.txt", "data/empty.txt")}
    big_inode = (out / "data/big.bin").stat().st_ino
    run = get(f"{served}#share.default.report", "--out", out, "--parallel", "2")
    assert run.returncode == 0, run.stderr
    assert tree(out) == source("skills/report/")
    assert {p: (out / p).stat().st_ino for p in kept} == kept, "files already complete are not fetched"
    assert (out / "data/big.bin").stat().st_ino != big_inode, "the truncated file is fetched again"
    assert not list(out.rglob("*.opensharing-partial"))


@pytest.mark.parametrize("choice, version", [(["--version", "1"], 1), (["--alias", "champion"], 2), ([], 2)],
                         ids=["version", "alias", "latest"])
def test_get_downloads_a_model_version(served, tmp_path, choice, version):
    out = tmp_path / "model"
    run = get(f"{served}#share.default.fare", *choice, "--out", out)
    assert run.returncode == 0, run.stderr
    assert tree(out) == source(f"models/fare/{version}/")


def test_get_errors_are_clear_and_fail(served, tmp_path):
    missing = get(f"{served}#share.default.nope", "--out", tmp_path / "x")
    assert missing.returncode != 0 and "'share.default.nope' is not a volume, a skill or a model" in missing.stderr
    no_version = get(f"{served}#share.default.fare", "--version", "9", "--out", tmp_path / "x")
    assert no_version.returncode != 0 and "has no version '9'" in no_version.stderr
    bad_target = get(served, "--out", tmp_path / "x")
    assert bad_target.returncode != 0 and "PROFILE#share.schema.asset" in bad_target.stderr
    assert "panicked" not in missing.stderr + no_version.stderr + bad_target.stderr


def test_ls_lists_shares_schemas_and_assets(served):
    def ls(target):
        run = subprocess.run([str(server_binary()), "ls", target], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout.splitlines()

    assert ls(served) == ["share"]
    assert ls(f"{served}#share") == ["share.default"]
    assert [line.split() for line in ls(f"{served}#share.default")] == [
        ["model", "share.default.fare"], ["skill", "share.default.report"]]


def test_get_the_demo_skill_as_the_readme_shows(demo_dir, tmp_path):
    config_json = json.loads((demo_dir / "opensharing.json").read_text())
    with opensharing_serve(config_json, demo_dir) as (url, *_):
        demo_profile = profile(tmp_path, url, "opensharing-demo-token")
        out = tmp_path / "skills" / "fare-report"
        run = get(f"{demo_profile}#demo.default.fare-report", "--out", out)
        assert run.returncode == 0, run.stderr
        assert tree(out) == tree(demo_dir / "data/skills/fare-report")
