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
from pipeline.audio_io import audio_info, check_audio_path, decode_audio
from pipeline.errors import ConfigError, RejectedInput, Rejection
from pipeline.folder import folder_lock
from pipeline.hashing import sha256_file
from pipeline.licences import folder_import_licences
from pipeline.manifest import REAL, ClipRecord, write_manifest
from pipeline.requests import ImportRequest
from pipeline.source_policy import SourcePolicy

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
STAGE = "import-sources"
CAPTION_COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


@dataclass
class SourceImport:
    """Result of importing sources: the records and the rejected inputs."""

    records: list[ClipRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def read_caption_rows(
    path: str | Path, policy: SourcePolicy | None = None
) -> tuple[dict[str, list[tuple[str, str]]], list[tuple[str, Rejection]]]:
    """``youtube_id -> [(start_time, caption), ...]`` in ``audiocap_id`` order, and the rejected rows
    as ``(youtube_id, rejection)``.

    Accepts a UTF-8 BOM, CRLF line ends and extra columns; a missing column fails the whole file
    (:class:`ConfigError`, one line); a row with an empty, overlong or non-UTF-8 caption, or with too
    few or too many fields, is rejected on its own, named ``<csv>:<line>``.
    """
    path, policy = Path(path), policy or SourcePolicy()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: captions CSV not found")
    rejected: list[tuple[str, Rejection]] = []
    kept: list[tuple[int, dict[str, str]]] = []
    with open(path, newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        reader = csv.DictReader(fh)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in CAPTION_COLUMNS if c not in reader.fieldnames]
        if missing:
            raise ConfigError(f"{path}: captions CSV lacks columns {missing} (needs {', '.join(CAPTION_COLUMNS)})")
        for row in reader:
            problem = _row_problem(row, policy)
            if problem:
                clip_id = (row.get("youtube_id") or "").strip()
                rejected.append((clip_id, Rejection(item=f"{path}:{reader.line_num}", stage=STAGE, reason=problem)))
            else:
                kept.append((reader.line_num, row))
    kept.sort(key=lambda lr: (int(lr[1]["audiocap_id"]) if lr[1]["audiocap_id"].strip().isdigit() else 0, lr[0]))
    captions: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _, row in kept:
        captions[row["youtube_id"].strip()].append((row["start_time"].strip(), row["caption"].strip()))
    return dict(captions), rejected


def _row_problem(row: dict, policy: SourcePolicy) -> str | None:
    if None in row:
        return "row has more fields than the header (an unquoted comma in the caption?)"
    if any(row[c] is None for c in CAPTION_COLUMNS):
        return "row has fewer fields than the header"
    if any(isinstance(v, str) and _not_utf8(v) for v in row.values()):
        return "row is not valid UTF-8"
    if not row["youtube_id"].strip():
        return "row has no youtube_id"
    return policy.caption_problem(row["caption"].strip())


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_captions(path: str | Path) -> dict[str, list[tuple[str, str]]]:
    """``youtube_id -> [(start_time, caption), ...]`` in ``audiocap_id`` order (rejected rows dropped)."""
    return read_caption_rows(path)[0]


def _lookup_id(stem: str, captions: dict[str, list[tuple[str, str]]]) -> str | None:
    if stem in captions:
        return stem
    if stem.startswith("Y") and stem[1:] in captions:
        return stem[1:]
    head, _, start = stem.rpartition("_")
    if head in captions and any(s.split(".")[0] == start.split(".")[0] for s, _ in captions[head]):
        return head
    return None


def _candidate_ids(stem: str) -> list[str]:
    """Ids a file stem may stand for in the AudioCaps layouts (``id``, ``Y<id>``, ``<id>_<start>``)."""
    return [stem, *([stem[1:]] if stem.startswith("Y") else []), stem.rpartition("_")[0]]


def _relative_or_absolute(path: Path, root: Path) -> str:
    path, root = path.resolve(), root.resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def audio_files(folder: Path) -> list[tuple[Path, str | None]]:
    """Entries under ``folder`` with an audio suffix, sorted, each with why it cannot be used (or None).

    Folder symlinks are followed once each (a link back up the tree is reported, not walked forever);
    a folder whose name ends in an audio suffix is reported.
    """
    entries: list[tuple[Path, str | None]] = []
    visited: set[Path] = set()
    pending = [folder]
    while pending:
        current = pending.pop()
        real = current.resolve()
        if real in visited:
            entries.append((current, "symlink loop: this folder was already scanned"))
            continue
        visited.add(real)
        try:
            children = list(current.iterdir())
        except OSError as err:
            entries.append((current, f"cannot list folder ({err.strerror or err})"))
            continue
        for child in children:
            is_audio_name = child.suffix.lower() in AUDIO_SUFFIXES
            if child.is_dir():
                pending.append(child)
                if is_audio_name:
                    entries.append((child, "is a directory, not an audio file"))
            elif is_audio_name:
                entries.append((child, None))
    return sorted(entries, key=lambda e: str(e[0]))


def source_record(path: Path, clip_id: str, caption: str, root: Path, extra: dict | None = None,
                  policy: SourcePolicy | None = None) -> ClipRecord:
    """A real source clip's record: header checked, every sample decoded and checked, bytes hashed.

    Raises :class:`RejectedInput` (one line naming the file) when ``policy`` refuses the clip.
    """
    policy = policy or SourcePolicy()
    check_audio_path(path)
    policy.check_header(str(path), *audio_info(path))
    data, sample_rate = decode_audio(path)
    facts = policy.check_decoded(str(path), data, sample_rate)
    frames = len(data)
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
        extra={**(extra or {}), **facts},
    )


