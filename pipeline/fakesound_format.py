"""FakeSound JSON and FakeSound2 JSONL metadata, read and written exactly as they ship.

FakeSound: ``{"audios": [{"audio_id", "label", "onset_offset", "filepath"}]}`` with
``onset_offset`` = ``"on_off"`` (Python float reprs, e.g. ``"8.28_9.96"``, ``"4.0_5.2"``)
and ``"0_0"`` for real clips. Fake ids are ``{source}_{on}_{off}``. A fake of ours labelled by several segments
also carries ``"segments": [[on, off], ...]`` (its ``onset_offset`` spans them all).
FakeSound2: one JSON object per line, ``onset_offset`` = ``"a-b_c-d"`` (``"0-0"`` for genuine).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pipeline.atomic import atomic_write_text
from pipeline.manifest import FAKE, REAL, REAL_MANIPULATION, ClipRecord
from pipeline.timemath import Segment

REAL_ONSET_OFFSET = "0_0"
#: Our addition to a FakeSound entry: the exact labelled segments of a fake with more than one.
SEGMENTS_KEY = "segments"


#: FakeSound JSON does not say how a fake was made.
UNKNOWN_MANIPULATION = "unknown"


def format_time(t: float) -> str:
    """Seconds as FakeSound writes them: Python's shortest float repr ("1.4", "4.0", "8.28")."""
    return repr(float(t))


def fakesound_audio_id(source_id: str, segment: Segment) -> str:
    """FakeSound's name for a fake made from ``source_id`` over ``segment``."""
    return f"{source_id}_{format_time(segment[0])}_{format_time(segment[1])}"


def parse_onset_offset(text: str) -> list[Segment]:
    """``"on_off"`` -> ``[(on, off)]``; ``"0_0"`` -> ``[]``."""
    onset, offset = (float(x) for x in text.split("_"))
    return [] if onset == 0 and offset == 0 and text == REAL_ONSET_OFFSET else [(onset, offset)]


def _source_of(audio_id: str, label: int, onset_offset: str) -> str:
    suffix = "_" + onset_offset
    return audio_id[: -len(suffix)] if label == FAKE and audio_id.endswith(suffix) else audio_id


def _entry_segments(entry: dict, onset_offset: str) -> list[Segment]:
    """The entry's segments: its exact ``segments`` when written (they must lie in ``onset_offset``'s span)."""
    span = parse_onset_offset(onset_offset)
    if SEGMENTS_KEY not in entry:
        return span
    segments = [(float(a), float(b)) for a, b in entry[SEGMENTS_KEY]]
    if not span or any(b < a for a, b in segments) or segments[0][0] != span[0][0] or segments[-1][1] != span[0][1]:
        raise ValueError(f"segments {entry[SEGMENTS_KEY]!r} do not fit onset_offset {onset_offset!r}")
    return segments


