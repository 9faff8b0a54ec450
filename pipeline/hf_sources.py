"""Source clips from a Hugging Face ``datasets`` dataset: a Hub id, a local dataset folder, or parquet files.

Each row's ``Audio`` cell is read as raw bytes (``Audio(decode=False)``: no torchcodec), decoded with
soundfile, mixed to mono, resampled with soxr and written as a 16-bit FLAC under ``<out>/audio/``; the
source manifest (``<out>/manifest.jsonl``) is what ``fakesound build --sources`` reads.

Rows that share a clip id (AudioCaps validation/test carry one row per caption, each with the same
audio) become one source with all their captions. A clip is one job keyed on the SHA-256 of its audio
bytes, the output rate and its file name; a finished job is recorded under ``<out>/.records/`` after its
FLAC, so a rerun (after a crash or with a larger ``limit``) decodes only what is new. Rows that cannot
be used go to ``<out>/rejected.jsonl`` with their reason and the import carries on.

Column presets (:data:`PRESETS`): ``audiocaps`` for the AudioCaps mirrors (id = ``<youtube_id>_<start_time>``, as
``jp1924/AudioCaps``'s card lists its columns) and ``clotho`` (Clotho's ``file_name``, ``caption_1..5``); since not
every mirror documents its columns, each role falls back to common names, and ``audio_column`` /
``caption_column`` / ``id_column`` override.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from pipeline import corpus
from pipeline.atomic import atomic_write_text
from pipeline.audio_io import read_audio_bytes, write_audio
from pipeline.errors import ConfigError, FakesoundError, RejectedInput, Rejection
from pipeline.folder import folder_lock
from pipeline.hashing import config_hash
from pipeline.manifest import ClipRecord, write_manifest
from pipeline.requests import ImportRequest
from pipeline.source_policy import SourcePolicy
from pipeline.sources import SourceImport, source_record

STAGE = "import-sources"
AUDIO_DIR = "audio"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class SourceDatasetError(FakesoundError, ValueError):
    """The dataset as a whole cannot be imported (not found, offline, no usable columns); one line."""


@dataclass(frozen=True)
class ColumnPreset:
    """Column names per role, in order of preference; the first present in the dataset is used.

    ``caption`` and ``id`` entries are column groups: a caption group contributes every non-empty
    value (Clotho's ``caption_1..5``); an id group is joined with ``_`` (``youtube_id``, ``start_time``).
    """

    audio: tuple[str, ...]
    caption: tuple[tuple[str, ...], ...]
    id: tuple[tuple[str, ...], ...]


_CLOTHO_CAPTIONS = tuple(f"caption_{i}" for i in range(1, 6))
_COMMON_CAPTIONS: tuple[tuple[str, ...], ...] = (("caption",), ("captions",), ("text",), _CLOTHO_CAPTIONS)
_COMMON_IDS: tuple[tuple[str, ...], ...] = (("id",), ("audio_id",), ("file_name",), ("filename",), ("key",),
                                            ("__key__",))
_COMMON_AUDIO = ("audio", "flac", "wav", "mp3")

#: ``audiocaps``: columns of ``jp1924/AudioCaps`` per its card (``audiocap_id``, ``youtube_id``, ``start_time``,
#: ``audio`` at 48 kHz, ``caption``), which the other AudioCaps mirrors are assumed to follow; ``clotho``:
#: Clotho's own CSV naming (``file_name``, ``caption_1..5``) as the Clotho parquet mirrors keep it.
PRESETS: dict[str, ColumnPreset] = {
    "audiocaps": ColumnPreset(
        audio=_COMMON_AUDIO, caption=_COMMON_CAPTIONS, id=(("youtube_id", "start_time"), ("youtube_id",), *_COMMON_IDS)
    ),
    "clotho": ColumnPreset(
        audio=_COMMON_AUDIO, caption=(_CLOTHO_CAPTIONS, *_COMMON_CAPTIONS), id=(("file_name",), *_COMMON_IDS)
    ),
    "generic": ColumnPreset(audio=_COMMON_AUDIO, caption=_COMMON_CAPTIONS, id=_COMMON_IDS),
}
#: Known Hub datasets -> preset (lower-case ids). Anything else uses ``audiocaps`` when it has a
#: ``youtube_id`` column, else ``generic``.
DATASET_PRESETS = {
    "jp1924/audiocaps": "audiocaps",
    "opensound/audiocaps": "audiocaps",
    "clapv2/audiocaps": "audiocaps",
    "clapv2/clotho": "clotho",
}


@dataclass(frozen=True)
class ColumnMap:
    """The columns an import reads."""

    audio: str
    captions: tuple[str, ...]
    id: tuple[str, ...]  # empty: the id is the audio's content hash

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys((self.audio, *self.captions, *self.id)))


def preset_for(dataset: str, columns: Iterable[str]) -> str:
    """The preset a dataset gets when none is named."""
    known = DATASET_PRESETS.get(dataset.strip("/").lower())
    if known:
        return known
    return "audiocaps" if "youtube_id" in set(columns) else "generic"


def resolve_columns(
    dataset: str, columns: Iterable[str], preset: str | None = None, audio: str | None = None,
    caption: str | None = None, id_column: str | None = None,
) -> ColumnMap:
    """Pick the audio, caption and id columns; a named column that is absent, or a role with no
    candidate present, raises :class:`SourceDatasetError` listing the dataset's columns."""
    present = list(columns)
    have = set(present)
    chosen = PRESETS[preset or preset_for(dataset, present)]

    def named(column: str, role: str) -> str:
        if column not in have:
            raise SourceDatasetError(f"{dataset}: no {role} column {column!r} (columns: {', '.join(present)})")
        return column

    def first_group(groups: tuple[tuple[str, ...], ...], partial: bool) -> tuple[str, ...] | None:
        for group in groups:
            found = tuple(c for c in group if c in have)
            if found and (partial or len(found) == len(group)):
                return found
        return None

    audio_col = named(audio, "audio") if audio else next((c for c in chosen.audio if c in have), None)
    if audio_col is None:
        raise SourceDatasetError(f"{dataset}: no audio column found (columns: {', '.join(present)}); "
                                 "pass --audio-column")
    captions = (named(caption, "caption"),) if caption else first_group(chosen.caption, partial=True)
    if not captions:
        raise SourceDatasetError(f"{dataset}: no caption column found (columns: {', '.join(present)}); "
                                 "pass --caption-column")
    ids = (named(id_column, "id"),) if id_column else (first_group(chosen.id, partial=False) or ())
    return ColumnMap(audio_col, captions, ids)


# -- opening the dataset ---------------------------------------------------------------------------------------

def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def open_dataset(request: ImportRequest) -> dict[str, Any]:
    """``split name -> Dataset or IterableDataset`` for a Hub id, a local dataset folder (``save_to_disk`` or
    data files), or parquet files (a path or glob)."""
    import datasets

    source = request.hf_dataset
    path = Path(source)
    kwargs: dict[str, Any] = {"split": request.split, "streaming": request.streaming}
    try:
        if path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
            loaded = datasets.load_from_disk(str(path))
            if request.split is not None:
                loaded = loaded[request.split] if isinstance(loaded, datasets.DatasetDict) else loaded
            if request.streaming:
                loaded = (datasets.IterableDatasetDict({k: v.to_iterable_dataset() for k, v in loaded.items()})
                          if isinstance(loaded, datasets.DatasetDict) else loaded.to_iterable_dataset())
        elif source.endswith(".parquet"):
            loaded = datasets.load_dataset("parquet", data_files=source, **kwargs)
        else:
            loaded = datasets.load_dataset(source, name=request.config, revision=request.revision, **kwargs)
    except (FileNotFoundError, ValueError, KeyError, OSError, ConnectionError) as err:
        local = path.exists() or source.endswith(".parquet") or source.startswith((".", "/", "~"))
        hint = ("" if local else "; a Hub id needs the network or a cached copy (HF_HUB_OFFLINE=1 reads the cache), "
                "else pass a local dataset folder or parquet files")
        raise SourceDatasetError(f"{source}: cannot open dataset ({_first_line(err)}){hint}") from err
    if isinstance(loaded, datasets.DatasetDict | datasets.IterableDatasetDict):
        return dict(loaded.items())
    return {request.split or "train": loaded}


def _column_names(ds: Any) -> list[str]:
    names = getattr(ds, "column_names", None)
    if names:
        return list(names)
    first = next(iter(ds), None)  # streaming without known features: look at one row
    return list(first) if first else []


def _raw_audio(ds: Any, column: str) -> Any:
    """The dataset with ``column`` read as ``{bytes, path}`` (never decoded)."""
    from datasets import Audio

    features = getattr(ds, "features", None)
    if features is not None and isinstance(features.get(column), Audio):
        return ds.cast_column(column, Audio(decode=False))
    return ds


# -- rows -> clips ------------------------------------------------------------------------------------------

def _audio_bytes(value: Any, item: str) -> bytes:
    """Encoded bytes of an Audio cell (``{bytes, path}``, raw bytes, or a local path)."""
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
        if data:
            return bytes(data)
        value = path
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value:
        if Path(value).is_file():
            return Path(value).read_bytes()
        raise RejectedInput(item, f"no audio bytes and audio path {value!r} not found")
    raise RejectedInput(item, "no audio in this row")


def _id_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return Path(text).stem if re.search(r"\.(wav|flac|mp3|ogg)$", text, re.I) else text


def _captions(row: dict[str, Any], columns: tuple[str, ...]) -> list[str]:
    texts: list[str] = []
    for column in columns:
        value = row.get(column)
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str) and text.strip() and text.strip() not in texts:
                texts.append(text.strip())
    return texts


