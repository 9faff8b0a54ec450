"""The ``build-fakesound`` flow: sources -> grounding -> regeneration -> splice -> corpus.

Orchestration only: every step calls a stage (grounding, regenerate) or the core (pipeline).
Work is cut into jobs, one per source clip (a real clip and its fake in one split), keyed on
the source audio hash, the recipe config, the backend and the seed. A finished job's records
are saved atomically after its audio, so a rerun (after a crash or SIGKILL) skips it; the
manifest and metadata are written at the end from the job records, in a fixed order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import grounding
from pipeline import corpus
from pipeline.audio_io import quantize_pcm16, read_audio, resample, write_audio
from pipeline.conditions import shape_change
from pipeline.errors import RejectedInput, Rejection
from pipeline.fakesound_format import fakesound_audio_id
from pipeline.hashing import config_hash, sha256_file
from pipeline.manifest import FAKE, ClipRecord, read_manifest
from pipeline.splice import altered_span, fit_length, splice
from pipeline.timemath import Segment, ceil_to_grid, segment_to_samples, snap_to_grid
from regenerate import Donor, RegionRequest, RegionResult
from regenerate.recipes import Recipe, create_regenerators, get_recipe


@dataclass(frozen=True)
class BuildContext:
    """Everything a worker needs to run jobs (picklable, so Dask processes can take it)."""

    out: str
    recipe: Recipe
    seed: int
    grounding_path: str | None = None
    donors: tuple[tuple[str, str, str, str], ...] = ()  # (id, audio path, phrase, kind)
    device: str = "auto"

    @property
    def key(self) -> str:
        """Identity of what this context loads (per-process cache key)."""
        return config_hash([self.recipe.to_dict(), self.grounding_path, self.donors, self.device])

    def content_key(self) -> str:
        """Identity of what this context produces: file contents, not paths, so a moved corpus resumes."""
        grounding_sha = sha256_file(self.grounding_path) if self.grounding_path else None
        donor_shas = [(d_id, sha256_file(path), phrase, kind) for d_id, path, phrase, kind in self.donors]
        return config_hash([self.recipe.to_dict(), grounding_sha, donor_shas, self.device])


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
    """Per-process cache of what a context loads once: regenerators, donors, grounding results."""

    _lock = threading.Lock()
    _by_context: dict[str, tuple[dict, dict]] = {}  # noqa: RUF012 - process-local cache

    @classmethod
    def get(cls, ctx: BuildContext) -> tuple[dict, dict]:
        with cls._lock:
            if ctx.key not in cls._by_context:
                donors = [
                    Donor(d_id, read_audio(path, ctx.recipe.output_rate)[0], ctx.recipe.output_rate, phrase, kind)
                    for d_id, path, phrase, kind in ctx.donors
                ]
                regenerators = create_regenerators(ctx.recipe, donors=donors, device=ctx.device)
                results = grounding.load_grounding(ctx.grounding_path) if ctx.grounding_path else {}
                cls._by_context[ctx.key] = (regenerators, results)
            return cls._by_context[ctx.key]


def _stable_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "little")


def plan_jobs(
    sources: Sequence[ClipRecord], root: Path, ctx: BuildContext
) -> tuple[list[ClipJob], list[Rejection]]:
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
    order = sorted(unique, key=lambda s: _stable_int(ctx.seed, "backend", s))
    jobs = []
    for rank, source_id in enumerate(order):
        record = unique[source_id]
        backend = backends[rank % len(backends)]
        clip_seed = _stable_int(ctx.seed, source_id)
        key = config_hash([record.sha256, context_key, backend, clip_seed, splits[source_id]])
        jobs.append(ClipJob(key, record, str(record.resolve_audio(root)), splits[source_id], backend, clip_seed))
    return sorted(jobs, key=lambda j: (j.split, j.source.id)), rejections


@dataclass
class _Prepared:
    job: ClipJob
    audio: np.ndarray
    request: RegionRequest
    how: str


def _prepare(job: ClipJob, ctx: BuildContext, results: dict) -> _Prepared:
    rate = ctx.recipe.output_rate
    if not job.source.caption.strip():
        raise RejectedInput(job.source_path, "missing caption")
    audio = quantize_pcm16(read_audio(job.source_path, rate)[0])
    policy = grounding.RegionPolicy(
        min_s=ctx.recipe.region_min_s, max_s=ctx.recipe.region_max_s,
        grid_s=ctx.recipe.grid_s, phrase_choice=ctx.recipe.phrase_choice,
    )
    duration = len(audio) / rate
    try:
        region, how = grounding.select_region(
            job.source.id, duration, results.get(job.source.id), policy, job.seed, audio=audio, sample_rate=rate
        )
    except RejectedInput as err:
        raise RejectedInput(job.source_path, f"{job.source.id}: {err.reason}") from err
    request = RegionRequest(job.source.id, audio, rate, region, job.source.caption, job.seed)
    return _Prepared(job, audio, request, how)


def _labelled_span(region: Segment, changed: Segment | None, grid_s: float) -> Segment:
    """The span labelled fake: the region, or the narrower span the backend altered, widened to the grid."""
    if changed is None:
        return region
    steps_in = max(0, math.floor((changed[0] - region[0]) / grid_s + 1e-6))  # grid steps before the change
    onset = snap_to_grid(region[0] + steps_in * grid_s, grid_s)
    offset = min(region[1], ceil_to_grid(changed[1], grid_s))
    return (onset, offset) if offset > onset else region


def _write_pair(prep: _Prepared, result: RegionResult, ctx: BuildContext) -> list[ClipRecord]:
    job, recipe, rate = prep.job, ctx.recipe, ctx.recipe.output_rate
    start, stop = segment_to_samples(prep.request.region, rate)
    insert = fit_length(resample(result.audio, result.sample_rate, rate), stop - start)
    region = _labelled_span(prep.request.region, result.changed, recipe.grid_s)
    if region != prep.request.region:  # splice only the altered span: the rest stays bit-identical
        first, last = segment_to_samples(region, rate)
        insert = insert[first - start : last - start]
    history = job.source.extra.get("history") or []  # a composed source's recording history (demo)
    if history:
        first, last = segment_to_samples(region, rate)
        insert = shape_change(prep.audio[first:last], insert, rate, history)
    fake = quantize_pcm16(
        splice(prep.audio, insert, region, rate, crossfade_ms=recipe.crossfade_ms, loudness_match=recipe.loudness_match)
    )
    region = altered_span(prep.audio, fake, region, rate, recipe.grid_s)  # no label edge identical to the real
    fake_id = fakesound_audio_id(job.source.id, region)
    common = {
        "source_id": job.source.id, "split": job.split, "caption": job.source.caption, "sample_rate": rate,
        "num_samples": len(prep.audio), "duration": len(prep.audio) / rate, "seed": job.seed,
        "config_hash": config_hash(recipe.to_dict()),
    }
    records = []
    for clip_id, label, audio in ((job.source.id, 0, prep.audio), (fake_id, FAKE, fake)):
        rel = f"audio/{job.split}/{clip_id}.wav"
        path = write_audio(Path(ctx.out) / rel, audio, rate)
        fake_fields: dict[str, Any] = {}
        if label == FAKE:
            fake_fields = {
                "segments": [region], "manipulation": result.info.get("manipulation", ""),
                "generator": result.info.get("generator", ""),
                "extra": {**result.info, "recipe": recipe.name, "region_from": prep.how},
            }
        records.append(ClipRecord(id=clip_id, label=label, audio_path=rel, sha256=sha256_file(path), **common,
                                  **fake_fields))
    return records


def _regenerate_group(regenerator: Any, requests: list[RegionRequest]) -> list[RegionResult | RejectedInput]:
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


def run_jobs(jobs: Sequence[ClipJob], ctx: BuildContext) -> list[tuple[list[ClipRecord], Rejection | None]]:
    """Run a batch of jobs: finished ones are loaded, the rest are regenerated together per backend."""
    outcomes: dict[str, tuple[list[ClipRecord], Rejection | None]] = {}
    pending = []
    for job in jobs:
        done = corpus.load_job(ctx.out, job.key)
        if done is not None:
            outcomes[job.key] = done
    todo = [j for j in jobs if j.key not in outcomes]
    if todo:
        regenerators, results = _Loaded.get(ctx)
        for job in todo:
            try:
                pending.append(_prepare(job, ctx, results))
            except RejectedInput as err:
                outcomes[job.key] = ([], Rejection.from_error(err, "ground"))
                corpus.save_job(ctx.out, job.key, [], outcomes[job.key][1])
        for backend in sorted({p.job.backend for p in pending}):
            group = [p for p in pending if p.job.backend == backend]
            regenerator = regenerators[backend]
            made = _regenerate_group(regenerator, [p.request for p in group])
            for prep, result in zip(group, made, strict=True):
                if isinstance(result, RejectedInput):
                    outcome: tuple[list[ClipRecord], Rejection | None] = (
                        [], Rejection.from_error(result, "regenerate")
                    )
                else:
                    info = {"manipulation": regenerator.manipulation, "generator": regenerator.name, **result.info}
                    outcome = (_write_pair(prep, dataclasses.replace(result, info=info), ctx), None)
                corpus.save_job(ctx.out, prep.job.key, outcome[0], outcome[1])
                outcomes[prep.job.key] = outcome
    return [outcomes[j.key] for j in jobs]


def batched(jobs: Sequence[ClipJob], size: int) -> list[list[ClipJob]]:
    """Consecutive batches of at most ``size`` jobs (GPU generators take several clips per call)."""
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), max(1, size))]


Executor = Callable[[list[list[ClipJob]], BuildContext], Iterable[list[tuple[list[ClipRecord], Rejection | None]]]]


def thread_executor(workers: int = 2, progress: bool = True) -> Executor:
    """Run batches on a thread pool, with a progress bar."""

    def execute(batches: list[list[ClipJob]], ctx: BuildContext) -> Iterator[list]:
        from tqdm.auto import tqdm

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
            total=sum(map(len, batches)), unit="source", desc="build", disable=not progress
        ) as bar:
            for outcome in pool.map(lambda b: run_jobs(b, ctx), batches):
                bar.update(len(outcome))
                yield outcome

    return execute


def load_sources(path: str | Path) -> tuple[list[ClipRecord], Path]:
    """A source manifest and the folder its relative audio paths are taken from."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: source manifest not found")
    return read_manifest(path), path.parent


