"""A full disk during a build: one clear error, nothing partial where a finished file would be, and the rerun
after space is freed ends byte-identical to a build that never failed.

The disk fills (ENOSPC) inside the project's atomic writer, the one place every corpus file is written, at the
first write of one kind: a clip's audio, a finished job's record, or the manifest. A real full tmpfs is also
tried where this process may mount one.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline.atomic
from flows.build import build_demo, thread_executor
from flows.cli import main
from pipeline.atomic import DiskFull
from pipeline.engine import BuildIncomplete
from pipeline.manifest import read_manifest

CLIPS, SEED = 6, 4
KINDS = {
    "audio": lambda name: "/audio/" in name and name.endswith(".wav.part"),
    "record": lambda name: "/.records/" in name,
    "manifest": lambda name: Path(name).name.startswith(".manifest.jsonl."),
}


def _build(out: Path) -> None:
    build_demo(out, CLIPS, SEED, executor=thread_executor(2, progress=False))


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("reference")
    _build(out)
    return _tree(out)


class _FullDiskOs:
    """``os`` as the atomic writer sees it, except that the first fsync of a matching file fails with ENOSPC."""

    def __init__(self, matches):
        self.matches, self.failed_on = matches, None

    def __getattr__(self, name):
        return getattr(os, name)

    def fsync(self, fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if self.failed_on is None and self.matches(name):
            self.failed_on = name
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the file being written")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_enospc_is_one_clear_error_and_the_rerun_is_byte_identical(kind, reference, tmp_path, monkeypatch):
    """A clip's audio or record: that job fails (an environment problem, never stored), the others are finished and
    the build ends incomplete; the manifest: the build stops. Either way one line names the file."""
    out = tmp_path / "corpus"
    full = _FullDiskOs(KINDS[kind])
    monkeypatch.setattr(pipeline.atomic, "os", full)
    if kind == "manifest":
        with pytest.raises(DiskFull) as err:
            _build(out)
        message, target = str(err.value), Path(err.value.filename)
        assert not (out / "manifest.jsonl").exists()
    else:
        with pytest.raises(BuildIncomplete) as err:
            _build(out)
        (failure,) = err.value.failures
        message = failure.reason
        target = Path(message.split(": ")[2])  # "<stage>: DiskFull: <file>: no space left ..."
        failed = {r.source_id for r in read_manifest(out / "manifest.jsonl")}
        assert failure.source_id not in failed and len(failed) == CLIPS // 2 - 1  # the others were finished
    assert full.failed_on is not None
    assert "\n" not in message and "no space left on device" in message and "run the same command again" in message
    assert target.is_relative_to(out) and not target.exists()  # the finished name never holds a partial file
    assert not list(out.rglob("*.part"))

    monkeypatch.undo()  # space freed
    _build(out)
    assert _tree(out) == reference


def test_cli_prints_one_line_for_a_full_disk(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline.atomic, "os", _FullDiskOs(KINDS["manifest"]))
    assert main(["demo", "--out", str(tmp_path / "c"), "--clips", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fakesound demo: error: ") and "no space left on device" in err and "\n" not in err


def _can_mount_tmpfs(where: Path) -> bool:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


def test_a_real_full_tmpfs(reference, tmp_path):
    """The same on a real 1 MB tmpfs (root only: skipped elsewhere): the demo's sources alone do not fit."""
    disk = tmp_path / "disk"
    if sys.platform != "linux" or os.geteuid() != 0 or not _can_mount_tmpfs(disk):
        pytest.skip("mounting a tmpfs needs root on Linux")
    try:
        with pytest.raises((DiskFull, BuildIncomplete), match="no space left on device"):
            _build(disk / "corpus")
        assert not list(disk.rglob("*.part"))
        left = {p for p in (disk / "corpus").rglob("*") if p.is_file()}
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
        _build(disk / "corpus")
        assert _tree(disk / "corpus") == reference and left  # some files were kept and reused
    finally:
        subprocess.run(["umount", str(disk)], check=False)
