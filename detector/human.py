"""Human listeners as a benchmark system: answers of a listening test -> per-answer predictions -> the metrics.

The answers file is SQLite (written by ``fakesound listen``; its schema is owned here, next to the scoring,
so the writer and the reader cannot drift). ``trials`` holds each participant's sequence together with the
truth of every clip at the time the test was drawn, so a file is scored on its own, without the corpus.

Each answer is one prediction, scored exactly like a detector's clip:

* the clip score is the answer moved away from 0.5 by the confidence: ``0.5 ± 0.5 * c / CONFIDENCE_LEVELS``
  (+ for "fake", - for "real"), so every "fake" outranks every "real" and EER/AUC rank answers by how sure
  the listener was (a listener who always gives one confidence yields a two-point ROC);
* the estimated fake regions are the regions marked on the waveform (only for a "fake" answer);
* the 20 ms frame scores are 1 inside the marked regions (everywhere when a "fake" came without a region),
  so FakeSound's any-frame accuracy equals the binary accuracy.

Bootstrap CIs resample answers (stratified by label) and so treat answers as independent; with few
participants the between-listener spread is wider than that (the CSV export keeps the participant).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.evaluate import ClipPrediction, metrics_by_group
from pipeline.atomic import atomic_path
from pipeline.errors import ConfigError
from pipeline.timemath import DEFAULT_FRAME_S, Segment, segments_to_frame_labels

#: The confidence scale of an answer: 1 (a guess) .. CONFIDENCE_LEVELS (certain).
CONFIDENCE_LEVELS = 5
HUMANS = "humans"

SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    seed INTEGER NOT NULL,
    session TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    idx INTEGER NOT NULL,
    clip_id TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label IN (0, 1)),
    segments TEXT NOT NULL,
    manipulation TEXT NOT NULL,
    generator TEXT NOT NULL,
    split TEXT NOT NULL,
    duration REAL NOT NULL,
    manifest TEXT NOT NULL,
    PRIMARY KEY (participant_id, idx)
);
CREATE TABLE IF NOT EXISTS answers (
    participant_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    answer INTEGER NOT NULL CHECK (answer IN (0, 1)),
    confidence INTEGER,
    regions TEXT NOT NULL,
    response_ms INTEGER,
    replays INTEGER NOT NULL DEFAULT 0,
    answered_at REAL NOT NULL,
    PRIMARY KEY (participant_id, idx),
    FOREIGN KEY (participant_id, idx) REFERENCES trials(participant_id, idx)
);
"""


@dataclass(frozen=True)
class HumanAnswer:
    """One submitted answer beside the truth of its clip (1 = fake, 0 = real, as everywhere)."""

    participant: int
    participant_name: str
    trial: int
    clip_id: str
    label: int
    segments: list[Segment]
    manipulation: str
    generator: str
    split: str
    duration: float
    manifest: str
    answer: int
    confidence: int | None
    regions: list[Segment]
    response_ms: int | None
    replays: int

    @property
    def correct(self) -> bool:
        return self.answer == self.label

    @property
    def score(self) -> float:
        """p(fake) from the answer and its confidence (0.5 ± 0.5 * c / levels); 0/1 without a confidence."""
        sign = 1.0 if self.answer == 1 else -1.0
        if self.confidence is None:
            return 0.5 + 0.5 * sign
        return 0.5 + 0.5 * sign * self.confidence / CONFIDENCE_LEVELS


def confidence_ok(confidence: int | None) -> bool:
    return confidence is None or (isinstance(confidence, int) and 1 <= confidence <= CONFIDENCE_LEVELS)


