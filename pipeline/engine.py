"""The build engine: one clip's way from source to corpus, top to bottom, against the core's interfaces.

A build is cut into **jobs**, one per source clip (its real clip and its fake, in one split). Jobs are planned
(split, backend and seed per source, all seeded), keyed for resume on what they produce (the source audio's
hash, the recipe, grounding and donors by content, the runtime the models run on, the seed), grouped into
**chunks** (the scheduling unit an executor runs as one task) and run:

    region (RegionSource) -> regenerate (Regenerator, batched per backend) -> label span -> splice
        -> write the real/fake pair -> ClipRecord -> job record

A finished job's record is saved atomically after its audio, so a rerun (after a crash or SIGKILL) loads it
instead of redoing it; finished jobs are set aside before any chunk is handed out. The manifest and metadata are
written at the end from the job records, in a fixed order.

A job ends in one of three ways: its clips (a record), a **rejection** (content that can never be used: stored
with the job, so a rerun does not try again), or a **failure** (an environment problem such as a source on a
missing mount, or a bug: never stored, so a rerun tries again). The build finishes every job it can, finalises the
corpus with them and then raises :class:`BuildIncomplete` listing the failures.
The engine knows no concrete stage: ``flows/`` hands it a :class:`~pipeline.interfaces.Stages` and an executor.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import corpus, folder
from pipeline.atomic import atomic_write_text
from pipeline.audio_io import quantize_pcm16, read_audio, resample, write_audio
from pipeline.conditions import shape_change
from pipeline.errors import EnvironmentProblem, FakesoundError, RejectedInput, Rejection
from pipeline.fakesound_format import fakesound_audio_id
from pipeline.hashing import config_hash, sha256_file
from pipeline.interfaces import Donor, Recipe, Regenerator, RegionRequest, RegionResult, RegionSource, Stages
from pipeline.manifest import FAKE, ClipRecord, read_manifest
from pipeline.requests import BuildRequest
from pipeline.seeding import keyed_int
from pipeline.splice import altered_segments, fit_length, splice
from pipeline.timemath import Segment, ceil_to_grid, segment_to_samples, snap_to_grid

#: What weight-free recipes run on, whatever the device asked for (numpy on the CPU).
CPU_RUNTIME = {"device": "cpu", "dtype": "float32"}
#: Automatic chunking: about this many chunks per worker (load balance), each at most MAX_CHUNK jobs, and never
#: more than MAX_CHUNKS chunks (one task run each: a Prefect UI draws at most 10,000 nodes per run graph).
CHUNKS_PER_WORKER, MAX_CHUNK, MAX_CHUNKS = 4, 256, 1000
log = logging.getLogger(__name__)


class SourceUnavailable(EnvironmentProblem):
    """A source file that is not there now (unmounted share, file being copied): retried, never a rejection."""


@dataclass(frozen=True)
class Failure:
    """A job that could not finish this time; ``transient`` when retrying may help (I/O, environment)."""

    source_id: str
    reason: str
    transient: bool


@dataclass(frozen=True)
class JobResult:
    """How one job ended: its records, or a (stored) rejection, or a (not stored) failure."""

    key: str
    records: tuple[ClipRecord, ...] = ()
    rejection: Rejection | None = None
    failure: Failure | None = None


class BuildIncomplete(FakesoundError):
    """Some jobs failed; the corpus was finalised with every other clip. A rerun retries only the failed jobs."""

    def __init__(self, failures: Sequence[Failure], records: list[ClipRecord], rejections: list[Rejection]):
        self.failures, self.records, self.rejections = list(failures), records, rejections
        first = failures[0]
        super().__init__(f"{len(failures)} clip job(s) failed (first: {first.source_id}: {first.reason}); the corpus "
                         f"holds the {len(records)} clips made; rerun the same build to retry the failed jobs")


def classify(error: BaseException) -> bool:
    """True for errors worth retrying (environment, I/O), False for deterministic ones (bugs, bad settings)."""
    return isinstance(error, EnvironmentProblem | OSError)


def recipe_runtime(recipe: Recipe, device: str, grounding: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Device type and dtype the recipe's backends (and an on-the-fly grounding model) really run on (``auto`` and
    ``cuda:0`` resolve alike)."""
    if not (recipe.uses_models or (grounding or {}).get("uses_models")):
        return dict(CPU_RUNTIME)
    from pipeline.devices import runtime

    return runtime(device)


