"""One corpus per folder: the lock file (live refused, stale taken over) and the identity record (refused with the
differing fields, or replaced with overwrite)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline import folder
from pipeline.folder import FolderBusy, OtherCorpus, check_identity, claim, folder_lock

IDENTITY = {"recipe": {"name": "weight-free", "output_rate": 32000}, "runtime": {"device": "cpu"},
            "request": {"seed": 0, "clips": 40}}


def _lock_holder(out) -> subprocess.Popen:
    """A process that takes ``out``'s lock and sleeps while holding it."""
    code = ("import sys, time\nfrom pipeline.folder import folder_lock\n"
            "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_lock_refuses_in_one_line_naming_the_pid(tmp_path):
    holder = _lock_holder(tmp_path)
    try:
        with pytest.raises(FolderBusy) as err, folder_lock(tmp_path):
            pass
        message = str(err.value)
        assert f"pid {holder.pid}" in message and "\n" not in message
        assert (tmp_path / folder.LOCK).is_file()  # the holder's lock is left alone
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_from_a_killed_process_is_taken_over(tmp_path, caplog):
    holder = _lock_holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    stale = json.loads((tmp_path / folder.LOCK).read_text())
    assert stale["pid"] == holder.pid  # the killed process left its lock behind
    with caplog.at_level(logging.WARNING, logger="pipeline.folder"), folder_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    notices = [r.getMessage() for r in caplog.records if "stale lock" in r.getMessage()]
    assert len(notices) == 1 and f"pid {holder.pid}" in notices[0] and "\n" not in notices[0]
    assert not (tmp_path / folder.LOCK).exists()  # released on exit
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no set-aside lock left


def test_an_unwritten_lock_is_live_while_young_and_stale_when_old(tmp_path):
    lock = tmp_path / folder.LOCK
    lock.touch()
    with pytest.raises(FolderBusy, match="a build that is starting"), folder_lock(tmp_path):
        pass
    old = time.time() - folder.UNWRITTEN_LOCK_S - 5
    os.utime(lock, (old, old))
    with folder_lock(tmp_path):
        pass
    assert not lock.exists()


def test_another_identity_is_refused_naming_the_differing_fields(tmp_path):
    check_identity(tmp_path, IDENTITY, overwrite=False)
    check_identity(tmp_path, IDENTITY, overwrite=False)  # the same corpus again (a resume or another shard)
    other = {**IDENTITY, "request": {"seed": 1, "clips": 40}}
    with pytest.raises(OtherCorpus) as err:
        check_identity(tmp_path, other, overwrite=False)
    message = str(err.value)
    assert "request.seed 0 -> 1" in message and "clips" not in message and "\n" not in message
    assert json.loads((tmp_path / folder.IDENTITY).read_text()) == IDENTITY  # unchanged


def test_overwrite_replaces_the_corpus_and_leaves_other_files(tmp_path):
    check_identity(tmp_path, {**IDENTITY, "request": {"demo": True}}, overwrite=False)
    for name in ("manifest.jsonl", "summary.json", "train.json", ".records/k.json", "audio/train/a.wav",
                 "sources/sources.jsonl", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    check_identity(tmp_path, IDENTITY, overwrite=True)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == [folder.IDENTITY, "notes.txt"]  # the demo's composed sources went with its corpus
    assert json.loads((tmp_path / folder.IDENTITY).read_text()) == IDENTITY


def test_a_corpus_without_identity_record_is_not_adopted(tmp_path):
    (tmp_path / "manifest.jsonl").write_text("")
    with pytest.raises(OtherCorpus, match="no identity record"):
        check_identity(tmp_path, IDENTITY, overwrite=False)
    check_identity(tmp_path, IDENTITY, overwrite=True)
    assert not (tmp_path / "manifest.jsonl").exists()


def test_the_partial_file_sweep_runs_under_the_lock(tmp_path):
    (tmp_path / ".a.wav.x.part").write_text("x")
    holder = _lock_holder(tmp_path)
    try:
        with pytest.raises(FolderBusy), claim(tmp_path, IDENTITY):
            pass
        assert (tmp_path / ".a.wav.x.part").exists()  # a live run's temporary file is not touched
    finally:
        holder.kill()
        holder.wait()
    with claim(tmp_path, IDENTITY):
        assert not (tmp_path / ".a.wav.x.part").exists()
