"""FakeSound's real clips restored: each real cut, resampled and encoded as its released fakes are.

FakeSound published only its fakes (hard splices of AudioCaps clips: bit-identical to the real clip outside the
regenerated region). Given the metadata JSONs, the unpacked release and AudioCaps sources (a source manifest from
``import-sources``), each real is rebuilt from its source at the rate, length, channel count and sample format of
its fake, then checked against the fake *outside* the fake region: the source is slid over the fake
(``max_shift_s`` either way, then refined to a fraction of a sample), the shift that maximises the correlation
there is kept, and the agreement is measured as correlation, gain-matched SNR and plain SNR. A real whose best
gain-matched SNR is below ``min_snr_db`` is a different clip or offset: reported, not kept.

Output: a paired corpus (``audio/<split>/<audio_id>.<ext>`` for reals and their fakes, linked or copied),
``manifest.jsonl``, ``<split>.json`` in FakeSound's format, ``rejected.jsonl`` (fakes whose real is missing, reals
that do not match) and ``summary.json`` (counts, and the rates and lengths the released fakes were found to have).
Each (split, source) is one job keyed on the content of its source and fakes, so a rerun redoes only what changed.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipeline import corpus
from pipeline.atomic import atomic_path, atomic_write_text
from pipeline.audio_io import read_audio, write_audio
from pipeline.errors import ConfigError, RejectedInput, Rejection
from pipeline.fakesound_format import read_fakesound_json, resolve_release_path
from pipeline.folder import folder_lock
from pipeline.hashing import config_hash, sha256_file
from pipeline.licences import restored_reals_licences
from pipeline.manifest import FAKE, REAL, ClipRecord, read_manifest
from pipeline.requests import Request, opt, required
from pipeline.timemath import Segment, samples_to_seconds, seconds_to_samples, segment_to_samples

STAGE = "restore-reals"


@dataclass(frozen=True)
class RealsCheck:
    """How a restored real is aligned with, and judged against, its fakes."""

    max_shift_s: float = 0.5  # how far the source may be offset from the release, either way
    min_snr_db: float = 10.0  # gain-matched SNR outside the region below which the real is a mismatch
    guard_s: float = 0.04  # left out on each side of the region (one 40 ms grid step)
    min_outside_s: float = 0.2  # less audio than this outside the region cannot be checked

    def __post_init__(self) -> None:
        if self.max_shift_s < 0 or self.guard_s < 0 or self.min_outside_s <= 0:
            raise ConfigError(f"bad check settings {self}")


@dataclass(frozen=True)
class RestoreRealsRequest(Request):
    """One restore (library, CLI and flow alike): FakeSound metadata files, where the release was unpacked, the
    sources, the output folder, and the check's settings (defaults: :class:`RealsCheck`'s)."""

    metadata: list[str] = required("FakeSound meta_data JSON files (train, easy, hard, zeroshot)")
    fakes_root: str = required("folder the ZeyuXie/FakeSound archive was unpacked into (or any folder inside it)")
    sources: str = required("source manifest from `fakesound import-sources`")
    out: str = required("paired corpus folder to write")
    max_shift_s: float = opt(RealsCheck.max_shift_s, "seconds a source may be offset from the release, either way",
                             aliases=("--max-shift",))
    min_snr_db: float = opt(RealsCheck.min_snr_db, "gain-matched SNR (dB) outside the region a real needs",
                            aliases=("--min-snr",))
    guard_s: float = opt(RealsCheck.guard_s, "seconds left out on each side of the fake region when checking")
    min_outside_s: float = opt(RealsCheck.min_outside_s, "less audio than this outside the region cannot be checked")
    workers: int = opt(2, "(split, source) jobs run at once")

    def __post_init__(self) -> None:
        if not self.metadata:
            raise ConfigError("no FakeSound metadata files given")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        self.check  # noqa: B018 - raises on bad check settings

    @property
    def check(self) -> RealsCheck:
        return RealsCheck(self.max_shift_s, self.min_snr_db, self.guard_s, self.min_outside_s)


@dataclass(frozen=True)
class Agreement:
    """A real against one fake, outside the fake region, at the chosen alignment."""

    shift_samples: float  # real[t] = source[t + shift]
    correlation: float
    snr_db: float  # fake vs real as is
    matched_snr_db: float  # fake vs gain * real (gain-invariant: the decision uses this)
    gain: float


# -- alignment ----------------------------------------------------------------------------------------------------

def _outside_mask(n: int, segment: Segment, rate: int, guard_s: float) -> np.ndarray:
    start, stop = segment_to_samples(segment, rate)
    guard = seconds_to_samples(guard_s, rate)
    mask = np.ones(n, dtype=np.float64)
    mask[max(0, start - guard): min(n, stop + guard)] = 0.0
    return mask


def _shifted(source: np.ndarray, shift: float, n: int) -> np.ndarray:
    """``source[t + shift]`` for ``t < n`` (zeros beyond the source); fractional shifts by a phase ramp."""
    whole = math.floor(shift)
    frac = shift - whole
    out = np.zeros(n + 1, dtype=np.float64)
    lo, hi = max(0, whole), min(len(source), whole + n + 1)
    if hi > lo:
        out[lo - whole: hi - whole] = source[lo:hi]
    if frac:
        size = 2 * (n + 1)
        spectrum = np.fft.rfft(out, size) * np.exp(2j * np.pi * np.fft.rfftfreq(size) * frac)
        out = np.fft.irfft(spectrum, size)[: n + 1]
    return out[:n]


def _padding(shift: float, n: int, available: int) -> int:
    """Samples of ``source[shift : shift + n]`` that fall outside the source (written as silence)."""
    start = math.floor(shift)
    return max(0, -start) + max(0, start + n - available)


def measure(fake: np.ndarray, real: np.ndarray, mask: np.ndarray, shift: float) -> Agreement:
    """Agreement of ``real`` with ``fake`` where ``mask`` is 1."""
    f, r = fake * mask, real * mask
    ff, rr, fr = float(f @ f), float(r @ r), float(f @ r)
    corr = fr / math.sqrt(ff * rr) if ff > 0 and rr > 0 else 0.0
    gain = fr / rr if rr > 0 else 0.0

    def snr(error: float) -> float:
        return math.inf if error <= ff * 1e-16 else 10 * math.log10(ff / error) if ff > 0 else -math.inf

    return Agreement(shift, corr, snr(float((f - r) @ (f - r))), snr(max(0.0, ff - gain * fr)), gain)


def align(fake: np.ndarray, source: np.ndarray, mask: np.ndarray, max_shift: int) -> Agreement:
    """The shift of ``source`` (whole samples within ``max_shift``, then refined to a fraction of a sample) that
    maximises the correlation with ``fake`` under ``mask``."""
    from scipy import fft

    n = len(fake)
    a = fake * mask
    # source[-max_shift : n + max_shift]; a circular correlation of size >= n + 2 * max_shift has no wrap-around
    # at the shifts wanted, so the FFTs are about half the size of a full linear correlation.
    window = _shifted(source, -max_shift, n + 2 * max_shift)
    size = fft.next_fast_len(n + 2 * max_shift, real=True)
    lags = 2 * max_shift + 1

    def correlate(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return fft.irfft(fft.rfft(x, size) * np.conj(fft.rfft(y, size)), size)[:lags]

    cross = correlate(window, a)
    energy = np.maximum(correlate(window * window, mask), 0.0)
    shifts = np.arange(lags) - max_shift
    denom = np.sqrt(float(a @ a) * energy)
    corr = np.divide(cross, denom, out=np.zeros_like(cross), where=denom > 1e-12)
    best = int(np.argmax(corr))
    shift = float(shifts[best])
    if 0 < best < len(corr) - 1:  # parabola through the peak and its neighbours
        left, mid, right = corr[best - 1], corr[best], corr[best + 1]
        curve = left - 2 * mid + right
        if curve < 0:
            shift += float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5))
    whole = measure(fake, _shifted(source, float(shifts[best]), n), mask, float(shifts[best]))
    if shift == shifts[best]:
        return whole
    refined = measure(fake, _shifted(source, shift, n), mask, shift)
    return refined if refined.matched_snr_db > whole.matched_snr_db else whole


# -- one (split, source) job ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PairJob:
    key: str
    split: str
    real: ClipRecord  # the metadata's real entry (audio_id, filepath)
    fakes: tuple[tuple[ClipRecord, str], ...]  # metadata entry, fake file
    candidates: tuple[tuple[ClipRecord, str], ...]  # source record, source file


def _decode(path: str) -> tuple[np.ndarray, Any]:
    info = sf.info(path)
    data, _ = sf.read(path, dtype="float64", always_2d=True)
    return data.mean(axis=1), info


def _write_like(path: Path, audio: np.ndarray, info: Any) -> Path:
    """Write ``audio`` in the fake's format, subtype and channel count (16-bit goes through the project writer)."""
    if info.channels == 1 and info.subtype == "PCM_16" and info.format in ("WAV", "FLAC"):
        return write_audio(path, audio, int(info.samplerate))
    data = np.repeat(audio[:, None], info.channels, axis=1) if info.channels > 1 else audio
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, int(info.samplerate), format=info.format, subtype=info.subtype)
    return path