def demo_donors(kit_dir: str | Path) -> tuple[tuple[str, str, str, str], ...]:
    """All demo-kit recordings, as donors for the weight-free splice and addition backends."""
    from pipeline.compose import read_kit

    return tuple((s.file.rsplit(".", 1)[0], str(Path(kit_dir) / s.file), s.phrase, s.kind) for s in read_kit(kit_dir))


def source_donors(sources: Sequence[ClipRecord], root: Path, limit: int = 64, seed: int = 0) -> tuple:
    """A seeded sample of the source clips themselves, as donors (bounded memory)."""
    chosen = sorted(sources, key=lambda r: _stable_int(seed, "donor", r.id))[:limit]
    return tuple((r.id, str(r.resolve_audio(root)), r.caption, "") for r in sorted(chosen, key=lambda r: r.id))


def run_build(
    out: str | Path,
    sources: Sequence[ClipRecord],
    root: Path,
    recipe: Recipe,
    seed: int = 0,
    grounding_path: str | None = None,
    donors: tuple = (),
    device: str = "auto",
    executor: Executor | None = None,
    batch_size: int | None = None,
) -> tuple[list[ClipRecord], list[Rejection]]:
    """Build a corpus into ``out`` (resumable) and finalise its manifest; returns (records, rejections)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    corpus.remove_partial_files(out)
    ctx = BuildContext(str(out), recipe, seed, grounding_path, donors or source_donors(sources, root, seed=seed),
                       device)
    jobs, rejections = plan_jobs(sources, root, ctx)
    size = batch_size or int(recipe.params.get("batch_size", 1))
    records: list[ClipRecord] = []
    for outcome in (executor or thread_executor())(batched(jobs, size), ctx):
        for recs, rejection in outcome:
            records.extend(recs)
            if rejection is not None:
                rejections.append(rejection)
    grounding_name = Path(grounding_path).name if grounding_path else None
    info = {"recipe": recipe.to_dict(), "seed": seed, "grounding": grounding_name}
    return corpus.finalize_corpus(out, records, rejections, info), rejections


def build_demo(
    out: str | Path, clips: int = 300, seed: int = 0, kit_dir: str | Path | None = None,
    executor: Executor | None = None, recipe: str = "weight-free",
) -> tuple[list[ClipRecord], list[Rejection]]:
    """Compose demo sources (each gives a real clip and a fake: ``clips / 2`` sources) and build them."""
    import shutil

    from pipeline.compose import compose_demo_sources, default_kit_dir

    kit = Path(kit_dir) if kit_dir else default_kit_dir()
    out = Path(out)
    corpus.remove_partial_files(out)
    manifest, grounding_json = compose_demo_sources(out / "sources", max(1, (clips + 1) // 2), seed, kit)
    shutil.copyfile(kit / "LICENSES.md", out / "LICENSES.md")
    sources, root = load_sources(manifest)
    return run_build(out, sources, root, get_recipe(recipe), seed, str(grounding_json), demo_donors(kit),
                     executor=executor)
