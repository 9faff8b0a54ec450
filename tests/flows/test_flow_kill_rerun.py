"""A crashed flow run is finished by running the flow again: a ``build-fakesound`` run whose process is SIGKILLed
mid-way leaves a stale lock and some finished jobs; a new run with the same parameters takes the folder over,
makes only what is missing and gives the corpus an uninterrupted build gives, byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli import main
from pipeline.folder import LOCK

CLIPS, SEED = 40, 4
RUN = ("import sys\nfrom flows.build_flow import build_fakesound\n"
       "build_fakesound(out=sys.argv[1], demo=True, clips=int(sys.argv[2]), seed=int(sys.argv[3]), chunk_size=1, "
       "workers=1)\n")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.timeout(600)
def test_a_killed_flow_run_is_finished_by_running_it_again(prefect_api, tmp_path):
    from prefect.settings import PREFECT_API_URL

    from flows.build_flow import build_fakesound

    reference = tmp_path / "reference"
    assert main(["demo", "--out", str(reference), "--clips", str(CLIPS), "--seed", str(SEED), "--quiet"]) == 0
    out = tmp_path / "corpus"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "OMP_NUM_THREADS": "1"}
    run = subprocess.Popen([sys.executable, "-c", RUN, str(out), str(CLIPS), str(SEED)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while len(list((out / ".records").glob("*.json"))) < 3:
            assert run.poll() is None, f"the run ended before the kill point: {run.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.01)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    finished = len(list((out / ".records").glob("*.json")))
    assert (out / LOCK).exists() and finished < CLIPS // 2  # killed mid-way, its lock left behind

    result = build_fakesound(out=str(out), demo=True, clips=CLIPS, seed=SEED, chunk_size=1, workers=1)
    assert result["clips"] == CLIPS
    assert _files(out) == _files(reference)  # no lock, no temporary file, the uninterrupted corpus
