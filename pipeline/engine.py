"""The build engine: one clip's way from source to corpus, top to bottom, against the core's interfaces.

A build is cut into **jobs**, one per source clip (its real clip and its fake, in one split). Jobs are planned
(split, backend and seed per source, all seeded), keyed for resume on what they produce (the source audio's
hash, the recipe, grounding and donors by content, the runtime the models run on, the seed), grouped into
**chunks** (the scheduling unit an executor runs as one task) and run:

    region (RegionSource) -> regenerate (Regenerator, batched per backend) -> label span -> splice
        -> write the real/fake pair -> ClipRecord -> job record

A finished job's record is saved atomically after its audio, so a rerun (after a crash or SIGKILL) loads it
instead of redoing it; the manifest and metadata are written at the end from the job records, in a fixed order.
The engine knows no concrete stage: ``flows/`` hands it a :class:`~pipeline.interfaces.Stages` and an executor.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import corpus
from pipeline.audio_io import quantize_pcm16, read_audio, resample, write_audio
from pipeline.errors import RejectedInput, Rejection
from pipeline.fakesound_format import fakesound_audio_id
from pipeline.hashing import config_hash, sha256_file
from pipeline.interfaces import Donor, Recipe, Regenerator, RegionRequest, RegionResult, RegionSource, Stages
from pipeline.manifest import FAKE, ClipRecord, read_manifest
from pipeline.requests import BuildRequest
from pipeline.seeding import keyed_int
from pipeline.splice import fit_length, splice
from pipeline.timemath import Segment, ceil_to_grid, segment_to_samples, snap_to_grid

#: What weight-free recipes run on, whatever the device asked for (numpy on the CPU).
CPU_RUNTIME = {"device": "cpu", "dtype": "float32"}
Outcome = tuple[list[ClipRecord], Rejection | None]


def recipe_runtime(recipe: Recipe, device: str) -> dict[str, str]:
    """Device type and dtype the recipe's backends really run on (``auto`` and ``cuda:0`` resolve alike)."""
    if not recipe.uses_models:
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

    @property
    def key(self) -> str:
        """Identity of what this context loads (per-process cache key)."""
        return config_hash([self.recipe.to_dict(), self.grounding_path, self.donors, self.device])

    def runtime(self) -> dict[str, str]:
        return recipe_runtime(self.recipe, self.device)

    def content_key(self) -> str:
        """Identity of what this context produces: file contents, not paths, so a moved corpus resumes."""
        grounding_sha = sha256_file(self.grounding_path) if self.grounding_path else None
        donor_shas = [(d_id, sha256_file(path), phrase, kind) for d_id, path, phrase, kind in self.donors]
        return config_hash([self.recipe.to_dict(), grounding_sha, donor_shas, self.runtime()])


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
    """Per-process cache of what a context loads once: regenerators (with donors) and the region source."""

    _lock = threading.Lock()
    _by_context: dict[str, tuple[dict[str, Regenerator], RegionSource]] = {}  # noqa: RUF012 - process-local cache

    @classmethod
    def get(cls, ctx: BuildContext) -> tuple[dict[str, Regenerator], RegionSource]:
        with cls._lock:
            if ctx.key not in cls._by_context:
                rate = ctx.recipe.output_rate
                donors = [Donor(d_id, read_audio(path, rate)[0], rate, phrase, kind)
                          for d_id, path, phrase, kind in ctx.donors]
                regenerators = dict(ctx.stages.regenerators(ctx.recipe, donors, ctx.device))
                regions = ctx.stages.region_source(ctx.grounding_path, ctx.recipe.region)
                cls._by_context[ctx.key] = (regenerators, regions)
            return cls._by_context[ctx.key]


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
    audio = quantize_pcm16(read_audio(job.source_path, rate)[0])
    try:
        region, how = regions.region(job.source.id, audio, rate, job.seed)
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
    settings = recipe.splice
    fake = quantize_pcm16(splice(prep.audio, insert, region, rate, crossfade_ms=settings.crossfade_ms,
                                 loudness_match=settings.loudness_match))
    fake_id = fakesound_audio_id(job.source.id, region)
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
                "segments": [region], "manipulation": result.info.get("manipulation", ""),
                "generator": result.info.get("generator", ""),
                "extra": {**result.info, "recipe": recipe.name, "region_from": prep.how, **ctx.runtime()},
            }
        records.append(ClipRecord(id=clip_id, label=label, audio_path=rel, sha256=sha256_file(path), **common,
                                  **fake_fields))
    return records


def _regenerate_group(regenerator: Regenerator, requests: list[RegionRequest]) -> list[RegionResult | RejectedInput]:
    """One batched call; if it rejects, retry one by one so a single bad request rejects only itself."""
    try:
        return list(regenerator.regenerate_batch(requests))
    except RejectedInput as err:
        if len(requests) == 1:
            return [err]
    made: list[RegionResult | RejectedInput] = []
    for request in requests:
        try:
            made.append(regenerator.regenerate(request))
        except RejectedInput as err:
            made.append(err)
    return made