def _fake_record(entry: ClipRecord, fake_path: str, out: Path, split: str, caption: str) -> ClipRecord:
    target = out / "audio" / split / Path(fake_path).name
    if not target.is_file() or sha256_file(target) != sha256_file(fake_path):
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.unlink()
            try:
                os.link(fake_path, tmp)
            except OSError:
                shutil.copyfile(fake_path, tmp)
    return replace(entry, caption=caption, extra={**entry.extra, "release_filepath": entry.audio_path},
                   **_file_fields(target, out))


def _file_fields(path: Path, out: Path) -> dict[str, Any]:
    """A written clip's path (relative to ``out``), rate, length and hash, from the file itself."""
    info = sf.info(str(path))
    return {"audio_path": str(path.relative_to(out)), "sample_rate": int(info.samplerate),
            "num_samples": int(info.frames), "duration": samples_to_seconds(int(info.frames), int(info.samplerate)),
            "sha256": sha256_file(path)}


def _restore(job: _PairJob, out: Path, check: RealsCheck) -> tuple[list[ClipRecord], Rejection | None]:
    """Restore one real from its best-matching source; keep the fakes it agrees with."""
    done = corpus.load_job(out, job.key)
    if done is not None:
        return done
    fakes = [(entry, *_decode(path), path) for entry, path in job.fakes]
    lead_entry, lead_audio, lead_info, _ = fakes[0]
    rate, n = int(lead_info.samplerate), len(lead_audio)
    masks = [_outside_mask(len(audio), (entry.segments[0][0], entry.segments[-1][1]), rate, check.guard_s)
             for entry, audio, _, _ in fakes]
    if masks[0].sum() < seconds_to_samples(check.min_outside_s, rate):
        outside_s = samples_to_seconds(int(masks[0].sum()), rate)
        rejection = Rejection(job.real.id, STAGE, f"{lead_entry.id}: only {outside_s:.2f} s outside the "
                              f"fake region (need {check.min_outside_s} s to check a restored real)")
        corpus.save_job(out, job.key, [], rejection)
        return [], rejection
    best: tuple[Agreement, ClipRecord, np.ndarray] | None = None
    for source, path in job.candidates:
        audio, _ = read_audio(path, rate)
        agreement = align(lead_audio, audio.astype(np.float64), masks[0], seconds_to_samples(check.max_shift_s, rate))
        if best is None or agreement.matched_snr_db > best[0].matched_snr_db:
            best = (agreement, source, audio.astype(np.float64))
    agreement, source, audio = best
    real = _shifted(audio, agreement.shift_samples, n)
    agreements = [measure(fa, _shifted(audio, agreement.shift_samples, len(fa)), m, agreement.shift_samples)
                  for (_, fa, _, _), m in zip(fakes, masks, strict=True)]
    kept = [f for f, a in zip(fakes, agreements, strict=True) if a.matched_snr_db >= check.min_snr_db]
    failed = [f"{f[0].id} ({a.matched_snr_db:.1f} dB)" for f, a in zip(fakes, agreements, strict=True)
              if a.matched_snr_db < check.min_snr_db]
    rejection = None
    if failed:
        shift_s = samples_to_seconds(agreement.shift_samples, rate)
        rejection = Rejection(job.real.id, STAGE, (
            f"source {source.id} does not match fake(s) {', '.join(failed)} outside the fake region: best "
            f"gain-matched SNR below {check.min_snr_db} dB at shift {shift_s:+.4f} s (wrong clip or offset)"))
    if not kept:
        corpus.save_job(out, job.key, [], rejection)  # a verdict, not a failure: a rerun need not redo it
        return [], rejection
    suffix = Path(lead_entry.audio_path).suffix or ".wav"
    path = _write_like(out / "audio" / job.split / f"{job.real.id}{suffix}", real, lead_info)
    record = replace(
        job.real, caption=source.caption, **_file_fields(path, out),
        extra={"release_filepath": job.real.audio_path, "source": source.id,
               "shift_s": samples_to_seconds(agreement.shift_samples, rate),
               "padded_s": samples_to_seconds(_padding(agreement.shift_samples, n, len(audio)), rate),
               "checks": {f[0].id: asdict(a) for f, a in zip(fakes, agreements, strict=True)}},
    )
    records = [record] + [_fake_record(entry, fpath, out, job.split, source.caption) for entry, _, _, fpath in kept]
    corpus.save_job(out, job.key, records, rejection)
    return records, rejection