@dataclass(frozen=True)
class BuildContext:
    """Everything a worker needs to run jobs (picklable, so Dask processes can take it)."""

    out: str
    recipe: Recipe
    seed: int
    stages: Stages
    grounding_path: str | None = None
    donors: tuple[tuple[str, str, str, str], ...] = ()  # (id, audio path, phrase, kind)
    device: str = "auto"
    grounding: Mapping[str, Any] | None = None  # on-the-fly grounding settings (Stages.grounding_settings), or None

    def regenerators_key(self) -> str:
        """Identity of the loaded regenerators: recipe settings and device (and donors, for weight-free ones)."""
        donors = () if self.recipe.uses_models else self.donors
        return config_hash([self.recipe.to_dict(), self.device, donors])

    def runtime(self) -> dict[str, str]:
        return recipe_runtime(self.recipe, self.device, self.grounding)

    def content_key(self) -> str:
        """Identity of what this context produces: file contents, not paths, so a moved corpus resumes."""
        grounding_sha = sha256_file(self.grounding_path) if self.grounding_path else None
        donor_shas = [(d_id, sha256_file(path), phrase, kind) for d_id, path, phrase, kind in self.donors]
        key = [self.recipe.to_dict(), grounding_sha, donor_shas, self.runtime()]
        if self.grounding is not None:  # only then: corpora built without it keep their keys
            key.append(dict(self.grounding))
        return config_hash(key)


@dataclass(frozen=True)
class ClipJob:
    """One source clip to turn into a real clip and a fake in ``split``."""

    key: str
    source: ClipRecord
    source_path: str
    split: str
    backend: str
    seed: int


class _Loaded:
    """Per-process cache of what a context loads: the regenerators (models, or donors for weight-free backends) and
    the region source. One entry each: a long-lived worker that builds with other settings replaces its models
    instead of piling them up on the GPU."""

    _lock = threading.Lock()
    _region_lock = threading.Lock()
    _regenerators: tuple[str, dict[str, Regenerator]] | None = None
    _regions: tuple[str, RegionSource] | None = None

    @classmethod
    def get(cls, ctx: BuildContext) -> tuple[dict[str, Regenerator], RegionSource]:
        with cls._lock:
            key = ctx.regenerators_key()
            if cls._regenerators is None or cls._regenerators[0] != key:
                cls._regenerators = None  # release the old models before loading new ones
                rate = ctx.recipe.output_rate
                donors = [Donor(d_id, read_audio(path, rate)[0], rate, phrase, kind)
                          for d_id, path, phrase, kind in ctx.donors]
                cls._regenerators = (key, dict(ctx.stages.regenerators(ctx.recipe, donors, ctx.device)))
            return cls._regenerators[1], cls.regions(ctx)

    @classmethod
    def regions(cls, ctx: BuildContext) -> RegionSource:
        """The context's region source, made once per process (an on-the-fly grounding model loads here)."""
        with cls._region_lock:
            grounding_sha = sha256_file(ctx.grounding_path) if ctx.grounding_path else None  # by content: a path
            # can be rewritten (an overwritten demo corpus composes new grounding at the same place)
            key = config_hash([ctx.grounding_path, grounding_sha, ctx.recipe.region.__dict__, ctx.grounding,
                               ctx.device])
            if cls._regions is None or cls._regions[0] != key:
                cls._regions = None  # release an old grounding model before loading another
                source = ctx.stages.region_source(ctx.grounding_path, ctx.recipe.region, ctx.grounding, ctx.device)
                cls._regions = (key, source)
            return cls._regions[1]


