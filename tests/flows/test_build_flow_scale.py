"""The build at scale: chunked task runs, errors by class, finish-what-can-be-finished, artifacts on the parent run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from prefect_runs import run_logs

import flows.build_flow as build_flow
from flows.build import build_demo
from flows.build_flow import artifact_key, build_fakesound
from flows.cli import main
from pipeline.engine import MAX_CHUNK, MAX_CHUNKS, BuildIncomplete, chunk_size_for
from pipeline.manifest import read_manifest

CLIPS, SEED = 12, 4  # 6 sources


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".records" not in p.parts}


def test_chunking_is_separate_from_batch_size_and_bounded():
    for jobs, workers in ((50_000, 2), (50_000, 64), (1_000_000, 8), (150, 2), (1, 1)):
        size = chunk_size_for(jobs, workers, None)
        assert size >= 1 and math.ceil(jobs / size) <= MAX_CHUNKS
        assert size <= MAX_CHUNK or jobs > MAX_CHUNK * MAX_CHUNKS
    assert math.ceil(50_000 / chunk_size_for(50_000, 2, None)) <= 1000  # the figure: <= 1,000 task runs
    assert chunk_size_for(150, 2, None) == 19 and chunk_size_for(150, 2, 64) == 64


def _runs(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        flow_run = client.read_flow_run(flow_run_id)
    return tasks, artifacts, flow_run


@pytest.mark.timeout(600)
def test_flow_chunks_skips_finished_jobs_and_publishes_on_its_own_run(prefect_api, tmp_path):
    out = tmp_path / "corpus"
    state = build_fakesound(out=str(out), demo=True, clips=CLIPS, seed=SEED, chunk_size=2, return_state=True)
    assert state.is_completed()
    tasks, artifacts, flow_run = _runs(state.state_details.flow_run_id)
    assert len(tasks) == 3  # 6 jobs in chunks of 2: one task run per chunk, named by the sources it holds
    assert all(t.name.startswith("make-clips-demo004_0000") and ".." in t.name for t in tasks)
    keys = {a.key for a in artifacts}
    assert {artifact_key("progress", str(out)), artifact_key("counts", str(out))} <= keys  # on build-fakesound
    assert flow_run.name == f"weight-free-demo-seed{SEED}-to-corpus"
    messages = run_logs(flow_run.id, until=lambda m: sum("jobs/s" in x for x in m) >= 3)
    assert "6 clip jobs: 0 finished before, 6 to run" in messages  # the engine's own logger reaches the run's logs
    assert sum("jobs/s" in m for m in messages) == 3  # one count line per chunk

    again = build_fakesound(out=str(out), demo=True, clips=CLIPS, seed=SEED, chunk_size=2, return_state=True)
    tasks, _, _ = _runs(again.state_details.flow_run_id)
    assert again.is_completed() and tasks == []  # every job was finished: nothing is submitted


@pytest.mark.timeout(600)
def test_missing_source_fails_its_job_only_is_retried_and_a_rerun_completes(prefect_api, tmp_path, monkeypatch):
    from pipeline import engine
    from pipeline.compose import default_kit_dir

    monkeypatch.setattr(build_flow, "make_clips", build_flow.make_clips.with_options(retries=1, retry_delay_seconds=0))
    # donors from the kit, so that the hidden source changes no other job (a missing donor is skipped, which
    # would change every job's key: tested below)
    monkeypatch.setattr(engine, "source_donors", lambda *args, **kwargs: engine.kit_donors(default_kit_dir()))
    out, demo = tmp_path / "corpus", tmp_path / "demo"  # a build from the demo's sources: another corpus
    build_demo(demo, CLIPS, SEED)  # composes the sources; then one goes missing, as on an unmounted share
    hidden = demo / "sources" / "audio" / "demo004_00002.flac"
    hidden.rename(hidden.with_suffix(".away"))

    state = build_fakesound(out=str(out), sources=str(demo / "sources" / "sources.jsonl"), seed=SEED, chunk_size=1,
                            return_state=True)
    assert state.is_failed() and "1 clip job(s) failed" in state.message and "\n" not in state.message
    tasks, artifacts, _ = _runs(state.state_details.flow_run_id)
    failed = [t for t in tasks if t.state.is_failed()]
    assert len(tasks) == 6 and len(failed) == 1 and failed[0].run_count == 2  # retried once (I/O), then given up
    assert artifact_key("failed", str(out)) in {a.key for a in artifacts}
    assert len(read_manifest(out / "manifest.jsonl")) == CLIPS - 2  # finished what could be finished

    hidden.with_suffix(".away").rename(hidden)  # the share is back: a rerun retries only that job
    again = build_fakesound(out=str(out), sources=str(demo / "sources" / "sources.jsonl"), seed=SEED, chunk_size=1,
                            return_state=True)
    assert again.is_completed()
    tasks, _, _ = _runs(again.state_details.flow_run_id)
    assert len(tasks) == 1
    assert len(read_manifest(out / "manifest.jsonl")) == CLIPS


def test_a_bug_in_one_job_is_not_retried_nor_stored_and_the_rest_is_built(tmp_path, monkeypatch):
    from regenerate.weightfree.griffinlim import GriffinLimRegenerator

    real = GriffinLimRegenerator.regenerate

    def broken(self, request):
        if request.clip_id.endswith("00001"):
            raise KeyError("a bug")
        return real(self, request)

    monkeypatch.setattr(GriffinLimRegenerator, "regenerate", broken)
    out = tmp_path / "corpus"
    with pytest.raises(BuildIncomplete) as caught:
        build_demo(out, 24, SEED)
    (failure,) = caught.value.failures
    assert failure.source_id.endswith("00001") and not failure.transient and "KeyError" in failure.reason
    assert len(read_manifest(out / "manifest.jsonl")) == 22
    monkeypatch.setattr(GriffinLimRegenerator, "regenerate", real)
    build_demo(out, 24, SEED)  # the failed job was not stored: the rerun makes it
    fresh = tmp_path / "fresh"
    build_demo(fresh, 24, SEED)
    assert _files(out) == _files(fresh)


def test_cli_reports_failed_jobs_with_its_own_exit_status(tmp_path, capsys):
    out, demo = tmp_path / "corpus", tmp_path / "demo"  # a build from the demo's sources: another corpus
    build_demo(demo, 8, SEED)
    (demo / "sources" / "audio" / "demo004_00001.flac").unlink()
    status = main(["build", "--sources", str(demo / "sources" / "sources.jsonl"), "--out", str(out), "--seed",
                   str(SEED), "--quiet"])
    captured = capsys.readouterr()
    assert status == 3
    assert "failed: demo004_00001: ground: SourceUnavailable:" in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("fakesound build: error: 1 clip job(s) failed")
    assert "6 clips" in captured.out


def test_a_missing_donor_is_skipped_and_reported(tmp_path):
    out, demo = tmp_path / "corpus", tmp_path / "demo"  # a build from the demo's sources: another corpus
    build_demo(demo, 8, SEED)
    missing = demo / "sources" / "audio" / "demo004_00001.flac"
    missing.unlink()
    with pytest.raises(BuildIncomplete) as caught:  # its own job fails (retry later); as a donor it is skipped
        from flows.build import run_build
        from regenerate.recipes import get_recipe

        sources = read_manifest(demo / "sources" / "sources.jsonl")
        run_build(out, sources, demo / "sources", get_recipe("weight-free"), seed=SEED)
    assert [r.stage for r in caught.value.rejections] == ["donor"] and str(missing) == caught.value.rejections[0].item


@pytest.mark.timeout(600)
def test_two_runs_into_one_folder_take_turns(prefect_api, tmp_path):
    import threading

    out = tmp_path / "corpus"
    states = []

    def run():
        states.append(build_fakesound(out=str(out), demo=True, clips=8, seed=SEED, chunk_size=1, return_state=True))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [s.is_completed() for s in states] == [True, True]
    task_counts = sorted(len(_runs(state.state_details.flow_run_id)[0]) for state in states)
    assert task_counts == [0, 4]  # the second waited for the first, then found every job finished
    assert len(read_manifest(out / "manifest.jsonl")) == 8


def test_local_dask_cluster_on_a_gpu_machine_is_one_worker_per_gpu(monkeypatch):
    import builtins
    import sys
    import types

    from pipeline.errors import EnvironmentProblem

    real_import = builtins.__import__

    def no_dask_cuda(name, *args, **kwargs):
        if name == "dask_cuda":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask_cuda)
    with pytest.raises(EnvironmentProblem, match="dask-cuda for one worker per GPU"):
        build_flow._task_runner("dask", 2, None, gpu=True)
    fake = types.ModuleType("dask_cuda")
    fake.LocalCUDACluster = type("LocalCUDACluster", (), {})  # stands in: no GPU and no dask-cuda here
    monkeypatch.setitem(sys.modules, "dask_cuda", fake)
    monkeypatch.setattr(builtins, "__import__", real_import)
    runner = build_flow._task_runner("dask", 2, None, gpu=True)
    assert runner.cluster_class == "dask_cuda.LocalCUDACluster" and runner.cluster_kwargs == {"threads_per_worker": 1}


@pytest.mark.timeout(300)
def test_a_task_that_raises_once_is_retried_and_the_run_completes(prefect_api, tmp_path, monkeypatch):
    """One chunk's task hits an I/O error on its first try (a share that blinked): Prefect retries it, the run ends
    Completed with every clip, byte-identical to a build that never failed."""
    from pipeline.engine import run_jobs

    raised: list[str] = []

    def blinking(jobs, ctx):
        if jobs[0].source.id.endswith("00001") and not raised:
            raised.append(jobs[0].source.id)
            raise OSError(5, "Input/output error (the share blinked)")
        return run_jobs(jobs, ctx)

    monkeypatch.setattr(build_flow, "run_jobs", blinking)
    monkeypatch.setattr(build_flow, "make_clips", build_flow.make_clips.with_options(retry_delay_seconds=0))
    out = tmp_path / "corpus"
    state = build_fakesound(out=str(out), demo=True, clips=6, seed=SEED, chunk_size=1, return_state=True)
    assert state.is_completed() and state.result()["clips"] == 6 and raised
    tasks, _, _ = _runs(state.state_details.flow_run_id)
    assert len(tasks) == 3 and all(t.state.is_completed() for t in tasks)
    assert sorted(t.run_count for t in tasks) == [1, 1, 2]  # the blinking chunk ran twice
    fresh = tmp_path / "fresh"
    build_demo(fresh, 6, SEED)
    assert _files(out) == _files(fresh)
