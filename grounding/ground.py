"""Grounding a source manifest: every clip's caption phrases located in its audio, written as one JSON file.

Backends: ``"tag"`` runs the text-to-audio grounding model (:mod:`grounding.tag_grounder`) on the phrases
of each caption (:func:`grounding.phrases.extract_phrases`); ``"energy"`` writes the energy fallback's
regions (:func:`grounding.energy.energy_regions`) with no phrase, so that the fallback can be scored
the same way. The model is loaded before the first clip, so a missing checkpoint fails at once, in one
line. A clip that cannot be read, or whose caption yields no phrase, is rejected with its reason and
the rest carry on. Finished clips are logged as they go, so an interrupted run resumes where it stopped;
the results file is written atomically at the end (phrase-level format, read back by
:func:`grounding.load_grounding`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from grounding.energy import energy_regions
from grounding.evaluate import match_id
from grounding.frames import SegmentRule
from grounding.phrases import extract_phrases
from grounding.results import NO_PHRASE, GroundingResult, dump_grounding, parse_phrase_results, write_grounding
from pipeline.atomic import atomic_write_text
from pipeline.audio_io import read_audio
from pipeline.errors import ConfigError, RejectedInput, Rejection
from pipeline.hashing import config_hash
from pipeline.manifest import ClipRecord, read_manifest

BACKENDS = ("tag", "energy")
#: The recommended checkpoint (AudioCaps v2, LAION-CLAP text tower); also a local folder in its layout.
DEFAULT_TAG_MODEL = "wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding"
STAGE = "ground"


@dataclass(frozen=True)
class GroundConfig:
    """Settings of a grounding run; every default lives here."""

    backend: str = "tag"
    model: str = DEFAULT_TAG_MODEL
    threshold: float = 0.5
    median_window: int = 1
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"grounding backend must be one of {BACKENDS}, got {self.backend!r}")
        SegmentRule(threshold=self.threshold, median_window=self.median_window)  # raises on bad values

    @property
    def rule(self) -> SegmentRule:
        return SegmentRule(threshold=self.threshold, median_window=self.median_window)


@dataclass
class GroundOutcome:
    """What a grounding run did."""

    results_path: Path
    clips: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    rejected: list[Rejection] = field(default_factory=list)
    reused: int = 0  # clips taken from an interrupted run's partial file


#: Phrases to ground per clip id, given instead of extracting them from the caption (e.g. a labels file's).
PhraseQueries = dict[str, list[str]]


def _clip_phrases(record: ClipRecord, queries: PhraseQueries | None) -> list[str]:
    """The given queries for the clip, else the phrases of its caption (the regeneration prompt)."""
    key = match_id(record.id, queries) if queries else None
    if key is not None and queries[key]:
        return list(dict.fromkeys(queries[key]))
    phrases = extract_phrases(record.caption or "")
    if not phrases:
        raise RejectedInput(record.id, "caption yields no phrase to ground")
    return phrases


ClipGrounder = Callable[[ClipRecord, Any, int], list[GroundingResult]]


def clip_grounder(config: GroundConfig, queries: PhraseQueries | None = None) -> ClipGrounder:
    """A function ``(record, audio, sample_rate) -> results`` for one clip; the model (if any) loads now.

    This is what a build calls to ground on the fly when it has no results file; it raises
    :class:`pipeline.errors.RejectedInput` for a clip that cannot be grounded. ``queries``: phrases to
    ground per clip id instead of the caption's (clips not in it use their caption).
    """
    return _tag_backend(config, queries) if config.backend == "tag" else _energy_backend


def _tag_backend(config: GroundConfig, queries: PhraseQueries | None) -> ClipGrounder:
    from grounding.tag_grounder import TagGrounder

    grounder = TagGrounder.from_pretrained(config.model, device=config.device)
    rule = config.rule

    def run(record: ClipRecord, audio, sample_rate: int) -> list[GroundingResult]:
        return grounder.ground(record.id, audio, sample_rate, _clip_phrases(record, queries), rule)

    return run


def _energy_backend(record: ClipRecord, audio, sample_rate: int) -> list[GroundingResult]:
    return [GroundingResult(record.id, NO_PHRASE, energy_regions(audio, sample_rate))]


def _clip_key(record: ClipRecord, config: GroundConfig, queries: PhraseQueries | None) -> str:
    """What a clip's results depend on: audio bytes, caption or queries, grounding settings (not the device)."""
    settings = {k: v for k, v in asdict(config).items() if k != "device"}
    key = match_id(record.id, queries) if queries else None
    return config_hash([record.id, record.sha256, record.caption, queries[key] if key else None, settings])