def plan_jobs(sources: Sequence[ClipRecord], root: Path, ctx: BuildContext) -> tuple[list[ClipJob], list[Rejection]]:
    """Assign splits and backends (spread across sources, seeded); reject duplicate ids."""
    rejections, unique = [], {}
    for record in sources:
        if record.id in unique:
            first = unique[record.id].audio_path
            rejections.append(Rejection(record.id, "plan", f"duplicate source id (also {first})"))
        else:
            unique[record.id] = record
    splits = corpus.assign_splits(list(unique), ctx.seed)
    context_key = ctx.content_key()
    backends = ctx.recipe.backends
    order = sorted(unique, key=lambda s: keyed_int(ctx.seed, "backend", s))
    jobs = []
    for rank, source_id in enumerate(order):
        record = unique[source_id]
        backend = backends[rank % len(backends)]
        clip_seed = keyed_int(ctx.seed, source_id)
        key = config_hash([record.sha256, context_key, backend, clip_seed, splits[source_id]])
        jobs.append(ClipJob(key, record, str(record.resolve_audio(root)), splits[source_id], backend, clip_seed))
    return sorted(jobs, key=lambda j: (j.split, j.source.id)), rejections


@dataclass
class _Prepared:
    job: ClipJob
    audio: np.ndarray
    request: RegionRequest
    how: str


def _prepare(job: ClipJob, ctx: BuildContext, regions: RegionSource) -> _Prepared:
    """Read the source at the output rate and find its region (raises ``RejectedInput`` for unusable input)."""
    rate = ctx.recipe.output_rate
    if not job.source.caption.strip():
        raise RejectedInput(job.source_path, "missing caption")
    if not Path(job.source_path).is_file():  # not there *now*: a mount or a copy may bring it back
        raise SourceUnavailable(f"{job.source_path}: source audio not found (not stored as a rejection: "
                                "a rerun tries again)")
    audio = quantize_pcm16(read_audio(job.source_path, rate)[0])
    try:
        region, how = regions.region(job.source.id, audio, rate, job.seed, caption=job.source.caption)
    except RejectedInput as err:
        raise RejectedInput(job.source_path, f"{job.source.id}: {err.reason}") from err
    request = RegionRequest(job.source.id, audio, rate, region, job.source.caption, job.seed)
    return _Prepared(job, audio, request, how)


def labelled_span(region: Segment, changed: Segment | None, grid_s: float) -> Segment:
    """The span labelled fake: the region, or the narrower span the backend altered, widened to the grid.

    No sample labelled fake may equal the real clip, so an added event shorter than the region is labelled by
    its own span (on the grid), not by the whole region.
    """
    if changed is None:
        return region
    steps_in = max(0, math.floor((changed[0] - region[0]) / grid_s + 1e-6))  # grid steps before the change
    onset = snap_to_grid(region[0] + steps_in * grid_s, grid_s)
    offset = min(region[1], ceil_to_grid(changed[1], grid_s))
    return (onset, offset) if offset > onset else region