def file_stem(clip_id: str) -> str:
    """A file name for a clip id: the id itself when it is filename-safe, else a safe form plus a short hash
    (so two ids never share a file)."""
    safe = _SAFE_NAME.sub("_", clip_id).strip("._") or "clip"
    return safe if safe == clip_id else f"{safe[:80]}-{hashlib.sha256(clip_id.encode()).hexdigest()[:8]}"


@dataclass
class _Clip:
    """One source clip being assembled from its rows."""

    id: str
    audio_sha: str
    key: str
    split: str
    id_fields: dict[str, str]
    captions: list[str] = field(default_factory=list)


def _check_recording(data: bytes, item: str, policy: SourcePolicy) -> None:
    """The rules the written file (resampled, mixed to mono) can no longer show: the recording's own rate and
    channel count (an 8 kHz or 9-channel recording must not pass as a 32 kHz mono one)."""
    try:
        info = sf.info(io.BytesIO(data))
    except Exception:  # undecodable: decoding says so, in its own words
        return
    policy.check_header(item, int(info.samplerate), max(1, int(info.frames)), int(info.channels))


def _encode_clip(data: bytes, item: str, out: Path, stem: str, sample_rate: int | None, key: str,
                 clip_id: str, policy: SourcePolicy) -> ClipRecord:
    """Decode -> mono -> resample -> 16-bit FLAC -> record, then mark the job finished (or reuse a finished one)."""
    done = corpus.load_job(out, key)
    if done and done[0]:
        return done[0][0]
    _check_recording(data, item, policy)
    audio, rate = read_audio_bytes(data, item, sample_rate)
    path = write_audio(out / AUDIO_DIR / f"{stem}.flac", audio, rate)
    try:
        record = source_record(path, clip_id, "", out, policy=policy)  # the source policy, on what was written
    except RejectedInput:
        path.unlink(missing_ok=True)  # a refused clip leaves no file the manifest does not list
        raise
    corpus.save_job(out, key, [record])
    return record


