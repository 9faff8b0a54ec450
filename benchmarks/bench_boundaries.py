"""Boundaries and labels of the weight-free fakes (issue 11, item 2), measured on demo corpora.

For each boundary treatment (``hard``: FakeSound's hard splice; ``crossfade``: the weight-free default, 10 ms,
power-preserving for the correlation; ``zero-crossing``: hard splice with each seam moved up to 1 ms inward
to where replacement and real agree best) one demo corpus is built (same clips, seed and recipe otherwise), then:

* **label honesty**: per manipulation, the share of labelled 20 ms frames whose samples all equal the real clip's,
  for three labelling rules on the same audio: one span per fake on the 40 ms grid (the rule before
  multi-segment labels), several segments on 40 ms cells, and the corpus's own labels (20 ms cells); and how many
  fakes have more than one segment. The corpus labels are also recomputed from the audio and compared.
* **shortcut probes** (:func:`detector.probes.run_probes`): boundary and global-statistics probe EER per
  manipulation, source-grouped cross-validation.

    PYTHONPATH=. python benchmarks/bench_boundaries.py --clips 1200 --seed 7 --work /tmp/bench_boundaries
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from detector.data import load_corpus
from detector.probes import run_probes
from flows.build import STAGES, thread_executor
from pipeline import engine
from pipeline.audio_io import read_audio
from pipeline.manifest import ClipRecord
from pipeline.requests import BuildRequest
from pipeline.splice import altered_segments
from pipeline.timemath import DEFAULT_FRAME_S, FAKESOUND_GRID_S, Segment, segment_to_samples
from regenerate.recipes import get_recipe

#: Boundary treatment -> recipe overrides of the weight-free recipe.
SETTINGS = {
    "hard": {"crossfade_ms": 0.0},
    "crossfade": {},
    "zero-crossing": {"crossfade_ms": 0.0, "align_zero_crossing": True},
}


def build_corpus(work: Path, setting: str, clips: int, seed: int, workers: int) -> Path:
    """The demo corpus of one boundary treatment (reused when its manifest exists)."""
    out = work / f"demo{clips}_seed{seed}_{setting}"
    if not (out / "manifest.jsonl").exists():
        started = time.perf_counter()
        request = BuildRequest(str(out), demo=True, clips=clips, seed=seed, workers=workers)
        recipe = get_recipe(request.recipe, **SETTINGS[setting])
        engine.build(request, recipe, STAGES, thread_executor(workers, progress=False))
        print(f"built {out} in {time.perf_counter() - started:.0f} s", flush=True)
    return out


def identical_frames(real: np.ndarray, fake: np.ndarray, segments: list[Segment], rate: int) -> tuple[int, int]:
    """(labelled 20 ms frames, those whose samples all equal the real clip's)."""
    frame = segment_to_samples((0.0, DEFAULT_FRAME_S), rate)[1]
    labelled = identical = 0
    for segment in segments:
        start, stop = segment_to_samples(segment, rate)
        for first in range(start, stop, frame):
            last = min(first + frame, stop)
            labelled += 1
            identical += bool(np.array_equal(real[first:last], fake[first:last]))
    return labelled, identical


def label_honesty(corpus: Path, records: list[ClipRecord]) -> dict:
    """Identical labelled frames per manipulation under the three labelling rules; multi-segment fakes."""
    reals = {r.source_id: r for r in records if r.label == 0}
    rules = ("one_span_40ms", "segments_40ms", "corpus_labels")
    out: dict[str, dict] = {}
    mismatched = []
    for fake in (r for r in records if r.label == 1):
        real, rate = read_audio(corpus / reals[fake.source_id].audio_path)
        made, _ = read_audio(corpus / fake.audio_path)
        whole = (0.0, len(real) / rate)  # cells on the clip's own grid; nothing differs outside the labels
        coarse = altered_segments(real, made, whole, rate, FAKESOUND_GRID_S)
        fine = altered_segments(real, made, whole, rate)
        if fine != fake.segments:
            mismatched.append(fake.id)
        labels = {"one_span_40ms": [(coarse[0][0], coarse[-1][1])], "segments_40ms": coarse,
                  "corpus_labels": fake.segments}
        for group in (fake.manipulation, "all"):
            row = out.setdefault(group, {"fakes": 0, "multi_segment": 0, "max_segments": 0,
                                         **{rule: [0, 0] for rule in rules}})
            row["fakes"] += 1
            row["multi_segment"] += len(fake.segments) > 1
            row["max_segments"] = max(row["max_segments"], len(fake.segments))
            for rule in rules:
                n, same = identical_frames(real, made, labels[rule], rate)
                row[rule][0] += n
                row[rule][1] += same
    for row in out.values():
        for rule in rules:
            n, same = row[rule]
            row[rule] = {"labelled_frames": n, "identical": same, "share_pct": round(100 * same / max(n, 1), 3)}
    return {"by_manipulation": out, "labels_not_recomputed": mismatched}


def markdown(report: dict) -> str:
    lines = ["| boundary | manipulation | fakes | > 1 segment | identical labelled 20 ms frames: one span (40 ms) | "
             "segments on 40 ms cells | corpus labels (20 ms cells) |", "|---|---|---|---|---|---|---|"]
    for setting, part in report["settings"].items():
        for group, row in part["labels"]["by_manipulation"].items():
            cells = [f"{row[r]['share_pct']:.2f} % ({row[r]['identical']}/{row[r]['labelled_frames']})"
                     for r in ("one_span_40ms", "segments_40ms", "corpus_labels")]
            lines.append(f"| {setting} | {group} | {row['fakes']} | {row['multi_segment']} | {' | '.join(cells)} |")
    lines += ["", "| boundary | probe | " + " | ".join(("all", "addition", "splice", "vocoder")) + " |",
              "|---|---|---|---|---|---|"]
    for setting, part in report["settings"].items():
        for name, probe in part["probes"].items():
            values = [probe["eer"].get(g, math.nan) for g in ("all", "addition", "splice", "vocoder")]
            lines.append(f"| {setting} | {name} | " + " | ".join(f"{100 * v:.1f} %" for v in values) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("bench_boundaries"))
    ap.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=list(SETTINGS))
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict = {"clips": args.clips, "seed": args.seed, "settings": {}}
    for setting in args.settings:
        corpus = build_corpus(args.work, setting, args.clips, args.seed, args.workers)
        records = load_corpus(corpus)
        part = {"labels": label_honesty(corpus, records), "probes": run_probes(records, corpus)}
        report["settings"][setting] = part
        print(json.dumps({setting: part}, indent=1, default=float), flush=True)
    (args.work / "boundaries.json").write_text(json.dumps(report, indent=1, default=float), encoding="utf-8")
    (args.work / "boundaries.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
