"""Prefect face of the build: the ``build-fakesound`` flow, one task per chunk of clip jobs.

Its parameters are :class:`pipeline.requests.BuildRequest`'s fields (same names, same defaults; a test holds
them equal to the CLI's options) plus the Prefect task runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.build import STAGES, recipe_for
from pipeline import engine
from pipeline.corpus import count_table
from pipeline.engine import BuildContext, ClipJob, run_jobs
from pipeline.errors import ConfigError, FakesoundError
from pipeline.requests import BuildRequest

#: Flow parameters that are not request fields: how Prefect runs the tasks.
RUNNER_PARAMETERS = ("task_runner", "dask_address")
R = BuildRequest  # defaults are read from the request (written once, there)


@task(name="make-clips", retries=2, retry_delay_seconds=5)
def make_clips(jobs: list[ClipJob], ctx: BuildContext) -> list:
    """Run one chunk of jobs (resumable: finished jobs are loaded, not redone)."""
    return run_jobs(jobs, ctx)


def _task_runner(kind: str, workers: int, dask_address: str | None) -> Any:
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ConfigError(f"unknown task runner {kind!r} (threads | dask)")


def prefect_executor(progress_key: str | None = None):
    """An executor that submits each chunk as a Prefect task and reports progress as an artifact."""

    def execute(chunks: list[list[ClipJob]], ctx: BuildContext):
        total = max(1, sum(map(len, chunks)))
        artifact = create_progress_artifact(progress=0.0, key=progress_key, description="clips built (%)")
        futures = [make_clips.submit(chunk, ctx) for chunk in chunks]
        done = 0
        for future in futures:
            outcome = future.result()
            done += len(outcome)
            update_progress_artifact(artifact_id=artifact, progress=100.0 * done / total)
            yield outcome

    return execute


@flow(name="build-clips")
def _build_clips(request: BuildRequest) -> dict:
    records, rejections = engine.build(request, recipe_for(request), STAGES, prefect_executor())
    create_table_artifact(
        table=[
            dict(zip(("split", "manipulation", "generator"), key.split("/"), strict=True)) | {"clips": n}
            for key, n in count_table(records).items()
        ],
        key="fakesound-build-counts", description=f"clips per split x manipulation x generator in {request.out}",
    )
    for rejection in rejections:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    create_table_artifact(  # the rejected count is in the description; the rows say which input and why
        table=[{"item": r.item, "stage": r.stage, "reason": r.reason} for r in rejections],
        key="fakesound-build-rejected", description=f"{len(rejections)} inputs rejected (also in rejected.jsonl)",
    )
    if not records:  # the run ends Failed, with the reason as its message
        raise FakesoundError(f"no clip could be made: {len(rejections)} inputs rejected "
                             f"(listed in {Path(request.out) / 'rejected.jsonl'})")
    return {"out": str(Path(request.out).resolve()), "clips": len(records), "rejected": len(rejections)}


@flow(name="build-fakesound")
def build_fakesound(
    out: str,
    sources: str | None = R.sources,
    demo: bool = R.demo,
    clips: int = R.clips,
    kit: str | None = R.kit,
    seed: int = R.seed,
    recipe: str = R.recipe,
    grounding: str | None = R.grounding,
    checkpoint: str | None = R.checkpoint,
    steps: int | None = R.steps,
    guidance: float | None = R.guidance,
    audiosr: str | None = R.audiosr,
    audiosr_steps: int | None = R.audiosr_steps,
    batch_size: int | None = R.batch_size,
    device: str = R.device,
    chunk_size: int = R.chunk_size,
    workers: int = R.workers,
    task_runner: str = "threads",
    dask_address: str | None = None,
) -> dict:
    """Build a FakeSound-style corpus (``demo=True``: from the bundled demo kit) into ``out``.

    Every parameter but ``task_runner`` / ``dask_address`` is a field of :class:`pipeline.requests.BuildRequest`.
    """
    request = BuildRequest(out=out, sources=sources, demo=demo, clips=clips, kit=kit, seed=seed, recipe=recipe,
                           grounding=grounding, checkpoint=checkpoint, steps=steps, guidance=guidance,
                           audiosr=audiosr, audiosr_steps=audiosr_steps, batch_size=batch_size, device=device,
                           chunk_size=chunk_size, workers=workers)
    recipe_for(request)  # unknown recipe or a setting that does not apply: refused before any task starts
    runner = _task_runner(task_runner, workers, dask_address)
    return _build_clips.with_options(task_runner=runner)(request)
