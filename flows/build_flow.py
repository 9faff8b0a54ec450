"""Prefect face of the build: the ``build-fakesound`` flow, one task run per chunk of clip jobs.

Its parameters are :class:`pipeline.requests.BuildRequest`'s fields (same names, same defaults; a test holds
them equal to the CLI's options) plus the Prefect task runner. Everything happens in the ``build-fakesound`` run
itself (tasks, progress, counts, failed jobs, logs), so the run the README tells users to open shows it all.

* **Chunks, not clips.** Jobs are grouped into chunks (``chunk_size``, by default a few per worker and at most
  1000), one task run each; finished jobs are set aside before submission; results are collected as they
  complete. Job records on disk are the cache, so Prefect's own caching and result persistence are off.
* **Errors.** Content errors are rejections stored with the job. Environment and I/O errors fail the chunk after
  it finished what it could; the task is retried with backoff (only those errors). Anything else is a failure
  that is not retried. The flow waits for every chunk, finalises the corpus with every clip made, publishes a
  table of failed jobs and ends ``Failed`` with one line when any job failed: running it again retries only those.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import unmapped

from flows.artifacts import Device, artifact_key
from flows.build import STAGES, recipe_for
from listen.config import listen_command
from pipeline import engine
from pipeline.corpus import count_table
from pipeline.engine import BuildContext, BuildIncomplete, ClipJob, JobResult, classify, run_jobs
from pipeline.errors import ConfigError, EnvironmentProblem, FakesoundError
from pipeline.folder import FolderBusy, LockedElsewhere
from pipeline.requests import BuildRequest
from regenerate.recipes import RECIPES

#: Flow parameters that are not request fields: how Prefect runs the tasks.
RUNNER_PARAMETERS = ("task_runner", "dask_address")
R = BuildRequest  # defaults are read from the request (written once, there)
RecipeName = Literal[tuple(RECIPES)]  # type: ignore[valid-type]  # the UI offers the recipes; a typo is refused
#: Progress artifact updates: at most every this many percent or seconds, whichever comes first.
PROGRESS_STEP_PERCENT, PROGRESS_EVERY_S = 5.0, 30.0


class ChunkIncomplete(EnvironmentProblem):
    """Some jobs of a chunk hit environment or I/O errors; the chunk is retried (its finished jobs are kept)."""


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry environment and I/O errors only: a deterministic failure would fail again."""
    try:
        state.result()
    except Exception as err:
        return classify(err)
    return False


def _chunk_name() -> str:
    from prefect.runtime import task_run

    return f"make-clips-{task_run.parameters['label']}"


@task(name="make-clips", task_run_name=_chunk_name, cache_policy=NO_CACHE, persist_result=False, retries=3,
      retry_delay_seconds=[10, 60, 300], retry_condition_fn=_retry_transient)
def make_clips(jobs: list[ClipJob], ctx: BuildContext, label: str) -> list[JobResult]:
    """Run one chunk of jobs (resumable: finished jobs are loaded, not redone); ``label`` names its sources."""
    started = time.perf_counter()
    results = run_jobs(jobs, ctx)
    logger = get_run_logger()
    made = sum(1 for r in results if r.records)
    rejected = [r.rejection for r in results if r.rejection is not None]
    failures = [r.failure for r in results if r.failure is not None]
    seconds = time.perf_counter() - started
    logger.info("%s: %d jobs, %d made, %d rejected, %d failed in %.1f s (%.2f jobs/s)", label, len(jobs), made,
                len(rejected), len(failures), seconds, len(jobs) / max(seconds, 1e-9))
    for rejection in rejected:
        logger.warning("rejected %s: %s", rejection.item, rejection.reason)
    transient = [f for f in failures if f.transient]
    if transient:
        raise ChunkIncomplete(f"{len(transient)} of {len(jobs)} jobs hit environment/I-O errors "
                              f"(first: {transient[0].source_id}: {transient[0].reason})")
    for failure in failures:
        logger.error("failed %s: %s", failure.source_id, failure.reason)
    return results


def _label(chunk: list[ClipJob]) -> str:
    first, last = chunk[0].source.id, chunk[-1].source.id
    return first if first == last else f"{first}..{last}"


