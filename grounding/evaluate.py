"""Scoring grounding against known segments: segment F1 and event F1 (sed_eval-identical, :mod:`pipeline.sed_metrics`).

References are read from either

* AudioGrounding v2 labels (Zenodo 10.5281/zenodo.7269161): a JSON list of items with ``audio_id``
  (``Y<youtube id>.wav``), ``audiocap_id`` and ``phrases`` (``phrase``, ``segments``); the clip is named by
  the YouTube id (``audio_id`` without ``Y`` and extension) and also answers to its ``audiocap_id`` and to
  ``<youtube id>_<start time>`` (:func:`id_candidates`);
  ``[0, 0]`` segments mean "no segment", as in the upstream evaluation; or
* a phrase-level grounding file (:func:`grounding.load_grounding`), e.g. the demo's ``grounding.json``
  written with the known event times.

Two views, each summing counts over "files" as sed_eval does:

* **phrase**: each (clip, phrase) pair of the reference is a file, matched to the estimate with the
  same phrase (compared lower-cased, whitespace-collapsed); a missing estimate counts as no segments.
  Only meaningful for estimates that carry phrases (a TAG model).
* **clip**: each clip is a file; reference and estimate are the unions of all their phrases' segments.
  This scores phrase-less grounders (the energy fallback) and a TAG model alike: "where does
  something named in the caption sound".

Defaults follow the TAG papers' evaluation: event collar 0.2 s with offsets within
``max(0.2 s, 20 % of the reference length)``, segment resolution 1 s.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from grounding.results import GroundingResult, load_grounding
from pipeline.errors import ConfigError
from pipeline.sed_metrics import event_counts, prf, segment_counts, sum_counts
from pipeline.timemath import Segment, merge_segments


@dataclass(frozen=True)
class EvalConfig:
    """Metric settings (the upstream TAG evaluation's)."""

    segment_resolution_s: float = 1.0
    t_collar_s: float = 0.2
    offset_fraction: float = 0.2


def _phrase_key(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _audiogrounding_clip_id(audio_id: str) -> str:
    stem = Path(audio_id).stem
    return stem[1:] if stem.startswith("Y") and len(stem) > 1 else stem


_START_SUFFIX = re.compile(r"_\d+(?:\.\d+)?$")


def id_candidates(clip_id: str) -> list[str]:
    """Ids a source clip may have in a labels file: itself, then without an AudioCaps start-time suffix
    (``<youtube id>_<start>`` -> ``<youtube id>``; AudioGrounding names clips by YouTube id alone)."""
    stripped = _START_SUFFIX.sub("", clip_id)
    return [clip_id] if stripped == clip_id or not stripped else [clip_id, stripped]


def match_id(clip_id: str, known: dict[str, Any], aliases: dict[str, str] | None = None) -> str | None:
    """The key of ``known`` that ``clip_id`` names (directly, through an alias, or by YouTube id), or None."""
    for candidate in id_candidates(clip_id):
        candidate = (aliases or {}).get(candidate, candidate)
        if candidate in known:
            return candidate
    return None


def read_audiogrounding(path: str | Path) -> tuple[dict[str, list[GroundingResult]], dict[str, str]]:
    """(clip id -> reference phrases, audiocap id -> clip id) from an AudioGrounding v2 label file."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    references: dict[str, list[GroundingResult]] = {}
    aliases: dict[str, str] = {}
    for index, item in enumerate(data):
        if not isinstance(item, dict) or "audio_id" not in item or not isinstance(item.get("phrases"), list):
            raise ConfigError(f"{path}: item {index} lacks 'audio_id' or a 'phrases' list")
        clip_id = _audiogrounding_clip_id(str(item["audio_id"]))
        if "audiocap_id" in item:
            aliases[str(item["audiocap_id"])] = clip_id
        for phrase in item["phrases"]:
            segments = [(float(a), float(b)) for a, b in phrase.get("segments", []) if not (a == 0 and b == 0)]
            references.setdefault(clip_id, []).append(GroundingResult(clip_id, str(phrase["phrase"]), segments))
    return references, aliases


def read_references(path: str | Path) -> tuple[dict[str, list[GroundingResult]], dict[str, str]]:
    """References from either supported form (see the module docstring), with clip-id aliases."""
    path = Path(path)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read reference labels ({err})") from err
    if isinstance(data, list):
        return read_audiogrounding(path)
    return load_grounding(path), {}


def reference_queries(path: str | Path) -> dict[str, list[str]]:
    """Clip id -> the references' phrases: what a TAG model must be asked to be scored per phrase.

    Clips are keyed by the reference's id and by its aliases (AudioGrounding's ``audiocap_id``), so the
    queries find a source manifest keyed either way.
    """
    references, aliases = read_references(path)
    queries = {clip_id: [r.phrase for r in results if r.phrase] for clip_id, results in references.items()}
    queries.update({alias: queries[clip_id] for alias, clip_id in aliases.items() if clip_id in queries})
    return {clip_id: phrases for clip_id, phrases in queries.items() if phrases}


def _union(results: list[GroundingResult]) -> list[Segment]:
    return merge_segments(s for r in results for s in r.segments)


def _scores(pairs: list[tuple[list[Segment], list[Segment]]], config: EvalConfig) -> dict[str, Any]:
    seg = sum_counts([segment_counts(r, e, config.segment_resolution_s) for r, e in pairs])
    evt = sum_counts(
        [
            event_counts(r, e, config.t_collar_s, evaluate_offset=True, percentage_of_length=config.offset_fraction)
            for r, e in pairs
        ]
    )
    return {
        "files": len(pairs),
        "segment": prf(*seg) | {"counts": list(seg)},
        "event": prf(*evt) | {"counts": list(evt)},
    }


def evaluate_grounding(
    references_path: str | Path, estimates_path: str | Path, config: EvalConfig | None = None
) -> dict[str, Any]:
    """Segment and event P/R/F1 of ``estimates_path`` (a grounding results file) against the references.

    Returns ``{"clip": {...}, "phrase": {...} or None, "clips_missing": n, "settings": {...}}``; clips of
    the references without an estimate count as estimating nothing. ``phrase`` is None when no estimate
    carries a phrase.
    """
    config = config or EvalConfig()
    references, aliases = read_references(references_path)
    estimates: dict[str, list[GroundingResult]] = {}
    for clip_id, results in load_grounding(estimates_path).items():
        estimates.setdefault(match_id(clip_id, references, aliases) or clip_id, []).extend(results)
    missing = sum(1 for clip_id in references if clip_id not in estimates)
    clip_pairs = [(_union(refs), _union(estimates.get(clip_id, []))) for clip_id, refs in sorted(references.items())]
    has_phrases = any(r.phrase for results in estimates.values() for r in results)
    phrase_view = None
    if has_phrases:
        phrase_pairs = []
        for clip_id, refs in sorted(references.items()):
            by_phrase: dict[str, list[Segment]] = {}
            for result in estimates.get(clip_id, []):
                by_phrase.setdefault(_phrase_key(result.phrase), []).extend(result.segments)
            for ref in refs:
                estimated = by_phrase.get(_phrase_key(ref.phrase), [])
                phrase_pairs.append((merge_segments(ref.segments), merge_segments(estimated)))
        phrase_view = _scores(phrase_pairs, config)
    return {
        "clip": _scores(clip_pairs, config),
        "phrase": phrase_view,
        "clips_missing": missing,
        "settings": asdict(config),
    }


def format_evaluation(report: dict[str, Any]) -> str:
    """A few lines for a terminal."""
    lines = []
    for view in ("clip", "phrase"):
        scores = report.get(view)
        if scores is None:
            continue
        seg, evt = scores["segment"], scores["event"]
        lines.append(
            f"{view:6s} ({scores['files']} files): segment F1 {seg['f1']:.3f} (P {seg['precision']:.3f} "
            f"R {seg['recall']:.3f}), event F1 {evt['f1']:.3f} (P {evt['precision']:.3f} R {evt['recall']:.3f})"
        )
    if report.get("clips_missing"):
        lines.append(f"{report['clips_missing']} reference clips had no estimate (scored as nothing found)")
    return "\n".join(lines)