def import_hf_sources(
    request: ImportRequest, on_reject: Callable[[Rejection], None] | None = None
) -> SourceImport:
    """Import a ``datasets`` dataset as source clips; writes ``<out>/manifest.jsonl`` and ``rejected.jsonl``."""
    if request.hf_dataset is None:
        raise ConfigError("import_hf_sources needs `hf_dataset` (pipeline.sources.import_job runs folder imports)")
    out = Path(request.out)
    with folder_lock(out, "import-sources"):  # one run per folder: the sweep never deletes a live run's files
        corpus.remove_partial_files(out)
        return _import_locked(request, out, on_reject)


def _import_locked(request: ImportRequest, out: Path, on_reject: Callable[[Rejection], None] | None) -> SourceImport:
    """:func:`import_hf_sources` in a folder this process has locked."""
    splits = open_dataset(request)
    result = SourceImport()
    clips: dict[str, _Clip] = {}
    stems: dict[str, str] = {}

    def reject(item: str, reason: str) -> None:
        rejection = Rejection(item=item, stage=STAGE, reason=reason)
        result.rejected.append(rejection)
        if on_reject:
            on_reject(rejection)

    with ThreadPoolExecutor(max_workers=request.workers, thread_name_prefix="import") as pool:
        pending: deque[Future] = deque()
        try:
            for split, ds in splits.items():
                columns = resolve_columns(request.hf_dataset, _column_names(ds), request.preset, request.audio_column,
                                          request.caption_column, request.id_column)
                rows = _raw_audio(ds.select_columns(columns.columns), columns.audio)
                for index, row in enumerate(rows):
                    item = f"{request.hf_dataset}[{split}][{index}]"
                    try:
                        submitted = _take_row(row, columns, split, item, request, out, clips, stems, pool)
                    except RejectedInput as err:
                        reject(err.item, err.reason)
                        continue
                    if submitted is not None:
                        pending.append(submitted)
                    while len(pending) > 2 * request.workers or (pending and pending[0].done()):
                        _collect(pending.popleft(), result, reject)
        except _LimitReached:
            pass
        while pending:
            _collect(pending.popleft(), result, reject)
    for record in result.records:
        clip = clips[record.id]
        record.caption = clip.captions[0]
        record.extra = {"captions": clip.captions, "hf_dataset": request.hf_dataset, "hf_split": clip.split,
                        **clip.id_fields}
    result.records.sort(key=lambda r: r.id)
    result.rejected.sort(key=lambda r: (r.item, r.reason))
    write_manifest(out / corpus.MANIFEST, result.records)
    atomic_write_text(out / corpus.REJECTED, "".join(r.to_json() + "\n" for r in result.rejected))
    atomic_write_text(out / corpus.LICENSES, licences_text(request.hf_dataset, request.revision,
                                                           declared_licence(request.hf_dataset, request.revision)))
    return result


