"""Source corpora: a folder of real audio plus AudioCaps-style captions -> a source manifest.

Captions CSV columns: ``audiocap_id, youtube_id, start_time, caption`` (several rows per clip
allowed). An audio file matches a row when its stem is the ``youtube_id``, ``Y<youtube_id>``,
or ``<youtube_id>_<start_time>`` (the common AudioCaps download layouts).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import corpus
from pipeline.atomic import atomic_write_text
from pipeline.audio_io import audio_info
from pipeline.errors import ConfigError, RejectedInput, Rejection
from pipeline.hashing import sha256_file
from pipeline.manifest import REAL, ClipRecord, write_manifest
from pipeline.requests import ImportRequest

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
CAPTION_COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


@dataclass
class SourceImport:
    """Result of importing sources: the records and the rejected inputs."""

    records: list[ClipRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def read_captions(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """``youtube_id -> [(start_time, caption), ...]`` in ``audiocap_id`` order."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CAPTION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: captions CSV lacks columns {missing}")
        rows = sorted(reader, key=lambda r: (int(r["audiocap_id"]) if r["audiocap_id"].isdigit() else 0))
    captions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        if row["caption"].strip():
            captions[row["youtube_id"].strip()].append((row["start_time"].strip(), row["caption"].strip()))
    return dict(captions)


def _lookup_id(stem: str, captions: dict[str, list[tuple[str, str]]]) -> str | None:
    if stem in captions:
        return stem
    if stem.startswith("Y") and stem[1:] in captions:
        return stem[1:]
    head, _, start = stem.rpartition("_")
    if head in captions and any(s.split(".")[0] == start.split(".")[0] for s, _ in captions[head]):
        return head
    return None


def _relative_or_absolute(path: Path, root: Path) -> str:
    path, root = path.resolve(), root.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def source_record(path: Path, clip_id: str, caption: str, root: Path, extra: dict | None = None) -> ClipRecord:
    """A real source clip's record (header read, bytes hashed); rejects unreadable files."""
    sample_rate, frames, _ = audio_info(path)
    if frames == 0:
        raise RejectedInput(str(path), "audio is empty (0 samples)")
    return ClipRecord(
        id=clip_id,
        label=REAL,
        audio_path=_relative_or_absolute(path, root),
        source_id=clip_id,
        caption=caption,
        sample_rate=sample_rate,
        num_samples=frames,
        duration=frames / sample_rate,
        sha256=sha256_file(path),
        extra=extra or {},
    )


def import_sources(
    audio_dir: str | Path,
    captions_csv: str | Path,
    manifest_root: str | Path,
    on_reject: Callable[[Rejection], None] | None = None,
) -> SourceImport:
    """Match audio files to captions; unmatched, duplicate or unreadable files are rejected."""
    audio_dir, root = Path(audio_dir), Path(manifest_root)
    captions = read_captions(captions_csv)
    result = SourceImport()
    seen: set[str] = set()

    def reject(item: str, reason: str) -> None:
        rejection = Rejection(item=item, stage="import-sources", reason=reason)
        result.rejected.append(rejection)
        if on_reject:
            on_reject(rejection)

    for path in sorted(p for p in audio_dir.rglob("*") if p.is_file()):
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        clip_id = _lookup_id(path.stem, captions)
        if clip_id is None:
            reject(str(path), "no caption for this clip in the captions CSV")
            continue
        if clip_id in seen:
            reject(str(path), f"duplicate clip id {clip_id!r}")
            continue
        texts = [c for _, c in captions[clip_id]]
        try:
            record = source_record(path, clip_id, texts[0], root, {"captions": texts})
        except RejectedInput as err:
            reject(err.item, err.reason)
            continue
        seen.add(clip_id)
        result.records.append(record)
    result.records.sort(key=lambda r: r.id)
    return result


def import_job(request: ImportRequest, on_reject: Callable[[Rejection], None] | None = None) -> SourceImport:
    """Run an :class:`ImportRequest` (library, CLI and flow alike): ``<out>/manifest.jsonl`` and ``rejected.jsonl``."""
    if request.hf_dataset is not None:
        from pipeline.hf_sources import import_hf_sources

        return import_hf_sources(request, on_reject)
    out = Path(request.out)
    if not Path(request.audio or "").is_dir():
        raise FileNotFoundError(f"{request.audio}: audio folder not found")
    out.mkdir(parents=True, exist_ok=True)
    result = import_sources(request.audio or "", request.captions or "", out, on_reject)
    write_manifest(out / corpus.MANIFEST, result.records)
    atomic_write_text(out / corpus.REJECTED, "".join(r.to_json() + "\n" for r in result.rejected))
    return result