# -- planning ----------------------------------------------------------------------------------------------------

def _source_index(sources: Sequence[ClipRecord]) -> dict[str, list[ClipRecord]]:
    """AudioCaps youtube id -> source records (an HF import keeps ``youtube_id``; a folder import uses it as id)."""
    index: dict[str, list[ClipRecord]] = defaultdict(list)
    for record in sources:
        index[str(record.extra.get("youtube_id") or record.id)].append(record)
    return index


def plan(request: RestoreRealsRequest) -> tuple[list[_PairJob], list[Rejection], dict[str, Counter]]:
    """Group fakes by (split, source), find their files and sources; what is missing is reported."""
    sources_path = Path(request.sources)
    sources = _source_index(read_manifest(sources_path))
    rejections: list[Rejection] = []
    observed: dict[str, Counter] = defaultdict(Counter)
    jobs: list[_PairJob] = []
    check_key = config_hash(asdict(request.check))
    for meta in request.metadata:
        entries = read_fakesound_json(meta)
        split = entries[0].split if entries else Path(meta).stem
        reals = {e.id: e for e in entries if e.label == REAL}
        by_source: dict[str, list[tuple[ClipRecord, str]]] = defaultdict(list)
        for entry in (e for e in entries if e.label == FAKE):
            path = resolve_release_path(entry.audio_path, request.fakes_root)
            if not path.is_file():
                rejections.append(Rejection(entry.id, STAGE, f"released fake not found ({path})"))
                continue
            try:
                info = sf.info(str(path))
            except (sf.LibsndfileError, RuntimeError) as err:
                rejections.append(Rejection(entry.id, STAGE, f"released fake unreadable ({err})"))
                continue
            observed[split][f"{info.samplerate} Hz x {info.frames} samples, {info.subtype}"] += 1
            by_source[entry.source_id].append((entry, str(path)))
        for source_id, fakes in sorted(by_source.items()):
            candidates = sources.get(source_id, [])
            if not candidates:
                rejections += [Rejection(f.id, STAGE, f"real {source_id} not in the sources") for f, _ in fakes]
                continue
            real = reals.get(source_id) or ClipRecord(id=source_id, label=REAL, audio_path="", split=split)
            resolved = tuple((s, str(s.resolve_audio(sources_path.parent))) for s in candidates)
            key = config_hash([STAGE, split, source_id, check_key, [sha256_file(p) for _, p in resolved],
                               [(f.id, sha256_file(p)) for f, p in fakes]])
            jobs.append(_PairJob(key, split, real, tuple(sorted(fakes, key=lambda f: f[0].id)), resolved))
    return jobs, rejections, observed


