"""Prefect face of the build: the ``build-fakesound`` flow, one task per batch of clip jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.build import BuildContext, ClipJob, build_demo, load_sources, run_build, run_jobs
from flows.cli_listen import listen_command
from pipeline.compose import default_kit_dir
from pipeline.corpus import count_table
from regenerate.recipes import DEFAULT_RECIPE, get_recipe


@task(name="make-clips", retries=2, retry_delay_seconds=5)
def make_clips(jobs: list[ClipJob], ctx: BuildContext) -> list:
    """Run one batch of jobs (resumable: finished jobs are loaded, not redone)."""
    return run_jobs(jobs, ctx)


def _task_runner(kind: str, workers: int, dask_address: str | None) -> Any:
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ValueError(f"unknown task runner {kind!r} (threads | dask)")


def prefect_executor(progress_key: str | None = None):
    """An executor that submits each batch as a Prefect task and reports progress as an artifact."""

    def execute(batches: list[list[ClipJob]], ctx: BuildContext):
        total = max(1, sum(map(len, batches)))
        artifact = create_progress_artifact(progress=0.0, key=progress_key, description="clips built (%)")
        futures = [make_clips.submit(batch, ctx) for batch in batches]
        done = 0
        for future in futures:
            outcome = future.result()
            done += len(outcome)
            update_progress_artifact(artifact_id=artifact, progress=100.0 * done / total)
            yield outcome

    return execute


@flow(name="build-clips")
def _build_clips(out: str, sources: str | None, demo: bool, clips: int, seed: int, recipe: str,
                 grounding: str | None, device: str) -> dict:
    if demo:
        records, rejections = build_demo(out, clips, seed, default_kit_dir(), executor=prefect_executor(),
                                         recipe=recipe)
    else:
        if sources is None:
            raise ValueError("build-fakesound needs `sources` (a source manifest) unless demo=True")
        source_records, root = load_sources(sources)
        records, rejections = run_build(out, source_records, root, get_recipe(recipe), seed, grounding,
                                        device=device, executor=prefect_executor())
    create_table_artifact(
        table=[
            dict(zip(("split", "manipulation", "generator"), key.split("/"), strict=True)) | {"clips": n}
            for key, n in count_table(records).items()
        ],
        key="fakesound-build-counts", description=f"clips per split x manipulation x generator in {out}",
    )
    for rejection in rejections:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    inspect = listen_command(Path(out).resolve())
    get_run_logger().info("inspect it and run a listening test: %s", inspect)
    return {"out": str(Path(out).resolve()), "clips": len(records), "rejected": len(rejections), "inspect": inspect}


@flow(name="build-fakesound")
def build_fakesound(
    out: str,
    sources: str | None = None,
    demo: bool = False,
    clips: int = 300,
    seed: int = 0,
    recipe: str = DEFAULT_RECIPE,
    grounding: str | None = None,
    device: str = "auto",
    task_runner: str = "threads",
    dask_address: str | None = None,
    workers: int = 2,
) -> dict:
    """Build a FakeSound-style corpus (``demo=True``: from the bundled demo kit) into ``out``."""
    runner = _task_runner(task_runner, workers, dask_address)
    return _build_clips.with_options(task_runner=runner)(out, sources, demo, clips, seed, recipe, grounding, device)