def write_pair(prep: _Prepared, result: RegionResult, ctx: BuildContext) -> list[ClipRecord]:
    """Splice the result into the real clip, write both (16-bit, atomically) and return their records."""
    job, recipe, rate = prep.job, ctx.recipe, ctx.recipe.output_rate
    start, stop = segment_to_samples(prep.request.region, rate)
    insert = fit_length(resample(result.audio, result.sample_rate, rate), stop - start)
    region = labelled_span(prep.request.region, result.changed, recipe.region.grid_s)
    if region != prep.request.region:  # splice only the altered span: the rest stays bit-identical
        first, last = segment_to_samples(region, rate)
        insert = insert[first - start : last - start]
    history = job.source.extra.get("history") or []  # a composed source's recording history (demo)
    if history:  # what the backend brought in carries the clip's band limit and codec
        first, last = segment_to_samples(region, rate)
        insert = shape_change(prep.audio[first:last], insert, rate, history)
    settings = recipe.splice
    fake = quantize_pcm16(splice(prep.audio, insert, region, rate, crossfade_ms=settings.crossfade_ms,
                                 loudness_match=settings.loudness_match,
                                 align_zero_crossing=settings.align_zero_crossing))
    segments = altered_segments(prep.audio, fake, region, rate)  # no labelled 20 ms frame identical to the real
    fake_id = fakesound_audio_id(job.source.id, (segments[0][0], segments[-1][1]))
    common = {
        "source_id": job.source.id, "split": job.split, "caption": job.source.caption, "sample_rate": rate,
        "num_samples": len(prep.audio), "duration": len(prep.audio) / rate, "seed": job.seed,
        "config_hash": config_hash(recipe.to_dict()),
    }
    records = []
    for clip_id, label, audio in ((job.source.id, 0, prep.audio), (fake_id, FAKE, fake)):
        rel = corpus.audio_path(job.split, clip_id)
        path = write_audio(Path(ctx.out) / rel, audio, rate)
        fake_fields: dict[str, Any] = {}
        if label == FAKE:
            fake_fields = {
                "segments": segments, "manipulation": result.info.get("manipulation", ""),
                "generator": result.info.get("generator", ""),
                "extra": {**result.info, "recipe": recipe.name, "region_from": prep.how, **ctx.runtime()},
            }
        records.append(ClipRecord(id=clip_id, label=label, audio_path=rel, sha256=sha256_file(path), **common,
                                  **fake_fields))
    return records


def _regenerate_group(regenerator: Regenerator, requests: list[RegionRequest]) -> list[RegionResult | Exception]:
    """One batched call; if it raises, retry one by one so a single bad request fails or rejects only itself."""
    try:
        return list(regenerator.regenerate_batch(requests))
    except Exception as err:
        if len(requests) == 1:
            return [err]
    made: list[RegionResult | Exception] = []
    for request in requests:
        try:
            made.append(regenerator.regenerate(request))
        except Exception as err:
            made.append(err)
    return made


def _ended(job: ClipJob, ctx: BuildContext, error: BaseException, stage: str) -> JobResult:
    """A job that raised: a content error is a stored rejection; anything else a failure, not stored."""
    if isinstance(error, RejectedInput):
        rejection = Rejection.from_error(error, stage)
        corpus.save_job(ctx.out, job.key, [], rejection)
        return JobResult(job.key, rejection=rejection)
    if not classify(error):
        log.error("job %s (%s) failed at %s", job.key, job.source.id, stage, exc_info=error)
    reason = f"{stage}: {type(error).__name__}: {error}".replace("\n", " ")
    return JobResult(job.key, failure=Failure(job.source.id, reason, classify(error)))


def finished(job: ClipJob, ctx: BuildContext) -> JobResult | None:
    """The job's stored result when it already ran (records or a rejection), else None."""
    done = corpus.load_job(ctx.out, job.key)
    return None if done is None else JobResult(job.key, tuple(done[0]), done[1])


def run_jobs(jobs: Sequence[ClipJob], ctx: BuildContext) -> list[JobResult]:
    """Run one chunk of jobs: finished ones are loaded, the rest are regenerated together per backend."""
    results: dict[str, JobResult] = {}
    for job in jobs:
        done = finished(job, ctx)
        if done is not None:
            results[job.key] = done
    todo = [j for j in jobs if j.key not in results]
    if todo:
        regenerators, regions = _Loaded.get(ctx)
        pending = []
        for job in todo:
            try:
                pending.append(_prepare(job, ctx, regions))
            except Exception as err:
                results[job.key] = _ended(job, ctx, err, "ground")
        for backend in sorted({p.job.backend for p in pending}):
            group = [p for p in pending if p.job.backend == backend]
            regenerator = regenerators[backend]
            made = _regenerate_group(regenerator, [p.request for p in group])
            for prep, result in zip(group, made, strict=True):
                job = prep.job
                if isinstance(result, Exception):
                    results[job.key] = _ended(job, ctx, result, "regenerate")
                    continue
                info = {"manipulation": regenerator.manipulation, "generator": regenerator.name, **result.info}
                try:
                    records = write_pair(prep, dataclasses.replace(result, info=info), ctx)
                    corpus.save_job(ctx.out, job.key, records)
                except Exception as err:
                    results[job.key] = _ended(job, ctx, err, "write")
                    continue
                results[job.key] = JobResult(job.key, tuple(records))
    return [results[j.key] for j in jobs]