def _read_partial(path: Path) -> dict[str, dict[str, Any]]:
    """Finished clips of an interrupted run, by key; a torn last line (killed mid-write) is ignored."""
    done: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                done[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return done


def ground_sources(
    sources_manifest: str | Path,
    out_json: str | Path,
    config: GroundConfig | None = None,
    *,
    on_clip: Callable[[str], None] | None = None,
    queries: PhraseQueries | None = None,
    **settings: Any,
) -> GroundOutcome:
    """Ground every clip of ``sources_manifest`` into ``out_json``; ``settings`` override ``config`` fields.

    Resumable: each finished clip is appended to ``<out_json>.partial.jsonl``; a rerun with the same
    settings reuses the clips found there (keyed on audio hash, caption and settings) and grounds the
    rest; the partial file is removed once ``out_json`` is written. ``on_clip`` is called after each clip
    grounded in this run. ``queries`` (clip id -> phrases) replaces caption phrases, as when a TAG model is
    scored on a labels file's own phrases (:func:`grounding.evaluate.reference_queries`). Rejections are
    returned and, when there are any, written to ``<out_json stem>.rejected.jsonl``.
    """
    config = replace(config or GroundConfig(), **settings)
    manifest, out = Path(sources_manifest), Path(out_json)
    records = read_manifest(manifest)
    run = clip_grounder(config, queries)
    partial = out.with_name(out.name + ".partial.jsonl")
    done = _read_partial(partial)
    outcome = GroundOutcome(results_path=out)
    results: dict[str, list[GroundingResult]] = {}
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "a", encoding="utf-8") as log:
        if partial.stat().st_size and not partial.read_bytes().endswith(b"\n"):
            log.write("\n")  # end a line torn by a kill, so the next entry starts clean
        first_of: dict[str, str] = {}
        for record in records:
            if record.id in first_of:  # one clip per id: a second one would silently replace the first's results
                outcome.rejected.append(Rejection(str(record.resolve_audio(manifest.parent)), STAGE,
                                                  f"duplicate source id {record.id!r} (also {first_of[record.id]})"))
                continue
            first_of[record.id] = record.audio_path
            key = _clip_key(record, config, queries)
            entry = done.get(key)
            if entry is None:
                entry = {"key": key, "clip_id": record.id}
                try:
                    audio, sample_rate = read_audio(record.resolve_audio(manifest.parent))
                    entry["results"] = dump_grounding({record.id: run(record, audio, sample_rate)})[record.id]
                    entry["seconds"] = len(audio) / sample_rate
                except RejectedInput as err:
                    entry["rejected"] = {"item": err.item, "reason": err.reason}
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                log.flush()
                if on_clip:
                    on_clip(record.id)
            else:
                outcome.reused += 1
            if "rejected" in entry:
                outcome.rejected.append(Rejection(stage=STAGE, **entry["rejected"]))
            else:
                results[record.id] = parse_phrase_results(record.id, entry["results"])
                outcome.clips += 1
                outcome.audio_seconds += entry["seconds"]
    write_grounding(out, results)
    rejected_path = out.with_name(out.stem + ".rejected.jsonl")
    if outcome.rejected:
        atomic_write_text(rejected_path, "".join(r.to_json() + "\n" for r in outcome.rejected))
    else:
        rejected_path.unlink(missing_ok=True)
    partial.unlink()
    outcome.wall_seconds = time.perf_counter() - started
    return outcome
