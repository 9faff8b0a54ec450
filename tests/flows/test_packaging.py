"""A non-editable install works away from the source tree: the demo finds its kit as package data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_wheel_installed_elsewhere_builds_the_demo(tmp_path):
    dist, site, work = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True,
                   cwd=tmp_path, capture_output=True)
    (wheel,) = dist.glob("fakesound-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, capture_output=True)
    # the installed copy comes first on the path, and the source tree is not reachable from the working folder
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    code = ("import sys, pipeline; from flows.cli import main; print(pipeline.__file__); "
            "sys.exit(main(['demo', '--out', 'X', '--clips', '8', '--quiet']))")
    run = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[0].startswith(str(site))  # the installed package ran, not the source tree
    assert "8 clips, 4 fake" in run.stdout
    assert (work / "X" / "LICENSES.md").read_text() == (ROOT / "pipeline" / "demo_kit" / "LICENSES.md").read_text()
    version = subprocess.run([sys.executable, "-c", "from flows.cli import main; main(['--version'])"], cwd=work,
                             env=env, capture_output=True, text=True)
    assert version.stdout.strip() == "fakesound 0.1.0"
