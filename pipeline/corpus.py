"""Corpus layout on disk: per-job record files (resumable), the final manifest, FakeSound JSONs and summary.

Layout of a corpus folder::

    audio/<split>/<id>.wav       real clips and their fakes, 16-bit PCM at the recipe's rate
    manifest.jsonl               every clip (pipeline.manifest.ClipRecord), in a fixed order
    <split>.json                 FakeSound-format metadata per split
    rejected.jsonl               inputs that were rejected, with the reason
    summary.json                 counts per split x manipulation x generator, recipe, seed
    LICENSES.md                  attribution of the source audio
    .records/<key>.json          one finished job (its records); a rerun skips jobs found here
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.atomic import atomic_write_text
from pipeline.errors import Rejection
from pipeline.fakesound_format import write_fakesound_json
from pipeline.hashing import sha256_file
from pipeline.manifest import ClipRecord, dumps_record, write_manifest

SPLITS = ("train", "val", "test")
#: The corpus layout's names (the one place they are written).
AUDIO_DIR = "audio"
MANIFEST = "manifest.jsonl"
REJECTED = "rejected.jsonl"
SUMMARY = "summary.json"
LICENSES = "LICENSES.md"
RECORDS_DIR = ".records"
DEMO_SOURCES = "sources"  # a demo build composes its sources here


def audio_path(split: str, clip_id: str) -> str:
    """A clip's audio file, relative to the corpus folder."""
    return f"{AUDIO_DIR}/{split}/{clip_id}.wav"


def assign_splits(
    source_ids: Sequence[str], seed: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> dict[str, str]:
    """Seeded split of source clips (all of a source's clips stay in one split: no leakage)."""
    ids = sorted(source_ids)
    order = np.random.default_rng([seed, 1]).permutation(len(ids))
    n = len(ids)
    n_val = max(1, round(n * fractions[1])) if n >= 3 else 0
    n_test = max(1, round(n * fractions[2])) if n >= 3 else 0
    n_train = n - n_val - n_test
    splits = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    return {ids[i]: splits[rank] for rank, i in enumerate(order)}


def remove_partial_files(out: str | Path) -> int:
    """Delete temporary ``.*.part`` files a killed build left under ``out`` (only one build per folder)."""
    out = Path(out)
    if not out.is_dir():
        return 0
    partial = list(out.rglob(".*.part"))
    for path in partial:
        path.unlink(missing_ok=True)
    return len(partial)


def job_record_path(out: str | Path, key: str) -> Path:
    return Path(out) / RECORDS_DIR / f"{key}.json"


def save_job(out: str | Path, key: str, records: Sequence[ClipRecord], rejection: Rejection | None = None) -> None:
    """Mark a job finished (written last, atomically, after its audio files)."""
    payload = {
        "records": [json.loads(dumps_record(r)) for r in records],
        "rejection": None if rejection is None else json.loads(rejection.to_json()),
    }
    atomic_write_text(job_record_path(out, key), json.dumps(payload, sort_keys=True))


def load_job(out: str | Path, key: str) -> tuple[list[ClipRecord], Rejection | None] | None:
    """A finished job's records, or None when it must (re)run (missing, unreadable, audio changed)."""
    path = job_record_path(out, key)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
        records = [ClipRecord.from_dict(r) for r in payload["records"]]
        rejection = Rejection(**payload["rejection"]) if payload["rejection"] else None
    except (ValueError, KeyError, TypeError):
        return None
    for record in records:
        audio = Path(out) / record.audio_path
        if not audio.is_file() or sha256_file(audio) != record.sha256:
            return None
    return records, rejection


def other_jobs(out: str | Path, keys: set[str]) -> Iterator[tuple[list[ClipRecord], Rejection | None]]:
    """Finished jobs in ``out`` other than ``keys`` (a run's own plan): the other shards of the same corpus. Each is
    checked as :func:`load_job` checks a resumed one (a record whose audio changed is left out)."""
    for path in sorted((Path(out) / RECORDS_DIR).glob("*.json")):
        if path.stem not in keys and (done := load_job(out, path.stem)) is not None:
            yield done


def sort_records(records: Iterable[ClipRecord]) -> list[ClipRecord]:
    """Canonical order: split, source, real before fake, id."""
    rank = {s: i for i, s in enumerate(SPLITS)}
    return sorted(records, key=lambda r: (rank.get(r.split, len(rank)), r.split, r.source_id, r.label, r.id))


def count_table(records: Iterable[ClipRecord]) -> dict[str, int]:
    """``"split/manipulation/generator" -> count``."""
    counts = Counter(f"{r.split}/{r.manipulation}/{r.generator or '-'}" for r in records)
    return dict(sorted(counts.items()))


def format_summary(records: Sequence[ClipRecord], rejections: Sequence[Rejection]) -> str:
    """A plain-text table of clips per split x manipulation x generator."""
    rows = [("split", "manipulation", "generator", "clips")]
    rows += [(*key.split("/"), str(n)) for key, n in count_table(records).items()]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{len(records)} clips, {sum(r.label for r in records)} fake, {len(rejections)} rejected")
    return "\n".join(lines)


def finalize_corpus(
    out: str | Path, records: Iterable[ClipRecord], rejections: Iterable[Rejection], info: dict[str, Any]
) -> list[ClipRecord]:
    """Write manifest, per-split FakeSound JSON, rejected list and summary (each atomically)."""
    out = Path(out)
    ordered = sort_records(records)
    rejected = sorted(rejections, key=lambda r: (r.stage, r.item, r.reason))
    write_manifest(out / MANIFEST, ordered)
    for split in sorted({r.split for r in ordered}):
        write_fakesound_json(out / f"{split}.json", [r for r in ordered if r.split == split])
    atomic_write_text(out / REJECTED, "".join(r.to_json() + "\n" for r in rejected))
    summary = {**info, "clips": len(ordered), "fakes": sum(r.label for r in ordered),
               "rejected": len(rejected), "counts": count_table(ordered)}
    atomic_write_text(out / SUMMARY, json.dumps(summary, indent=2, sort_keys=True))
    return ordered
