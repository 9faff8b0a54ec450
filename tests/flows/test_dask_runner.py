"""Scale-out: the build flow on a 2-process local Dask cluster makes the same corpus as the plain threaded build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.build import build_demo, thread_executor

CLIPS, SEED = 8, 5


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.timeout(400)
def test_dask_processes_build_equals_threads_build(prefect_api, tmp_path):
    from flows.build_flow import build_fakesound

    threads = tmp_path / "threads"
    build_demo(threads, CLIPS, SEED, executor=thread_executor(2, progress=False))
    dask = tmp_path / "dask"
    result = build_fakesound(out=str(dask), demo=True, clips=CLIPS, seed=SEED, task_runner="dask", workers=2)
    assert result["clips"] == CLIPS and result["rejected"] == 0
    assert result["inspect"] == f"fakesound listen --corpus {dask.resolve()}"  # the build ends with how to look

    expected, got = _files(threads), _files(dask)
    assert sorted(got) == sorted(expected)
    assert [p for p in expected if got[p] != expected[p]] == []
    manifest = [json.loads(line) for line in (dask / "manifest.jsonl").read_text().splitlines()]
    assert {r["label"] for r in manifest} == {0, 1}