def import_sources(
    audio_dir: str | Path,
    captions_csv: str | Path,
    manifest_root: str | Path,
    on_reject: Callable[[Rejection], None] | None = None,
    policy: SourcePolicy | None = None,
) -> SourceImport:
    """Match audio files to captions, decode and check each; every unusable file or row is rejected.

    Rejected: caption rows that cannot be used, files without a caption, duplicates of an id already
    imported, files the :class:`SourcePolicy` refuses, and captioned clips with no audio file.
    """
    audio_dir, root, policy = Path(audio_dir), Path(manifest_root), policy or SourcePolicy()
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"{audio_dir}: audio folder not found")
    captions, bad_rows = read_caption_rows(captions_csv, policy)
    result = SourceImport()
    seen: set[str] = set()
    with_file: set[str] = set()

    def reject(item: str, reason: str) -> None:
        rejection = Rejection(item=item, stage=STAGE, reason=reason)
        result.rejected.append(rejection)
        if on_reject:
            on_reject(rejection)

    rows_of = {clip_id: row for clip_id, row in reversed(bad_rows) if clip_id}
    explained: set[str] = set()
    for path, problem in audio_files(audio_dir):
        clip_id = _lookup_id(path.stem, captions)
        if problem:
            with_file.add(clip_id or "")
            reject(str(path), problem)
            continue
        if clip_id is None:
            bad_id = next((c for c in _candidate_ids(path.stem) if c in rows_of), None)
            if bad_id is not None:  # one line, naming the file, for a clip whose only caption was refused
                explained.add(bad_id)
                reject(str(path), f"its caption row was rejected: {rows_of[bad_id].reason} ({rows_of[bad_id].item})")
            else:
                reject(str(path), "no caption for this clip in the captions CSV")
            continue
        with_file.add(clip_id)
        if clip_id in seen:
            reject(str(path), f"duplicate clip id {clip_id!r}")
            continue
        texts = [c for _, c in captions[clip_id]]
        try:
            record = source_record(path, clip_id, texts[0], root, {"captions": texts}, policy)
        except RejectedInput as err:
            reject(err.item, err.reason)
            continue
        seen.add(clip_id)
        result.records.append(record)
    for clip_id, row in bad_rows:
        if clip_id not in explained:
            reject(row.item, row.reason)
    for clip_id in sorted(set(captions) - with_file):
        reject(f"{captions_csv}", f"no audio file found for captioned clip {clip_id!r}")
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
    with folder_lock(out, "import-sources"):
        result = import_sources(request.audio or "", request.captions or "", out, on_reject, request.policy)
        write_manifest(out / corpus.MANIFEST, result.records)
        atomic_write_text(out / corpus.REJECTED, "".join(r.to_json() + "\n" for r in result.rejected))
        audio_dir = Path(request.audio or "").resolve()
        files = {r.id: _relative_or_absolute(Path(r.resolve_audio(out)), audio_dir) for r in result.records}
        atomic_write_text(out / corpus.LICENSES, folder_import_licences(
            request.audio or "", request.captions or "", files, read_licence_column(request.captions or "")))
    return result


LICENCE_COLUMNS = ("license", "licence")


def read_licence_column(path: str | Path) -> dict[str, str] | None:
    """``youtube_id -> licence`` from the captions CSV's ``license`` (or ``licence``) column, the first non-empty
    cell per clip; None when the CSV has no such column (then the licence is unknown)."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.DictReader(fh)
        column = next((n for n in reader.fieldnames or [] if n.strip().lower() in LICENCE_COLUMNS), None)
        if column is None:
            return None
        licences: dict[str, str] = {}
        for row in reader:
            clip_id, licence = (row.get("youtube_id") or "").strip(), (row.get(column) or "").strip()
            if clip_id and licence:
                licences.setdefault(clip_id, licence)
    return licences
