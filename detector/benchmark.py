"""Benchmark: systems (checkpoints, probes) x test manifests x conditions -> results.md, results.json, figures.

Results are a list of rows, one per (system, manifest, split, condition, group); a system is a named
checkpoint or a shortcut probe (:mod:`detector.probes`), so other systems (human listeners) can join the table.
Each checkpoint decides clips at the threshold stored with it (chosen on validation) unless one is given;
frames at ``FRAME_THRESHOLD``; segment and event F1 score the raw 20 ms frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from detector.evaluate import POINT_METRICS, ClipPrediction, json_safe, metrics_by_group, predict_records
from detector.inference import DEFAULT_THRESHOLD, FRAME_THRESHOLD, Detector
from detector.probes import FLAG_EER, run_probes
from detector.protocols import PROTOCOLS, fakesound2_test_sets, paper_protocol
from pipeline.atomic import atomic_write_text
from pipeline.conditions import apply_condition, parse_condition
from pipeline.fakesound_format import read_fakesound2_jsonl, read_fakesound_json, resolve_release_path
from pipeline.manifest import ClipRecord, read_manifest
from pipeline.timemath import DEFAULT_FRAME_S, segments_to_frame_labels

TABLE_METRICS = (
    ("eer", "EER %", 100), ("auc", "AUC", 1), ("acc_clip", "Acc %", 100), ("fpr", "FPR reals %", 100),
    ("fnr", "FNR fakes %", 100), ("acc_any_frame", "Acc any-frame %", 100), ("seg_f1_1s", "Seg F1@1s", 1),
    ("seg_f1_20ms", "Seg F1@20ms", 1), ("event_f1", "Event F1 (0.25 s)", 1),
)
PRF_METRICS = ("seg_1s", "seg_20ms", "event")
#: The conditions ``--conditions default`` stands for.
DEFAULT_CONDITIONS = (
    "lowpass:4000", "lowpass:8000", "lowpass:11025", "lowpass:16000", "mp3:0.5", "mp3:0.9", "mp3:0.95@16000",
    "mp3:0.99@22050", "vorbis:0.3",
    "vorbis:0.9", "opus:0.5", "opus:0.9", "resample:16000", "gain:-12", "gain:12", "noise:20", "noise:10",
    "loudness:-14", "limit:12", "clip:6",
)
ALL_SPLITS = "all"


def read_test_manifest(path: str | Path, split: str = "test", audio_root: str | Path | None = None) -> list[ClipRecord]:
    """Records to score, audio paths relative to the manifest's folder, or under ``audio_root`` (where a published
    release was unpacked) when given.

    FakeSound ``.json`` (one split per file; its fakes' manipulation is ``unknown``: the format does not say),
    FakeSound2 ``.jsonl`` (recognised by ``fake_type``; one split per file) or our ``manifest.jsonl``, of which
    only ``split`` is kept (``"all"`` keeps every split).
    """
    records = _read_split(Path(path), split)
    if audio_root is None:
        return records
    return [replace(r, audio_path=str(resolve_release_path(r.audio_path, audio_root).absolute())) for r in records]


def _read_split(path: Path, split: str) -> list[ClipRecord]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: manifest not found")
    if path.suffix == ".json":
        return read_fakesound_json(path)
    first = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()), "{}")
    if "fake_type" in json.loads(first):
        return read_fakesound2_jsonl(path, split=path.stem)
    records = read_manifest(path)
    if split == ALL_SPLITS:
        return records
    kept = [r for r in records if r.split == split]
    if not kept:
        found = ", ".join(sorted({r.split for r in records})) or "none"
        raise ValueError(f"{path}: no clips in split {split!r} (splits: {found}; --split all keeps every one)")
    return kept


def system_names(checkpoints: Sequence[str | Path]) -> list[str]:
    """A unique label per checkpoint: the shortest trailing part of its path that no other one shares."""
    parts = [Path(c).resolve().parts for c in checkpoints]
    names = []
    for mine in parts:
        for k in range(1, len(mine) + 1):
            tail = mine[-k:]
            if sum(p[-k:] == tail for p in parts) == 1 or k == len(mine):
                names.append("/".join(tail))
                break
    if len(set(names)) < len(names):
        raise ValueError("the same checkpoint is listed twice")
    return names


def _cell(m: dict[str, float], scale: float) -> str:
    v, lo, hi = m["value"], m["ci_low"], m["ci_high"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    digits = 1 if scale == 100 else 3
    text = f"{v * scale:.{digits}f}"
    if lo is not None and not math.isnan(lo):
        text += f" [{lo * scale:.{digits}f}, {hi * scale:.{digits}f}]"
    return text


def results_markdown(rows: list[dict[str, Any]], probes: dict[str, dict] | None = None) -> str:
    """Markdown: one row per (system, manifest, split, condition, group), values with 95 % CIs; then the
    precision/recall counts behind the F1s, and the shortcut-probe flags."""
    head = ["system", "manifest", "split", "condition", "group", "threshold", "n (fake/real)",
            *(t for _, t, _ in TABLE_METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        m = r["metrics"]
        threshold = r.get("threshold")
        cells = [r["system"], r["manifest"], r["split"], r.get("condition", "clean"), r["group"],
                 "–" if threshold is None else f"{threshold:.3f}", f"{m['n_fake']}/{m['n_real']}"]
        cells += [_cell(m[k], s) if k in m else "–" for k, _, s in TABLE_METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Precision / recall behind the F1 columns (pooled over clips):", "",
              "| system | manifest | split | condition | group | " + " | ".join(
                  f"{k} P | {k} R" for k in PRF_METRICS) + " |",
              "|" + "---|" * (5 + 2 * len(PRF_METRICS))]
    for r in rows:
        m = r["metrics"]
        if not all(k in m for k in PRF_METRICS):
            continue
        cells = [r["system"], r["manifest"], r["split"], r.get("condition", "clean"), r["group"]]
        cells += [f"{m[k]['precision']:.3f} | {m[k]['recall']:.3f}" if m[k] else "– | –" for k in PRF_METRICS]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "EER/AUC from the clip score; Acc, FPR (reals called fake) and FNR (fakes called real) at each system's "
        f"threshold (a checkpoint's own, chosen on validation); Acc any-frame: FakeSound's rule (fake if any 20 ms "
        f"frame > {FRAME_THRESHOLD}); segment F1 as sed_eval SegmentBasedMetrics and event F1 (onset + offset, "
        "0.25 s collar) on the raw 20 ms frame runs above that frame threshold (no merging). A manipulation's "
        "group is its fakes plus all real clips of the split. Brackets: 95 % stratified bootstrap CI. "
        "Probe rows: a logistic regression on clip statistics or on a few ms around region edges, "
        "source-grouped 5-fold cross-validation (EER only)."
    )
    for manifest, result in (probes or {}).items():
        for name, probe in result.items():
            low = {g: v for g, v in probe["eer"].items() if v is not None and not math.isnan(v) and v < FLAG_EER}
            if low:
                worst = ", ".join(f"{g} {100 * v:.1f} %" for g, v in sorted(low.items()))
                lines.append(f"\n**FLAG** {manifest}: the {name} probe reaches EER < {100 * FLAG_EER:.0f} % "
                             f"({worst}): this corpus can be partly solved without the manipulation itself.")
    return "\n".join(lines) + "\n"


def paper_protocol_rows(protocol: str, system: str,
                        sets: dict[tuple[str, str], list[ClipPrediction]]) -> list[dict[str, Any]]:
    """A paper's numbers for one system's clean predictions keyed by (manifest, split): FakeSound scores each
    split of each manifest; FakeSound2 scores each ``.jsonl`` test file and then its unions of files."""
    if protocol == "ours" or not sets:
        return []
    groups = {(m, s or "-"): preds for (m, s), preds in sets.items()}
    if protocol == "fakesound2":  # a FakeSound2 file's split is its stem, which names it in their unions
        by_stem = {s if Path(m).stem == s else f"{m}:{s}": preds for (m, s), preds in sets.items()}
        manifest_of = {s if Path(m).stem == s else f"{m}:{s}": (m, s or "-") for m, s in sets}
        groups = {manifest_of.get(k, (k, "union")): v for k, v in fakesound2_test_sets(by_stem).items()}
    return [{"system": system, "manifest": m, "split": s, "protocol": protocol, "metrics": paper_protocol(protocol, p)}
            for (m, s), p in groups.items()]


def protocol_markdown(rows: list[dict[str, Any]]) -> str:
    """The paper-protocol table (empty without ``--protocol``)."""
    if not rows:
        return ""
    lines = ["", f"{rows[0]['protocol']} protocol (their evaluation, quirks included: see detector/protocols.py):", "",
             "| system | manifest | split | n | Acc % | Seg F1@1s | Seg F1@20ms | Event F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        lines.append(f"| {r['system']} | {r['manifest']} | {r['split']} | {m['n_clips']} | {100 * m['acc']:.1f} | "
                     f"{m['seg_f1_1s']:.3f} | {m['seg_f1_20ms']:.3f} | {m['event_f1']:.3f} |")
    return "\n".join(lines) + "\n"


def _probe_rows(manifest: str, split: str, result: dict[str, dict]) -> list[dict[str, Any]]:
    rows = []
    for name, probe in result.items():
        for group, value in probe["eer"].items():
            metrics: dict[str, Any] = {"n_fake": "–", "n_real": "–",
                                       "eer": {"value": value, "ci_low": math.nan, "ci_high": math.nan}}
            rows.append({"system": f"probe: {name}", "checkpoint": None, "manifest": manifest, "split": split,
                         "condition": "clean", "group": group, "threshold": None, "metrics": metrics})
    return rows


def condition_transform(spec: str, seed: int = 0):
    """A :data:`~detector.evaluate.Transform` applying ``spec``; noise is seeded by (seed, clip id)."""
    parse_condition(spec)

    def transform(wave: np.ndarray, rate: int, clip_id: str) -> np.ndarray:
        import hashlib

        digest = hashlib.sha256(f"{seed}\x00{spec}\x00{clip_id}".encode()).digest()
        return apply_condition(wave, rate, spec, np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32)))

    return transform


def run_benchmark(
    checkpoints: Sequence[str | Path],
    manifests: Sequence[str | Path],
    out_dir: str | Path,
    threshold: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    device: str = "auto",
    n_localisation: int = 6,
    progress: bool = True,
    split: str = "test",
    conditions: Sequence[str] = (),
    probes: bool = True,
    protocol: str = "ours",
    human_answers: Sequence[str | Path] = (),
    audio_root: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate every checkpoint on every manifest (per split, per manipulation, per condition), run the
    shortcut probes on each manifest, and write the outputs.

    ``human_answers``: listening-test answer files (``fakesound listen``), each scored as a "humans" system.
    """
    from detector.plots import plot_det_roc, plot_localisation  # matplotlib only when benchmarking

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for spec in conditions:
        parse_condition(spec)
    tests = [(Path(m), read_test_manifest(m, split, audio_root)) for m in manifests]
    rows: list[dict[str, Any]] = []
    curves: dict[str, tuple[list[int], list[float]]] = {}
    errors: list[str] = []
    clean_preds: list[ClipPrediction] = []
    systems = []
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    protocol_rows: list[dict[str, Any]] = []
    for ckpt, name in zip(checkpoints, system_names(checkpoints), strict=True):
        detector = Detector.from_checkpoint(ckpt, threshold=threshold, device=device)
        paper_sets: dict[tuple[str, str], list[ClipPrediction]] = {}
        systems.append({"system": name, "checkpoint": str(ckpt), "threshold": detector.threshold})
        for manifest, records in tests:
            root = audio_root if audio_root is not None else manifest.parent  # audio is read inside it only
            for condition in ("clean", *conditions):
                transform = None if condition == "clean" else condition_transform(condition, seed)
                preds, errs = predict_records(detector, records, root, progress=progress,
                                              transform=transform)
                errors += [f"{condition}: {e}" if transform else e for e in errs]
                if condition == "clean" and not clean_preds:
                    clean_preds = preds
                for split_name in sorted({p.split for p in preds}):
                    split_preds = [p for p in preds if p.split == split_name]
                    groups = metrics_by_group(split_preds, detector.threshold, n_boot, seed)
                    for group, m in groups.items():
                        if condition != "clean" and group != "all":
                            continue
                        rows.append({"system": name, "checkpoint": str(ckpt), "manifest": manifest.name,
                                     "split": split_name or "-", "condition": condition, "group": group,
                                     "threshold": detector.threshold, "metrics": m})
                if condition == "clean" and protocol != "ours":
                    for split_name in sorted({p.split for p in preds}):
                        paper_sets[(manifest.name, split_name)] = [p for p in preds if p.split == split_name]
                if condition == "clean" and len({p.label for p in preds}) == 2:
                    curves[f"{name} / {manifest.name}"] = ([p.label for p in preds], [p.score for p in preds])
        protocol_rows += paper_protocol_rows(protocol, name, paper_sets)
    humans = {}
    for i, answers in enumerate(human_answers):
        from detector.human import score_answers_file

        name = "humans" if len(human_answers) == 1 else f"humans-{i + 1}"
        human_threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        human_rows, human_curves, humans[str(answers)] = score_answers_file(answers, out_dir, human_threshold,
                                                                            n_boot, seed, name)
        rows += [{"system": name, "condition": "clean", "threshold": human_threshold, **r} for r in human_rows]
        curves.update(human_curves)
    probe_results: dict[str, dict] = {}
    if probes:
        for manifest, records in tests:
            result = run_probes(records, manifest.parent)
            probe_results[manifest.name] = result
            rows += _probe_rows(manifest.name, split, result)
    results = {"systems": systems, "protocol": protocol, "protocol_rows": protocol_rows,
               "threshold_override": threshold, "frame_threshold": FRAME_THRESHOLD,
               "n_boot": n_boot, "split": split, "conditions": list(conditions), "rows": rows, "errors": errors,
               "humans": humans, "checkpoints": [str(c) for c in checkpoints],
               "probes": probe_results, "manifests": [str(m) for m in manifests], "metrics": list(POINT_METRICS)}
    atomic_write_text(out_dir / "results.json", json.dumps(json_safe(results), indent=2))
    atomic_write_text(out_dir / "results.md", results_markdown(rows, probe_results) + protocol_markdown(protocol_rows))
    if curves:
        plot_det_roc(curves, out_dir / "det_roc.png")
    chosen = pick_localisation(clean_preds, n_localisation)
    if chosen:
        plot_localisation(chosen, out_dir / "localisation.png", FRAME_THRESHOLD)
    return results


def _miss_score(p: ClipPrediction) -> float:
    """How badly a clip was missed: for a fake, 1 - its mean frame score inside the true regions; for a real,
    its largest frame score (a false alarm)."""
    scores = p.frame_scores
    if p.label == 0:
        return float(np.max(scores)) if len(scores) else 0.0
    inside = segments_to_frame_labels(p.segments, len(scores) * DEFAULT_FRAME_S)[: len(scores)] > 0
    return 1.0 - float(np.mean(scores[inside])) if inside.any() else 1.0


def pick_localisation(preds: list[ClipPrediction], n: int) -> list[ClipPrediction]:
    """The worst misses first (fakes least detected inside their regions, reals with the strongest false alarm),
    then one example per manipulation not shown yet; at most ``n`` clips."""
    if n <= 0 or not preds:
        return []
    ranked = sorted(preds, key=_miss_score, reverse=True)
    worst_fakes = [p for p in ranked if p.label == 1][: max(1, n // 2)]
    worst_reals = [p for p in ranked if p.label == 0][:1]
    chosen = worst_fakes + worst_reals
    shown = {p.manipulation for p in chosen}
    for p in sorted((p for p in preds if p.label == 1), key=_miss_score):
        if len(chosen) >= n:
            break
        if p.manipulation not in shown:
            chosen.append(p)
            shown.add(p.manipulation)
    return chosen[:n]