def declared_licence(source: str, revision: str | None = None) -> str | None:
    """The ``license`` its dataset card declares (a Hub id's, or a local folder's ``README.md``), else None.

    Best effort: a card that cannot be read (offline, no card, bad YAML) declares nothing."""
    from huggingface_hub import hf_hub_download, metadata_load

    path = Path(source)
    try:
        if path.exists():
            card = path / "README.md" if path.is_dir() else None
        else:
            card = Path(hf_hub_download(source, "README.md", repo_type="dataset", revision=revision))
        metadata = metadata_load(card) if card is not None and card.is_file() else None
    except Exception:  # any failure (offline, no card, bad YAML) means: none declared, and the file says so
        return None
    licence = (metadata or {}).get("license")
    if isinstance(licence, list):
        licence = ", ".join(str(x) for x in licence)
    return str(licence) if licence else None


def licences_text(source: str, revision: str | None, licence: str | None) -> str:
    """``LICENSES.md`` of an import: where the audio came from and what its card declares. A corpus built from the
    sources carries it, and a push puts it in the dataset card (publishing refuses a corpus without one)."""
    where = f"`{source}`" + (f" (revision `{revision}`)" if revision else "")
    declared = f"`{licence}`" if licence else "none"
    return (f"# Licences and attribution\n\nThe source audio was imported by `fakesound import-sources` from the "
            f"dataset {where}.\n\nLicence declared by its dataset card: {declared}.\n\nEach clip keeps the terms "
            f"of its original recording, as that dataset describes them (AudioCaps and AudioSet clips are excerpts "
            f"of YouTube videos, each under its uploader's terms): check them before publishing anything built from "
            f"these sources, and state here what applies.\n")


class _LimitReached(Exception):
    """The row would start clip ``limit + 1``: stop reading."""


def _take_row(
    row: dict[str, Any], columns: ColumnMap, split: str, item: str, request: ImportRequest, out: Path,
    clips: dict[str, _Clip], stems: dict[str, str], pool: ThreadPoolExecutor,
) -> Future | None:
    """Add one row: a new clip is submitted for encoding (its future returned); a known clip gains captions."""
    captions = _captions(row, columns.captions)
    data = _audio_bytes(row.get(columns.audio), item)
    audio_sha = hashlib.sha256(data).hexdigest()
    id_fields = {c: _id_text(row.get(c)) for c in columns.id}
    empty = [c for c, v in id_fields.items() if not v or v == "None"]
    if empty:
        raise RejectedInput(item, f"empty id column(s) {', '.join(empty)}")
    clip_id = "_".join(id_fields.values()) if id_fields else audio_sha[:16]
    item = f"{item} {clip_id}"
    known = clips.get(clip_id)
    if known is not None:
        if known.audio_sha != audio_sha:
            raise RejectedInput(item, "duplicate clip id with different audio")
        known.captions += [c for c in captions if c not in known.captions]
        return None
    if not captions:
        raise RejectedInput(item, "no caption")
    if request.limit is not None and len(clips) >= request.limit:
        raise _LimitReached
    stem = file_stem(clip_id)
    if stems.setdefault(stem, clip_id) != clip_id:
        raise RejectedInput(item, f"file name {stem!r} already used by clip {stems[stem]!r}")
    policy = request.policy
    # the policy keys the job only when it is not the default, so imports made before it was a setting resume
    key = config_hash(["hf-source", audio_sha, request.output_rate, stem, *([asdict(policy)] if policy != SourcePolicy()
                                                                           else [])])
    clips[clip_id] = _Clip(clip_id, audio_sha, key, split, id_fields, list(captions))
    return pool.submit(_encode_clip, data, item, out, stem, request.output_rate, key, clip_id, policy)


def _collect(future: Future, result: SourceImport, reject: Callable[[str, str], None]) -> None:
    try:
        result.records.append(future.result())
    except RejectedInput as err:
        reject(err.item, err.reason)