def prefect_executor(runner: Any, out: str):
    """An executor that maps chunks onto Prefect task runs of ``runner`` and reports progress as an artifact."""

    def execute(chunks: list[list[ClipJob]], ctx: BuildContext):
        total = max(1, sum(map(len, chunks)))
        artifact = create_progress_artifact(progress=0.0, key=artifact_key("progress", out),
                                            description=f"clip jobs of this run finished (%) in {out}")
        futures = runner.map(make_clips, {"jobs": chunks, "ctx": unmapped(ctx), "label": [_label(c) for c in chunks]})
        chunk_of = {future.task_run_id: chunk for future, chunk in zip(futures, chunks, strict=True)}
        done, shown, shown_at = 0, 0.0, time.monotonic()
        for future in as_completed(list(futures)):
            chunk = chunk_of[future.task_run_id]
            try:
                results = future.result()
            except Exception as err:  # retries spent or a worker lost: keep what the chunk finished
                results = engine.chunk_failed(chunk, ctx, err)
            done += len(chunk)
            percent = 100.0 * done / total
            if percent - shown >= PROGRESS_STEP_PERCENT or time.monotonic() - shown_at >= PROGRESS_EVERY_S \
                    or done == total:
                update_progress_artifact(artifact_id=artifact, progress=percent)
                shown, shown_at = percent, time.monotonic()
            yield results

    return execute


def _task_runner(kind: str, workers: int, dask_address: str | None, gpu: bool = False) -> Any:
    """The Prefect task runner; a local Dask cluster on a GPU machine gets one worker per GPU (dask-cuda)."""
    if kind == "threads":
        if dask_address:
            raise ConfigError("`dask_address` applies to task_runner=dask only")
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        if dask_address:
            if workers != R.workers:
                raise ConfigError("`workers` does not apply with `dask_address` (the cluster has its own workers)")
            return DaskTaskRunner(address=dask_address)
        if gpu:
            return DaskTaskRunner(cluster_class=_local_cuda_cluster(), cluster_kwargs={"threads_per_worker": 1})
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    raise ConfigError(f"unknown task runner {kind!r} (threads | dask)")


def _local_cuda_cluster() -> str:
    """dask-cuda's local cluster: one worker per visible GPU, each pinned to its own (``CUDA_VISIBLE_DEVICES``)."""
    try:
        import dask_cuda  # noqa: F401
    except ImportError:
        raise EnvironmentProblem(
            "task_runner=dask on a GPU machine needs dask-cuda for one worker per GPU (`pip install dask-cuda`); "
            "or start the workers yourself (one per GPU) and pass dask_address") from None
    return "dask_cuda.LocalCUDACluster"


#: How often a run waiting for another run's folder lock tries again.
LOCK_POLL_S = 2.0


def build_taking_turns(request: BuildRequest, resolved: Any, executor: Any, logger: Any) -> tuple[list, list]:
    """``engine.build``, waiting while another build holds the folder's lock (it refuses before writing anything):
    runs into one ``out`` take turns. The lock file, not a Prefect concurrency slot, so a run whose process was
    killed does not block the next one (its stale lock is taken over at once; a slot lease would hold for minutes).
    A lock held from another host is not waited for: its process cannot be checked, so the run fails at once in one
    line naming host and pid."""
    waiting = False
    while True:
        try:
            return engine.build(request, resolved, STAGES, executor)
        except LockedElsewhere:  # another host's lock cannot be checked: refuse rather than wait for ever
            raise
        except FolderBusy as busy:
            if not waiting:
                logger.info("waiting for the folder: %s", busy)
                waiting = True
            time.sleep(LOCK_POLL_S)


#: The project's loggers whose records go to the run's logs (as PREFECT_LOGGING_EXTRA_LOGGERS would send them).
PROJECT_LOGGERS = ("pipeline", "grounding", "regenerate")


@contextmanager
def project_logs_to_run() -> Iterator[None]:
    """While the run lasts, send the project's module loggers to its logs (with the handlers Prefect gives its
    ``prefect.extra`` logger): the engine logs through ``logging``, not through ``get_run_logger``."""
    import logging

    added = []
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
        added += [(logger, h) for h in logging.getLogger("prefect.extra").handlers if h not in logger.handlers]
    for logger, handler in added:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, handler in added:
            logger.removeHandler(handler)