def restore_reals(request: RestoreRealsRequest) -> tuple[list[ClipRecord], list[Rejection]]:
    """Restore every real the sources allow; writes the paired corpus and returns (records, rejections)."""
    out = Path(request.out)
    with folder_lock(out, "restore-reals"):  # one run per folder: the sweep never deletes a live run's files
        corpus.remove_partial_files(out)
        return _restore_locked(request, out)


def _restore_locked(request: RestoreRealsRequest, out: Path) -> tuple[list[ClipRecord], list[Rejection]]:
    """:func:`restore_reals` in a folder this process has locked."""
    jobs, rejections, observed = plan(request)
    records: list[ClipRecord] = []

    def run(job: _PairJob) -> tuple[list[ClipRecord], Rejection | None]:
        try:
            return _restore(job, out, request.check)
        except RejectedInput as err:
            return [], Rejection.from_error(err, STAGE)

    with ThreadPoolExecutor(max_workers=request.workers, thread_name_prefix="reals") as pool:
        for job_records, rejection in pool.map(run, jobs):
            records += job_records
            if rejection is not None:
                rejections.append(rejection)
    info = {"stage": STAGE, "metadata": [Path(m).name for m in request.metadata], "check": asdict(request.check),
            "released_fakes": {split: dict(sorted(c.items())) for split, c in sorted(observed.items())}}
    records = corpus.finalize_corpus(out, records, rejections, info)
    sources_licences = Path(request.sources).parent / corpus.LICENSES
    atomic_write_text(out / corpus.LICENSES, restored_reals_licences(
        records, request.fakes_root, request.sources,
        sources_licences.read_text(encoding="utf-8") if sources_licences.is_file() else None))
    return records, sorted(rejections, key=lambda r: (r.item, r.reason))