def chunk_failed(chunk: Sequence[ClipJob], ctx: BuildContext, error: BaseException) -> list[JobResult]:
    """Results of a chunk whose task failed as a whole (retries spent, worker lost): the jobs it finished are on
    disk; the others are failures carrying the task's error."""
    reason = f"task: {type(error).__name__}: {error}".replace("\n", " ")
    return [finished(job, ctx) or JobResult(job.key, failure=Failure(job.source.id, reason, classify(error)))
            for job in chunk]


def chunk_size_for(jobs: int, workers: int, requested: int | None) -> int:
    """Jobs per chunk: as requested, else a few chunks per worker, at most MAX_CHUNK jobs, at most MAX_CHUNKS chunks."""
    if requested is not None:
        return max(1, requested)
    size = min(MAX_CHUNK, math.ceil(jobs / (CHUNKS_PER_WORKER * max(1, workers))))
    return max(1, size, math.ceil(jobs / MAX_CHUNKS))


def chunked(jobs: Sequence[ClipJob], size: int) -> list[list[ClipJob]]:
    """Consecutive chunks of at most ``size`` jobs (one executor task each)."""
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), max(1, size))]


#: Runs chunks of jobs and yields each chunk's results (threads, Dask, Prefect tasks: see ``flows/``).
Executor = Callable[[list[list[ClipJob]], BuildContext], Iterable[list[JobResult]]]


def serial_executor(chunks: list[list[ClipJob]], ctx: BuildContext) -> Iterator[list[JobResult]]:
    """Run the chunks one after another in this thread (the library's default)."""
    for chunk in chunks:
        yield run_jobs(chunk, ctx)


