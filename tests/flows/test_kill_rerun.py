"""Crash safety: a demo build SIGKILLed at several points and rerun equals an uninterrupted build, byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli import main

CLIPS, SEED = 12, 3


def _demo_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "demo", "--out", str(out), "--clips", str(CLIPS),
            "--seed", str(SEED), "--quiet"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _count(root: Path, pattern: str) -> int:
    return sum(1 for _ in root.glob(pattern)) if root.exists() else 0


def _kill_when(out: Path, pattern: str, more: int, timeout_s: float = 90.0) -> str:
    """Start a build into ``out``; SIGKILL it once ``more`` new files match ``pattern``. Returns what happened."""
    baseline = _count(out, pattern)
    proc = subprocess.Popen(_demo_cmd(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if _count(out, pattern) >= baseline + more:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                return "killed"
            if proc.poll() is not None:
                return f"finished before the kill point (rc {proc.returncode})"
            time.sleep(0.005)
        raise AssertionError(f"kill point never reached in {timeout_s} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# Kill points, in build order: while the demo sources are written, while the first clip's audio is written
# (its temporary file counts), and after two more clips are finished (before the manifest is written).
KILL_POINTS = [
    ("composing sources", "sources/audio/*", 1),
    ("writing clip audio", "audio/*/*", 1),
    ("two more clips done", ".records/*.json", 2),
]


@pytest.mark.timeout(240)
def test_sigkill_then_rerun_gives_the_uninterrupted_corpus(tmp_path):
    reference = tmp_path / "A"
    assert main(["demo", "--out", str(reference), "--clips", str(CLIPS), "--seed", str(SEED), "--quiet"]) == 0
    expected = _files(reference)
    assert "manifest.jsonl" in expected and any(k.startswith("audio/") for k in expected)

    out = tmp_path / "B"
    outcomes = [(name, _kill_when(out, pattern, more)) for name, pattern, more in KILL_POINTS]
    assert sum(o == "killed" for _, o in outcomes) >= 2, outcomes  # the kills really interrupted the build
    rerun = subprocess.run(_demo_cmd(out), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

    got = _files(out)
    leftovers = sorted(p for p in got if p.endswith(".part"))
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert sorted(got) == sorted(expected), "file sets differ"
    differing = [p for p in expected if got[p] != expected[p]]
    assert not differing, f"files differ after kill+rerun: {differing}"
