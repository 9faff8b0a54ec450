"""Benchmark: checkpoints x test manifests -> results.md, results.json, DET/ROC plot, localisation figure."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from detector.evaluate import ClipPrediction, json_safe, metrics_by_group, predict_records
from detector.inference import Detector
from pipeline.atomic import atomic_write_text
from pipeline.fakesound_format import read_fakesound_json, resolve_release_path
from pipeline.manifest import ClipRecord, read_manifest

TABLE_METRICS = (
    ("eer", "EER %", 100), ("auc", "AUC", 1), ("acc_any_frame", "Acc (any frame) %", 100),
    ("seg_f1_1s", "Seg F1@1s", 1), ("seg_f1_20ms", "Seg F1@20ms", 1), ("event_f1", "Event F1 (0.25 s)", 1),
)


def read_test_manifest(path: str | Path, audio_root: str | Path | None = None) -> list[ClipRecord]:
    """FakeSound JSON (``.json``) or our JSONL manifest; audio paths stay relative to the manifest's folder, or
    resolve under ``audio_root`` (where a published release was unpacked) when given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found")
    records = read_fakesound_json(path) if path.suffix == ".json" else read_manifest(path)
    if audio_root is None:
        return records
    return [replace(r, audio_path=str(resolve_release_path(r.audio_path, audio_root).absolute())) for r in records]


def _cell(m: dict[str, float], scale: float) -> str:
    v, lo, hi = m["value"], m["ci_low"], m["ci_high"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    digits = 1 if scale == 100 else 3
    text = f"{v * scale:.{digits}f}"
    if lo is not None and not math.isnan(lo):
        text += f" [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"
    return text


def results_markdown(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, one row per (checkpoint, manifest, split, group), values with 95 % CIs."""
    head = ["checkpoint", "manifest", "split", "group", "n (fake/real)", *(t for _, t, _ in TABLE_METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        m = r["metrics"]
        cells = [r["checkpoint"], r["manifest"], r["split"], r["group"], f"{m['n_fake']}/{m['n_real']}"]
        cells += [_cell(m[k], s) for k, _, s in TABLE_METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "EER/AUC from the clip score; Acc: FakeSound's rule (fake if any 20 ms frame > threshold); segment F1 "
        "as sed_eval SegmentBasedMetrics; event F1: onset + offset, 0.25 s collar. A manipulation's group is its "
        "fakes plus all real clips of the split. Brackets: 95 % stratified bootstrap CI."
    )
    return "\n".join(lines) + "\n"


def run_benchmark(
    checkpoints: Sequence[str | Path],
    manifests: Sequence[str | Path],
    out_dir: str | Path,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    device: str = "auto",
    n_localisation: int = 4,
    progress: bool = True,
    human_answers: Sequence[str | Path] = (),
    audio_root: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate every checkpoint on every manifest (per split and per manipulation) and write the outputs.

    ``human_answers``: listening-test answer files (``fakesound listen``), each scored as a "humans" row.
    """
    from detector.plots import plot_det_roc, plot_localisation  # matplotlib only when benchmarking

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tests = [(Path(m), read_test_manifest(m, audio_root)) for m in manifests]
    rows: list[dict[str, Any]] = []
    curves: dict[str, tuple[list[int], list[float]]] = {}
    errors: list[str] = []
    first_preds: list[ClipPrediction] = []
    for ckpt in checkpoints:
        detector = Detector.from_checkpoint(ckpt, threshold=threshold, device=device)
        ckpt_name = Path(ckpt).name
        for manifest, records in tests:
            preds, errs = predict_records(detector, records, manifest.parent, progress=progress)
            errors += errs
            if not first_preds:
                first_preds = preds
            for split in sorted({p.split for p in preds}):
                split_preds = [p for p in preds if p.split == split]
                for group, m in metrics_by_group(split_preds, threshold, n_boot, seed).items():
                    rows.append({"checkpoint": ckpt_name, "manifest": manifest.name, "split": split or "-",
                                 "group": group, "metrics": m})
            if len({p.label for p in preds}) == 2:
                curves[f"{ckpt_name} / {manifest.name}"] = ([p.label for p in preds], [p.score for p in preds])
    humans = {}
    for i, answers in enumerate(human_answers):
        from detector.human import score_answers_file

        name = "humans" if len(human_answers) == 1 else f"humans-{i + 1}"
        human_rows, human_curves, humans[str(answers)] = score_answers_file(answers, out_dir, threshold, n_boot,
                                                                            seed, name)
        rows += human_rows
        curves.update(human_curves)
    results = {"threshold": threshold, "n_boot": n_boot, "rows": rows, "errors": errors, "humans": humans,
               "checkpoints": [str(c) for c in checkpoints], "manifests": [str(m) for m in manifests]}
    atomic_write_text(out_dir / "results.json", json.dumps(json_safe(results), indent=2))
    atomic_write_text(out_dir / "results.md", results_markdown(rows))
    if curves:
        plot_det_roc(curves, out_dir / "det_roc.png")
    chosen = _pick_localisation(first_preds, n_localisation)
    if chosen:
        plot_localisation(chosen, out_dir / "localisation.png", threshold)
    return results


def _pick_localisation(preds: list[ClipPrediction], n: int) -> list[ClipPrediction]:
    """A few fakes (one per manipulation first) and one real clip."""
    fakes = [p for p in preds if p.label == 1]
    chosen, seen = [], set()
    for p in fakes:
        if p.manipulation not in seen:
            chosen.append(p)
            seen.add(p.manipulation)
    chosen += [p for p in fakes if p not in chosen]
    chosen = chosen[: max(0, n - 1)]
    reals = [p for p in preds if p.label == 0]
    return chosen + reals[:1]
