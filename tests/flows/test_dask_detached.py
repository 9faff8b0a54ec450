"""Scale-out as a remote cluster runs it: a Dask scheduler and two worker processes started on their own (loopback),
the workers in another working directory. The flow resolves its paths, so the corpus is the threaded one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.build import build_demo

ROOT = Path(__file__).resolve().parents[2]
CLIPS, SEED = 8, 6


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.timeout(600)
def test_detached_dask_workers_in_another_folder_build_the_same_corpus(prefect_api, tmp_path, monkeypatch):
    from distributed import Client
    from prefect.settings import PREFECT_API_URL

    from flows.build_flow import build_fakesound

    elsewhere = tmp_path / "workers_start_here"
    elsewhere.mkdir()
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": PREFECT_API_URL.value(),
           "OMP_NUM_THREADS": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([str(Path(sys.executable).parent / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(Path(sys.executable).parent / "dask"), "worker", "--scheduler-file", str(scheduler_file),
                 "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                cwd=elsewhere, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address

        threads = tmp_path / "threads"
        build_demo(threads, CLIPS, SEED)
        monkeypatch.chdir(tmp_path)  # the flow gets a relative `out`: workers start elsewhere, so it must be resolved
        result = build_fakesound(out="dask_corpus", demo=True, clips=CLIPS, seed=SEED, task_runner="dask",
                                 dask_address=address, chunk_size=1)
        assert result["clips"] == CLIPS and result["out"] == str(tmp_path / "dask_corpus")
        assert not list(elsewhere.rglob("*.wav"))  # nothing landed in the workers' folder
        expected, got = _files(threads), _files(tmp_path / "dask_corpus")
        assert sorted(got) == sorted(expected)
        assert [p for p in expected if got[p] != expected[p]] == []
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