def run_jobs(jobs: Sequence[ClipJob], ctx: BuildContext) -> list[Outcome]:
    """Run one chunk of jobs: finished ones are loaded, the rest are regenerated together per backend."""
    outcomes: dict[str, Outcome] = {}
    for job in jobs:
        done = corpus.load_job(ctx.out, job.key)
        if done is not None:
            outcomes[job.key] = done
    todo = [j for j in jobs if j.key not in outcomes]
    if todo:
        regenerators, regions = _Loaded.get(ctx)
        pending = []
        for job in todo:
            try:
                pending.append(_prepare(job, ctx, regions))
            except RejectedInput as err:
                outcomes[job.key] = ([], Rejection.from_error(err, "ground"))
                corpus.save_job(ctx.out, job.key, [], outcomes[job.key][1])
        for backend in sorted({p.job.backend for p in pending}):
            group = [p for p in pending if p.job.backend == backend]
            regenerator = regenerators[backend]
            made = _regenerate_group(regenerator, [p.request for p in group])
            for prep, result in zip(group, made, strict=True):
                if isinstance(result, RejectedInput):
                    outcome: Outcome = ([], Rejection.from_error(result, "regenerate"))
                else:
                    info = {"manipulation": regenerator.manipulation, "generator": regenerator.name, **result.info}
                    outcome = (write_pair(prep, dataclasses.replace(result, info=info), ctx), None)
                corpus.save_job(ctx.out, prep.job.key, outcome[0], outcome[1])
                outcomes[prep.job.key] = outcome
    return [outcomes[j.key] for j in jobs]


def chunked(jobs: Sequence[ClipJob], size: int) -> list[list[ClipJob]]:
    """Consecutive chunks of at most ``size`` jobs (one executor task each)."""
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), max(1, size))]


#: Runs chunks of jobs and yields each chunk's outcomes (threads, Dask, Prefect tasks: see ``flows/``).
Executor = Callable[[list[list[ClipJob]], BuildContext], Iterable[list[Outcome]]]


def serial_executor(chunks: list[list[ClipJob]], ctx: BuildContext) -> Iterator[list[Outcome]]:
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
    that does not is skipped and reported (stage ``donor``), never fatal: one poisoned file must not stop a build.
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
    chunk_size: int = 16,
    provenance: dict[str, Any] | None = None,
) -> tuple[list[ClipRecord], list[Rejection]]:
    """Build a corpus into ``out`` (resumable) and finalise its manifest; returns (records, rejections)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus.remove_partial_files(out)
    if donors:
        donors, donor_rejections = usable_donors(donors, recipe.output_rate)
    else:  # drawn from the sources: a bad one is replaced by the next in the seeded order
        drawn, donor_rejections = usable_donors(source_donors(sources, root, None, seed), recipe.output_rate,
                                                SOURCE_DONORS)
        donors = tuple(sorted(drawn, key=lambda d: d[0]))
    ctx = BuildContext(str(out), recipe, seed, stages, grounding_path, donors, device)
    jobs, rejections = plan_jobs(sources, root, ctx)
    rejections += donor_rejections
    records: list[ClipRecord] = []
    for outcome in (executor or serial_executor)(chunked(jobs, chunk_size), ctx):
        for recs, rejection in outcome:
            records.extend(recs)
            if rejection is not None:
                rejections.append(rejection)
    grounding_name = Path(grounding_path).name if grounding_path else None
    info = {"recipe": recipe.to_dict(), "seed": seed, "grounding": grounding_name, "runtime": ctx.runtime(),
            "request": provenance}
    return corpus.finalize_corpus(out, records, rejections, info), rejections


def build(request: BuildRequest, recipe: Recipe, stages: Stages,
          executor: Executor | None = None) -> tuple[list[ClipRecord], list[Rejection]]:
    """Run a :class:`BuildRequest` with the recipe and stages the caller resolved (``flows.build`` does)."""
    if not request.demo:
        sources, root = load_sources(request.sources or "")
        return run_build(request.out, sources, root, recipe, stages, request.seed, request.grounding,
                         device=request.device, executor=executor, chunk_size=request.chunk_size,
                         provenance=request.provenance())
    from pipeline.compose import compose_demo_sources, default_kit_dir, write_demo_licenses

    kit = Path(request.kit) if request.kit else default_kit_dir()
    out = Path(request.out)
    corpus.remove_partial_files(out)
    manifest, grounding_json = compose_demo_sources(out / "sources", request.demo_sources, request.seed, kit)
    write_demo_licenses(out, kit)
    sources, root = load_sources(manifest)
    return run_build(out, sources, root, recipe, stages, request.seed, str(grounding_json), kit_donors(kit),
                     device=request.device, executor=executor, chunk_size=request.chunk_size,
                     provenance=request.provenance())
