"""`fakesound benchmark --human`: the listening test's answers as a "humans" row beside the checkpoints."""

from __future__ import annotations

import csv
import json

import pytest
from answers_helpers import scripted_answers

from detector.benchmark import run_benchmark
from detector.human import read_human_answers, write_answers_csv


def test_benchmark_puts_humans_in_results_and_exports_csv(corpus, tmp_path):
    db = scripted_answers(corpus, tmp_path / "a.sqlite").path
    out = tmp_path / "bench"
    results = run_benchmark([], [], out, n_boot=50, progress=False, human_answers=[db])
    md = (out / "results.md").read_text()
    assert "| humans | manifest.jsonl | train | clean | all | 0.500 | 2/2 | 50.0" in md
    row = next(r for r in json.loads((out / "results.json").read_text())["rows"] if r["group"] == "all")
    assert row["checkpoint"] == "humans" and row["metrics"]["seg_f1_1s"]["value"] == pytest.approx(0.5)
    assert results["humans"][str(db)]["participants"] == {"1": 0.5}
    assert (out / "det_roc.png").read_bytes()[:4] == b"\x89PNG"
    with open(out / "humans.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["clip_id"], r["correct"], r["regions"]) for r in rows] == [
        ("trainsrc0_0.2_0.4", "1", "0.200-0.400"), ("trainsrc1_0.2_0.4", "0", ""), ("trainsrc2", "1", ""),
        ("trainsrc0", "0", "0.100-0.300")]
    write_answers_csv(read_human_answers(db), tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == (out / "humans.csv").read_text()
