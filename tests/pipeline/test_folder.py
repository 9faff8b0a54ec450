"""One corpus per folder: the lock file (live refused, stale taken over) and the identity record (refused with the
differing fields, or replaced with overwrite)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pipeline import folder
from pipeline.folder import FolderBusy, LockedElsewhere, OtherCorpus, check_identity, claim, folder_lock

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
    with pytest.raises(FolderBusy, match="a run that is starting"), folder_lock(tmp_path):
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


def _write_lock(out, **fields):
    record = {"command": "build", "pid": os.getpid(), "host": socket.gethostname(), "started": "2026-01-01T00:00:00Z",
              **fields}
    (out / folder.LOCK).write_text(json.dumps(record))
    return record


def test_a_lock_whose_pid_now_names_another_process_is_stale(tmp_path, caplog):
    """The holder died and its pid was given to another process (here: a live process whose start time is not the
    recorded one): the lock is stale and taken over; with the recorded instance matching, it is live."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        assert folder.process_instance(other.pid) is not None  # /proc tells processes apart here
        _write_lock(tmp_path, pid=other.pid, instance=folder.process_instance(other.pid))
        with pytest.raises(FolderBusy, match=f"pid {other.pid}"), folder_lock(tmp_path):
            pass
        boot, _, start = folder.process_instance(other.pid).rpartition(":")
        _write_lock(tmp_path, pid=other.pid, instance=f"{boot}:{int(start) - 1}")  # the holder started earlier
        with caplog.at_level(logging.WARNING, logger="pipeline.folder"), folder_lock(tmp_path) as lock:
            assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert any(f"stale lock (pid {other.pid}" in r.getMessage() for r in caplog.records)
        _write_lock(tmp_path, pid=other.pid, instance=f"another-boot:{start}")  # the machine rebooted since
        with folder_lock(tmp_path):
            pass
        _write_lock(tmp_path, pid=other.pid)  # a lock of an older version (no instance): the pid alone decides
        with pytest.raises(FolderBusy), folder_lock(tmp_path):
            pass
    finally:
        other.kill()
        other.wait()


def test_the_instance_is_the_kernels_start_time_of_the_pid():
    from pathlib import Path

    start = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19]
    assert folder.process_instance(os.getpid()).endswith(f":{start}")
    assert folder.process_instance(2**22 + 12345) is None  # no such pid


def test_a_lock_from_another_host_refuses_at_once_naming_host_and_pid(tmp_path):
    record = _write_lock(tmp_path, host="gpu-node-17", pid=4242)
    with pytest.raises(LockedElsewhere) as err, folder_lock(tmp_path):
        pass
    message = str(err.value)
    assert "gpu-node-17" in message and "pid 4242" in message and str(tmp_path / folder.LOCK) in message
    assert "\n" not in message
    assert json.loads((tmp_path / folder.LOCK).read_text()) == record  # left alone


def test_a_flow_does_not_wait_for_another_hosts_lock(tmp_path, monkeypatch):
    """The build flow takes turns on a lock of this host, but fails at once on another host's (it cannot tell
    whether that process is alive, and waiting could last for ever)."""
    from flows import build_flow
    from pipeline.requests import BuildRequest

    calls = []

    def busy(request, recipe, stages, executor):
        calls.append(request.out)
        raise (FolderBusy("here") if len(calls) == 1 else LockedElsewhere("gpu-node-17 pid 4242"))

    monkeypatch.setattr(build_flow.engine, "build", busy)
    monkeypatch.setattr(build_flow, "LOCK_POLL_S", 0.01)
    logs = []
    with pytest.raises(LockedElsewhere, match="gpu-node-17"):
        build_flow.build_taking_turns(BuildRequest(str(tmp_path), demo=True), None, None,
                                      type("L", (), {"info": lambda self, *a: logs.append(a)})())
    assert len(calls) == 2 and len(logs) == 1  # waited once for this host's lock, then refused


@pytest.mark.parametrize("command", ["import-sources", "restore-reals"])
def test_imports_and_restores_sweep_partial_files_only_under_the_lock(tmp_path, command):
    from pipeline.fakesound_reals import RestoreRealsRequest, restore_reals
    from pipeline.hf_sources import import_hf_sources
    from pipeline.requests import ImportRequest

    def run():
        if command == "import-sources":
            import_hf_sources(ImportRequest(hf_dataset=str(tmp_path / "none.parquet"), out=str(out)))
        else:
            restore_reals(RestoreRealsRequest(metadata=[str(tmp_path / "none.json")], fakes_root=str(tmp_path),
                                              sources=str(tmp_path / "none.jsonl"), out=str(out)))

    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.flac.x.part").write_text("x")
    holder = _lock_holder(out)
    try:
        with pytest.raises(FolderBusy, match=f"another build is writing this folder \\(pid {holder.pid}"):
            run()
        assert (out / ".a.flac.x.part").exists()  # a live run's temporary file is not touched
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(Exception) as err:  # the inputs do not exist: it fails, after the sweep
        run()
    assert not isinstance(err.value, FolderBusy)
    assert not (out / ".a.flac.x.part").exists() and not (out / folder.LOCK).exists()