def read_fakesound_json(path: str | Path, split: str | None = None) -> list[ClipRecord]:
    """Import a FakeSound metadata file; ``split`` defaults to the file's stem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["audios"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a FakeSound metadata file ({err})") from err
    split = path.stem if split is None else split
    records = []
    for i, entry in enumerate(entries):
        try:
            label = int(entry["label"])
            onset_offset = entry["onset_offset"]
            records.append(
                ClipRecord(
                    id=entry["audio_id"],
                    label=label,
                    audio_path=entry["filepath"],
                    source_id=_source_of(entry["audio_id"], label, onset_offset),
                    split=split,
                    segments=_entry_segments(entry, onset_offset),
                    manipulation=UNKNOWN_MANIPULATION if label == FAKE else REAL_MANIPULATION,
                )
            )
        except (KeyError, ValueError, TypeError) as err:
            raise ValueError(f"{path}: entry {i} is malformed ({err})") from err
    return records


def resolve_release_path(filepath: str | Path, audio_root: str | Path) -> Path:
    """Where a published ``filepath`` (e.g. ``FakeSound/deepfake_data/easy/x.wav``) lies under ``audio_root``.

    Tries ``audio_root/filepath``, then the same with leading folders dropped one at a time, so the root may be
    the folder the archive was unpacked into or any folder inside it; unresolved, returns ``audio_root/filepath``.
    """
    parts = Path(filepath).parts
    for i in range(len(parts)):
        candidate = Path(audio_root, *parts[i:])
        if candidate.is_file():
            return candidate
    return Path(audio_root, filepath)


def to_fakesound_entry(record: ClipRecord) -> dict:
    """One FakeSound ``audios`` entry. FakeSound has one region per fake: ``onset_offset`` is the span from the
    first segment's onset to the last one's offset (what FakeSound's tools read), and a fake labelled by several
    segments also carries them exactly under :data:`SEGMENTS_KEY` (their tools ignore it; ours read it back)."""
    entry: dict = {"audio_id": record.id, "label": record.label, "onset_offset": REAL_ONSET_OFFSET,
                   "filepath": record.audio_path}
    if record.label == FAKE:
        if not record.segments:
            raise ValueError(f"{record.id}: a fake without a segment cannot be written as FakeSound JSON")
        onset, offset = record.segments[0][0], record.segments[-1][1]
        entry["onset_offset"] = f"{format_time(onset)}_{format_time(offset)}"
        if len(record.segments) > 1:
            entry[SEGMENTS_KEY] = [[float(a), float(b)] for a, b in record.segments]
    return entry


def dumps_fakesound_json(records: Iterable[ClipRecord]) -> str:
    """FakeSound JSON text, laid out as FakeSound ships it (4-space indent)."""
    return json.dumps({"audios": [to_fakesound_entry(r) for r in records]}, indent=4, ensure_ascii=False)


def write_fakesound_json(path: str | Path, records: Iterable[ClipRecord]) -> Path:
    """Export records as a FakeSound metadata file, atomically."""
    atomic_write_text(path, dumps_fakesound_json(records))
    return Path(path)


def parse_fakesound2_segments(text: str) -> list[Segment]:
    """``"a-b_c-d"`` -> ``[(a, b), (c, d)]``, every segment as written, zero-length ones too (FakeSound2's
    evaluation scores them as reference events); an offset before its onset is an error."""
    segments = []
    for part in text.split("_"):
        onset, offset = (float(x) for x in part.split("-"))
        if offset < onset:
            raise ValueError(f"segment {part!r} ends before it starts")
        segments.append((onset, offset))
    return segments


def _fakesound2_source(audio_id: str, filepath: str) -> str:
    # "data/.../inpainting_ldm2/X_InpaintingLdm2_1-2.wav" -> token "InpaintingLdm2" -> source "X"
    token = "".join(part.capitalize() for part in Path(filepath).parent.name.split("_"))
    marker = f"_{token}"
    return audio_id[: audio_id.index(marker)] if marker in audio_id else audio_id


def read_fakesound2_jsonl(path: str | Path, split: str = "test") -> list[ClipRecord]:
    """Import a FakeSound2 test metadata file (multi-segment, ``fake_type``, ``model``); the manipulation is its
    ``fake_type`` (``unknown`` where that is empty). Reals get no segments (their ``onset_offset`` is ``"0-0"``)."""
    path = Path(path)
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            fake_type = entry["fake_type"]
            label = REAL if fake_type == "genuine" else FAKE
            base = {"audio_id", "onset_offset", "filepath", "fake_type", "model", "target_caption"}
            records.append(
                ClipRecord(
                    id=entry["audio_id"],
                    label=label,
                    audio_path=entry["filepath"],
                    source_id=_fakesound2_source(entry["audio_id"], entry["filepath"]),
                    split=split,
                    segments=parse_fakesound2_segments(entry["onset_offset"]) if label == FAKE else [],
                    manipulation=REAL_MANIPULATION if label == REAL else (fake_type or UNKNOWN_MANIPULATION),
                    generator="" if entry.get("model") in (None, "None") else entry["model"],
                    caption=entry.get("target_caption", ""),
                    extra={k: v for k, v in entry.items() if k not in base},
                )
            )
        except (KeyError, ValueError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: malformed FakeSound2 entry ({err})") from err
    return records