def read_human_answers(path: str | Path) -> list[HumanAnswer]:
    """Every answer in an answers file, ordered by participant and trial (opened read-only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: answers file not found")
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT p.id, p.name, t.idx, t.clip_id, t.label, t.segments, t.manipulation, t.generator, t.split, "
            "t.duration, t.manifest, a.answer, a.confidence, a.regions, a.response_ms, a.replays "
            "FROM answers a JOIN trials t USING (participant_id, idx) JOIN participants p ON p.id = a.participant_id "
            "ORDER BY p.id, t.idx"
        ).fetchall()
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"{path}: not a fakesound answers file ({err})") from err
    finally:
        con.close()
    return [
        HumanAnswer(
            participant=r[0], participant_name=r[1], trial=r[2], clip_id=r[3], label=r[4],
            segments=[tuple(s) for s in json.loads(r[5])], manipulation=r[6], generator=r[7], split=r[8],
            duration=r[9], manifest=r[10], answer=r[11], confidence=r[12],
            regions=[tuple(s) for s in json.loads(r[13])], response_ms=r[14], replays=r[15],
        )
        for r in rows
    ]


def answer_prediction(a: HumanAnswer, frame_s: float = DEFAULT_FRAME_S) -> ClipPrediction:
    """One answer as a :class:`ClipPrediction` (see the module docstring for the mapping)."""
    regions = list(a.regions) if a.answer == 1 else []
    frames = segments_to_frame_labels(regions, a.duration, frame_s)
    if a.answer == 1 and not regions:
        frames[:] = 1.0
    return ClipPrediction(
        id=a.clip_id, label=a.label, manipulation=a.manipulation, split=a.split, segments=list(a.segments),
        score=a.score, regions=[(on, off, 1.0) for on, off in regions], frame_scores=frames,
    )


def human_rows(
    answers: Sequence[HumanAnswer], threshold: float = 0.5, n_boot: int = 1000, seed: int = 0, name: str = HUMANS
) -> tuple[list[dict[str, Any]], dict[str, tuple[list[int], list[float]]]]:
    """Benchmark rows (pooled over participants; per split, overall and per manipulation) and the DET curve.

    EER/AUC are left out (NaN) when an answer lacks a confidence: the ranking would not be the listener's.
    """
    preds = [answer_prediction(a) for a in answers]
    rows: list[dict[str, Any]] = []
    with_conf = all(a.confidence is not None for a in answers)
    for manifest in sorted({a.manifest for a in answers}):
        for split in sorted({a.split for a in answers if a.manifest == manifest}):
            chosen = [p for p, a in zip(preds, answers, strict=True) if a.manifest == manifest and a.split == split]
            for group, m in metrics_by_group(chosen, threshold, n_boot, seed).items():
                if not with_conf:
                    for key in ("eer", "auc"):
                        m[key] = {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
                rows.append({"checkpoint": name, "manifest": manifest, "split": split or "-", "group": group,
                             "metrics": m})
    curves = {}
    if with_conf and len({p.label for p in preds}) == 2:
        curves[name] = ([p.label for p in preds], [p.score for p in preds])
    return rows, curves


CSV_COLUMNS = ("participant", "participant_name", "trial", "clip_id", "split", "manipulation", "generator", "label",
               "answer", "correct", "confidence", "score", "segments", "regions", "response_ms", "replays")


def write_answers_csv(answers: Sequence[HumanAnswer], path: str | Path) -> Path:
    """One row per answer with its truth and correctness (regions as ``onset-offset;...`` in seconds)."""

    def spans(segments: Sequence[Segment]) -> str:
        return ";".join(f"{a:.3f}-{b:.3f}" for a, b in segments)

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for a in answers:
            writer.writerow([a.participant, a.participant_name, a.trial, a.clip_id, a.split, a.manipulation,
                             a.generator, a.label, a.answer, int(a.correct), "" if a.confidence is None else
                             a.confidence, f"{a.score:.3f}", spans(a.segments), spans(a.regions),
                             "" if a.response_ms is None else a.response_ms, a.replays])
    return path


def per_participant_accuracy(answers: Sequence[HumanAnswer]) -> dict[str, float]:
    """Binary accuracy of each participant by number (for the results JSON: the spread the pooled CI hides)."""
    out: dict[str, list[bool]] = {}
    for a in answers:
        out.setdefault(str(a.participant), []).append(a.correct)
    return {p: float(np.mean(v)) for p, v in out.items()}


def score_answers_file(
    path: str | Path, out_dir: str | Path, threshold: float = 0.5, n_boot: int = 1000, seed: int = 0,
    name: str = HUMANS,
) -> tuple[list[dict[str, Any]], dict[str, tuple[list[int], list[float]]], dict[str, Any]]:
    """What the benchmark needs of one answers file: rows named ``name``, its DET curve and a summary;
    writes the answers as ``<name>.csv`` into ``out_dir``."""
    answers = read_human_answers(path)
    if not answers:
        raise ConfigError(f"{path}: no answers yet")
    rows, curves = human_rows(answers, threshold, n_boot, seed, name=name)
    csv_path = write_answers_csv(answers, Path(out_dir) / f"{name}.csv")
    summary = {"answers": len(answers), "participants": per_participant_accuracy(answers), "csv": str(csv_path)}
    return rows, curves, summary
