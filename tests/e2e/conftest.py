"""Shared fixtures: real Delta tables (deltalake) and the servers that share them."""
import pathlib
import shutil
import subprocess
import sys

import pytest

from harness import ROOT

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def s3_root(tmp_path_factory):
    """An s3s-fs data directory whose bucket `lake` holds the test tables."""
    root = tmp_path_factory.mktemp("s3")
    subprocess.run([sys.executable, str(HERE / "make_tables.py"), str(root / "lake" / "tables")], check=True,
                   stdout=subprocess.DEVNULL)
    return root


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A copy of the bundled demo (config and data), so tests may edit the config."""
    target = tmp_path_factory.mktemp("demo") / "demo"
    shutil.copytree(ROOT / "demo", target)
    return target