def _publish(request: BuildRequest, records: list, rejections: list, failures: list) -> None:
    """Counts, rejections and failed jobs as artifacts of this run, keyed per corpus."""
    out = request.out
    create_table_artifact(
        table=[dict(zip(("split", "manipulation", "generator"), key.split("/"), strict=True)) | {"clips": n}
               for key, n in count_table(records).items()],
        key=artifact_key("counts", out), description=f"clips per split x manipulation x generator in {out}")
    create_table_artifact(  # the count is in the description (also when 0); the rows say which input and why
        table=[{"item": r.item, "stage": r.stage, "reason": r.reason} for r in rejections],
        key=artifact_key("rejected", out), description=f"{len(rejections)} inputs rejected in {out}")
    if failures:
        create_table_artifact(
            table=[{"source": f.source_id, "reason": f.reason, "retried": f.transient} for f in failures],
            key=artifact_key("failed", out), description=f"clip jobs that failed in {out}: rerun to retry them")


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    what = "demo" if params.get("demo") else Path(str(params.get("sources"))).stem
    return f"{params.get('recipe', R.recipe)}-{what}-seed{params.get('seed', R.seed)}-to-{Path(params['out']).name}"


@flow(name="build-fakesound", flow_run_name=_run_name)
def build_fakesound(
    out: str,
    sources: str | None = R.sources,
    demo: bool = R.demo,
    clips: int = R.clips,
    kit: str | None = R.kit,
    seed: int = R.seed,
    recipe: RecipeName = R.recipe,  # type: ignore[valid-type]
    grounding: str | None = R.grounding,
    grounding_model: str | None = R.grounding_model,
    checkpoint: str | None = R.checkpoint,
    steps: int | None = R.steps,
    guidance: float | None = R.guidance,
    audiosr: str | None = R.audiosr,
    audiosr_steps: int | None = R.audiosr_steps,
    audiosr_config: str | None = R.audiosr_config,
    batch_size: int | None = R.batch_size,
    n_candidates: int | None = R.n_candidates,
    clap: str | None = R.clap,
    device: Device = R.device,
    chunk_size: int | None = R.chunk_size,
    workers: int = R.workers,
    overwrite: bool = R.overwrite,
    task_runner: Literal["threads", "dask"] = "threads",
    dask_address: str | None = None,
) -> dict:
    """Build a FakeSound-style corpus (``demo=True``: from the bundled demo kit) into ``out``.

    Every parameter but ``task_runner`` / ``dask_address`` is a field of :class:`pipeline.requests.BuildRequest`.
    """
    request = BuildRequest(out=out, sources=sources, demo=demo, clips=clips, kit=kit, seed=seed, recipe=recipe,
                           grounding=grounding, grounding_model=grounding_model, checkpoint=checkpoint, steps=steps,
                           guidance=guidance, audiosr=audiosr, audiosr_steps=audiosr_steps,
                           audiosr_config=audiosr_config, batch_size=batch_size,
                           n_candidates=n_candidates, clap=clap, device=device,
                           chunk_size=chunk_size, workers=workers,
                           overwrite=overwrite).absolute()
    resolved = recipe_for(request)  # unknown recipe or a setting that does not apply: refused before any task
    grounding = STAGES.grounding_settings(request.grounding_model) if request.grounding_model else None
    STAGES.check_checkpoints(resolved, grounding, request.grounding)  # missing weights: Failed before any worker
    logger = get_run_logger()
    logger.info("building %s with %s (seed %d)", request.out, request.recipe, request.seed)
    gpu = engine.recipe_runtime(resolved, request.device)["device"] == "cuda"
    with project_logs_to_run(), _task_runner(task_runner, workers, dask_address, gpu) as runner:
        try:
            records, rejections = build_taking_turns(request, resolved, prefect_executor(runner, request.out),
                                                     logger)
            failures: list = []
        except BuildIncomplete as incomplete:
            records, rejections, failures = incomplete.records, incomplete.rejections, incomplete.failures
            _publish(request, records, rejections, failures)
            raise
    _publish(request, records, rejections, failures)
    if not records:  # the run ends Failed, with the reason as its message
        raise FakesoundError(f"no clip could be made: {len(rejections)} inputs rejected "
                             f"(listed in {Path(request.out) / 'rejected.jsonl'})")
    logger.info("%s: %d clips, %d rejected", request.out, len(records), len(rejections))
    inspect = listen_command(request.out)
    logger.info("inspect it and run a listening test: %s", inspect)
    return {"out": request.out, "clips": len(records), "rejected": len(rejections), "inspect": inspect}
