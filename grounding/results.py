"""Grounding results and the files that hold them.

Two forms are read, told apart by their shape:

* **region per clip** (FakeSound style): ``{clip_id: [onset, offset]}``, or a FakeSound metadata
  JSON (``{"audios": [...]}``) whose fake entries each give one region of their source clip;
* **phrase level**, as a text-to-audio grounding model writes it:
  ``{clip_id: [{"phrase": str, "segments": [[on, off], ...], "score": float (optional)}]}``.

Loading checks structure only (a malformed file is a ``ValueError`` naming the file); whether a
segment fits its clip is checked when a region is selected, where the clip's duration is known.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_write_text
from pipeline.errors import ConfigError
from pipeline.fakesound_format import read_fakesound_json
from pipeline.timemath import Segment

#: Phrase given to results that carry no phrase (region-per-clip files).
NO_PHRASE = ""


@dataclass(frozen=True)
class GroundingResult:
    """Where one phrase of a clip's caption sounds: its segments (seconds) and an optional score."""

    clip_id: str
    phrase: str
    segments: list[tuple[float, float]]
    score: float | None = None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number ({value!r})")
    return float(value)


def _segment(value: Any, what: str) -> Segment:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"{what} is not an [onset, offset] pair ({value!r})")
    return _number(value[0], f"{what} onset"), _number(value[1], f"{what} offset")


def _phrase_result(clip_id: str, index: int, entry: Any) -> GroundingResult:
    what = f"clip {clip_id!r} phrase {index}"
    if not isinstance(entry, dict) or "segments" not in entry:
        raise ValueError(f"{what} is not an object with 'segments'")
    phrase = entry.get("phrase", NO_PHRASE)
    if not isinstance(phrase, str):
        raise ValueError(f"{what}: 'phrase' is not a string")
    if not isinstance(entry["segments"], list):
        raise ValueError(f"{what}: 'segments' is not a list")
    segments = [_segment(s, f"{what} segment {k}") for k, s in enumerate(entry["segments"])]
    score = entry.get("score")
    return GroundingResult(clip_id, phrase, segments, None if score is None else _number(score, f"{what} score"))


def parse_phrase_results(clip_id: str, entries: list[Any]) -> list[GroundingResult]:
    """One clip's phrase-level entries (``[{"phrase", "segments", "score"?}, ...]``) as results."""
    return [_phrase_result(clip_id, i, v) for i, v in enumerate(entries)]


def _parse_mapping(data: dict[str, Any]) -> dict[str, list[GroundingResult]]:
    results: dict[str, list[GroundingResult]] = {}
    for clip_id, value in data.items():
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            results[clip_id] = parse_phrase_results(clip_id, value)
        else:
            region = _segment(value, f"clip {clip_id!r} region")
            results[clip_id] = [GroundingResult(clip_id, NO_PHRASE, [region])]
    return results


def _from_fakesound_metadata(path: Path) -> dict[str, list[GroundingResult]]:
    results: dict[str, list[GroundingResult]] = {}
    for record in read_fakesound_json(path):
        if record.is_fake:
            results.setdefault(record.source_id, []).append(
                GroundingResult(record.source_id, NO_PHRASE, list(record.segments))
            )
    return results


def load_grounding(path: str | Path) -> dict[str, list[GroundingResult]]:
    """Read a grounding file in either form (auto-detected): ``clip_id -> results``.

    Raises ``ValueError`` naming the file and the reason when the file is not one of the forms.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read grounding JSON ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: grounding JSON must be an object keyed by clip id, got {type(data).__name__}")
    if "audios" in data and isinstance(data["audios"], list):
        return _from_fakesound_metadata(path)
    try:
        return _parse_mapping(data)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from err


def _result_json(result: GroundingResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"phrase": result.phrase, "segments": [list(s) for s in result.segments]}
    if result.score is not None:
        entry["score"] = result.score
    return entry


def dump_grounding(results: dict[str, list[GroundingResult]]) -> dict[str, list[dict[str, Any]]]:
    """Phrase-level JSON object for ``results`` (the inverse of :func:`load_grounding`)."""
    return {clip_id: [_result_json(r) for r in items] for clip_id, items in results.items()}


def write_grounding(path: str | Path, results: dict[str, list[GroundingResult]]) -> Path:
    """Write ``results`` as phrase-level grounding JSON, atomically."""
    atomic_write_text(path, json.dumps(dump_grounding(results), indent=2, ensure_ascii=False))
    return Path(path)