def load_sources(path: str | Path) -> tuple[list[ClipRecord], Path]:
    """A source manifest and the folder its relative audio paths are taken from."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: source manifest not found")
    return read_manifest(path), path.parent


def kit_donors(kit_dir: str | Path) -> tuple[tuple[str, str, str, str], ...]:
    """All demo-kit recordings, as donors for the weight-free splice and addition backends."""
    from pipeline.compose import read_kit

    return tuple((s.file.rsplit(".", 1)[0], str(Path(kit_dir) / s.file), s.phrase, s.kind) for s in read_kit(kit_dir))


#: How many source clips are drawn as donors when no donors are given (bounded memory: each is kept decoded).
SOURCE_DONORS = 64


def source_donors(sources: Sequence[ClipRecord], root: Path, limit: int | None = SOURCE_DONORS,
                  seed: int = 0) -> tuple:
    """The source clips in a seeded order, as donor candidates (the first ``limit``; None: all)."""
    ranked = sorted(sources, key=lambda r: keyed_int(seed, "donor", r.id))[:limit]
    return tuple((r.id, str(r.resolve_audio(root)), r.caption, "") for r in ranked)


def usable_donors(candidates: Sequence[tuple[str, str, str, str]], rate: int,
                  limit: int | None = None) -> tuple[tuple[tuple[str, str, str, str], ...], list[Rejection]]:
    """The first ``limit`` candidates (in their order) that decode to audible, finite audio at ``rate``; each one
    that does not (missing, undecodable, NaN/Inf, silent) is skipped and reported (stage ``donor``), never fatal:
    one poisoned file must not stop a build.
    """
    kept, rejected = [], []
    for donor in candidates:
        if limit is not None and len(kept) >= limit:
            break
        try:
            audio = read_audio(donor[1], rate)[0]
            if not np.any(audio):
                raise RejectedInput(donor[1], "audio is digital silence")
        except RejectedInput as err:
            rejected.append(Rejection(err.item, "donor", f"skipped as a donor: {err.reason}"))
            continue
        kept.append(tuple(donor))
    return tuple(kept), rejected


def _checked_donors(donors: tuple, sources: Sequence[ClipRecord], root: Path, rate: int,
                    seed: int) -> tuple[tuple, list[Rejection]]:
    """Given donors, checked; or donors drawn from the sources (a bad one replaced by the next in the seeded order,
    the chosen ones in id order)."""
    if donors:
        return usable_donors(donors, rate)
    drawn, rejected = usable_donors(source_donors(sources, root, None, seed), rate, SOURCE_DONORS)
    return tuple(sorted(drawn, key=lambda d: d[0])), rejected


def corpus_identity(recipe: Recipe, seed: int, runtime: Mapping[str, str], grounding: Mapping[str, Any] | None,
                    provenance: Mapping[str, Any] | None, grounding_path: str | None) -> dict[str, Any]:
    """What makes a corpus the corpus it is (its folder's identity record): the request minus what differs between
    shards of one corpus (the source manifest) and resources (device within one runtime, workers, chunk size)."""
    identity: dict[str, Any] = {"recipe": recipe.to_dict(), "runtime": dict(runtime),
                                "grounding_model": None if grounding is None else dict(grounding)}
    if provenance is None:  # the library call: the seed, and the grounding file by name
        identity |= {"seed": seed, "grounding": Path(grounding_path).name if grounding_path else None}
    else:
        identity["request"] = {k: v for k, v in provenance.items() if k not in ("sources", "device")}
    return identity


def run_build(
    out: str | Path,
    sources: Sequence[ClipRecord],
    root: Path,
    recipe: Recipe,
    stages: Stages,
    seed: int = 0,
    grounding_path: str | None = None,
    donors: tuple = (),
    device: str = "auto",
    executor: Executor | None = None,
    chunk_size: int | None = None,
    provenance: dict[str, Any] | None = None,
    workers: int = 1,
    grounding: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> tuple[list[ClipRecord], list[Rejection]]:
    """Build a corpus into ``out`` (resumable) and finalise its manifest; returns (records, rejections).

    Every checkpoint is checked first (loading nothing), then the folder is locked and its identity checked
    (:mod:`pipeline.folder`; ``overwrite`` replaces another corpus). Raises :class:`BuildIncomplete` after
    finalising when some jobs failed (the corpus holds every other clip).
    """
    identity = corpus_identity(recipe, seed, recipe_runtime(recipe, device, grounding), grounding, provenance,
                               grounding_path)
    stages.check_checkpoints(recipe, grounding, grounding_path)  # missing weights: one line, nothing written
    with folder.claim(out, identity, overwrite) as claimed:
        return _run_claimed(claimed, sources, root, recipe, stages, seed, grounding_path, donors, device, executor,
                            chunk_size, provenance, workers, grounding)


def _run_claimed(out: Path, sources: Sequence[ClipRecord], root: Path, recipe: Recipe, stages: Stages, seed: int,
                 grounding_path: str | None, donors: tuple, device: str, executor: Executor | None,
                 chunk_size: int | None, provenance: dict[str, Any] | None, workers: int,
                 grounding: Mapping[str, Any] | None) -> tuple[list[ClipRecord], list[Rejection]]:
    """:func:`run_build` in a folder this process has claimed."""
    if (root / corpus.LICENSES).is_file():  # the sources' attribution travels with the audio built from them
        atomic_write_text(out / corpus.LICENSES, (root / corpus.LICENSES).read_text(encoding="utf-8"))
    donors, rejections = _checked_donors(donors, sources, root, recipe.output_rate, seed)
    ctx = BuildContext(str(out), recipe, seed, stages, grounding_path, donors, device, grounding)
    jobs, planned = plan_jobs(sources, root, ctx)
    rejections += planned
    results: list[JobResult] = []
    todo = []
    for job in jobs:  # finished jobs are not handed to any worker
        done = finished(job, ctx)
        if done is None:
            todo.append(job)
        else:
            results.append(done)
    log.info("%d clip jobs: %d finished before, %d to run", len(jobs), len(jobs) - len(todo), len(todo))
    if todo:
        if grounding is not None:  # load the grounder now: a missing checkpoint stops the build before any clip
            _Loaded.regions(ctx)
        _check_donor_backends(ctx, rejections)
        chunks = chunked(todo, chunk_size_for(len(todo), workers, chunk_size))
        for chunk_results in (executor or serial_executor)(chunks, ctx):
            results.extend(chunk_results)
    records = [record for result in results for record in result.records]
    rejections += [result.rejection for result in results if result.rejection is not None]
    failures = [result.failure for result in results if result.failure is not None]
    records += _other_shards(out, {job.key for job in jobs}, {r.id for r in records}, rejections)
    grounding_name = Path(grounding_path).name if grounding_path else None
    info = {"recipe": recipe.to_dict(), "seed": seed, "grounding": grounding_name, "runtime": ctx.runtime(),
            "request": provenance}
    if grounding is not None:
        info["grounding_model"] = dict(grounding)
    records = corpus.finalize_corpus(out, records, rejections, info)
    if failures:
        raise BuildIncomplete(sorted(failures, key=lambda f: f.source_id), records, rejections)
    return records, rejections


def _check_donor_backends(ctx: BuildContext, rejections: Sequence[Rejection]) -> None:
    """When every donor candidate was rejected, start the (weight-free, cheap) backends now, so one that needs
    donors stops the build before any clip with a line that says why there are none (count and first rejection)."""
    skipped = [r for r in rejections if r.stage == "donor"]
    if ctx.donors or not skipped or ctx.recipe.uses_models:
        return
    try:
        _Loaded.get(ctx)
    except RejectedInput as err:
        first = skipped[0]
        raise RejectedInput(err.item, f"{err.reason}; all {len(skipped)} donor candidate(s) were rejected (first: "
                                      f"{first.item}: {first.reason})") from err


def _other_shards(out: Path, planned: set[str], made: set[str], rejections: list[Rejection]) -> list[ClipRecord]:
    """Clips (and stored rejections, added to ``rejections``) of the folder's other finished jobs: runs over other
    source shards of this corpus (same identity), so the manifest holds every shard. A clip id this run made wins."""
    records = []
    for shard_records, rejection in corpus.other_jobs(out, planned):
        records += [r for r in shard_records if r.id not in made]
        if rejection is not None and rejection not in rejections:
            rejections.append(rejection)
    return records


def build(request: BuildRequest, recipe: Recipe, stages: Stages,
          executor: Executor | None = None) -> tuple[list[ClipRecord], list[Rejection]]:
    """Run a :class:`BuildRequest` with the recipe and stages the caller resolved (``flows.build`` does).

    Paths are made absolute first, so workers that start in another folder find the same files; the folder is
    locked and its identity checked before anything is written (a demo's composed sources included).
    """
    request = request.absolute()
    grounding = stages.grounding_settings(request.grounding_model) if request.grounding_model else None
    common = {"device": request.device, "executor": executor, "chunk_size": request.chunk_size,
              "provenance": request.provenance(), "workers": request.workers, "grounding": grounding}
    identity = corpus_identity(recipe, request.seed, recipe_runtime(recipe, request.device, grounding), grounding,
                               request.provenance(), request.grounding)
    stages.check_checkpoints(recipe, grounding, request.grounding)  # missing weights: one line, nothing written
    with folder.claim(request.out, identity, request.overwrite) as out:
        if not request.demo:
            sources, root = load_sources(request.sources or "")
            return _run_claimed(out, sources, root, recipe, stages, request.seed, request.grounding, (), **common)
        from pipeline.compose import compose_demo_sources, default_kit_dir

        kit = Path(request.kit) if request.kit else default_kit_dir()
        manifest, grounding_json = compose_demo_sources(out / corpus.DEMO_SOURCES, request.demo_sources,
                                                        request.seed, kit)
        sources, root = load_sources(manifest)
        return _run_claimed(out, sources, root, recipe, stages, request.seed, str(grounding_json), kit_donors(kit),
                            **common)
