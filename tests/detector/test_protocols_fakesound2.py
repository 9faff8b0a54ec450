"""``--protocol fakesound2`` against a transcription of FakeSound2's inference and evaluation run through sed_eval:
hand-made test files read by our FakeSound2 reader, scored per file and per union of files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from paper_transcriptions import transcribed_regions, transcribed_sed_metric

from detector.benchmark import paper_protocol_rows, run_benchmark
from detector.evaluate import ClipPrediction
from detector.protocols import FAKESOUND2_TEST_SETS, fakesound2_events, fakesound2_protocol, fakesound2_test_sets
from pipeline.fakesound_format import read_fakesound2_jsonl
from pipeline.manifest import read_manifest

# per file: (fake_type, audio_id, onset_offset, active frame runs, n frames, active value)
FILES = {
    "genuine": [("genuine", "real_quiet", "0-0", [], 500, 0.9),
                ("genuine", "real_alarm", "0-0", [(100, 130)], 500, 0.9),
                ("genuine", "shared", "0-0", [], 500, 0.9)],                      # also an id in addition.jsonl
    "inpainting_tango2": [("inpainting", "hit", "0.7-1.9_8.28-9.96", [(35, 95), (414, 498)], 500, 0.9),
                          ("inpainting", "partial", "1.0-3.0", [(40, 70), (90, 160)], 500, 0.9)],
    "inpainting_affusion": [("inpainting", "missed", "2.0-4.0", [], 500, 0.9),
                            ("inpainting", "long", "9.0-11.0", [(450, 560)], 600, 0.9),   # past 10 s unseen
                            ("inpainting", "tie", "5.0-6.0", [(250, 300)], 500, 0.5)],    # == threshold: inactive
    "inpainting_ldm2": [("inpainting", "dup", "3.0-4.0", [(150, 200)], 500, 0.9),
                        ("inpainting", "dup", "6.0-7.0", [(10, 20)], 500, 0.9)],          # merged per file name
    "separation_lassnet": [("separation", "sep", "0.4-1.6_2.52-5.2", [(20, 80), (130, 261)], 480, 0.9)],
    "editing_audioeditor": [("edit", "edit", "0-10.0", [(0, 500)], 500, 0.9)],
    "splicing": [("splice", "splice", "5.92-6.08", [(296, 304)], 500, 0.9)],
    "addition": [("add", "shared", "2.85-4.37", [(142, 219)], 500, 0.9)],
    "generation_affusion": [("generation", "gen", "0-10", [(3, 497)], 500, 0.9)],
}


def _write_files(tmp_path):
    paths = {}
    for stem, rows in FILES.items():
        path = tmp_path / f"{stem}.jsonl"
        path.write_text("".join(json.dumps({"fake_type": t, "model": "m", "audio_id": i, "onset_offset": o,
                                            "filepath": f"{i}.wav"}) + "\n" for t, i, o, *_ in rows))
        paths[stem] = path
    return paths


def _scores(runs, n, value):
    scores = np.full(n, 0.1, dtype=np.float32)
    for a, b in runs:
        scores[a:b] = value
    return scores


def _predictions(paths):
    preds = {}
    for stem, path in paths.items():
        records = read_fakesound2_jsonl(path, split=stem)
        preds[stem] = [ClipPrediction(r.id, r.label, r.manipulation, r.split, r.segments, 0.0, [], _scores(*row[3:]))
                       for r, row in zip(records, FILES[stem], strict=True)]
    return preds


def _transcribed_fakesound2(rows, threshold=0.5):
    """FakeSound2's inference loop and calculate_sed_metric, re-written from reading them: strict binarisation of
    500 frames, contiguous regions as "on-off" text with times round(k * 0.02, 2) (or "0-0"), the metadata's
    onset_offset text as reference, both read back by splitting on "_" and "-", any-frame accuracy rounded to 4
    decimals, dcase_util containers filtered per unique file, sed_eval at 1 s, 0.02 s and 0.25 s collar."""
    def to_events(text, audio_id):
        return [{"event_label": "fake", "onset": float(p.split("-")[0]), "offset": float(p.split("-")[1]),
                 "filename": audio_id} for p in text.split("_")]

    ref_list, pred_list, correct = [], [], 0
    for fake_type, audio_id, onset_offset, runs, n, value in rows:
        prob = _scores(runs, n, value)[:500]
        prob = np.concatenate([prob, np.zeros(500 - len(prob))])
        active = (prob > threshold).astype(float)
        correct += int((active.max() > threshold) == (fake_type != "genuine"))
        regions = transcribed_regions(active)
        text = "_".join(f"{round(a * 0.02, 2)}-{round(b * 0.02, 2)}" for a, b in regions) if len(regions) else "0-0"
        pred_list += to_events(text, audio_id)
        ref_list += to_events(onset_offset, audio_id)
    return {"acc": round(correct / len(rows), 4), **transcribed_sed_metric(ref_list, pred_list)}


def test_fakesound2_protocol_matches_the_transcription_per_file_and_union(tmp_path):
    sets = fakesound2_test_sets(_predictions(_write_files(tmp_path)))
    assert set(sets) == set(FILES) | {"inpainting_inDomain", "inDomain_all"}  # outDomain files are not given
    checked = 0
    for name, preds in sets.items():
        stems = FAKESOUND2_TEST_SETS.get(name, (name,))
        theirs = _transcribed_fakesound2([row for s in stems for row in FILES[s]])
        ours = fakesound2_protocol(preds)
        assert ours["n_clips"] == sum(len(FILES[s]) for s in stems)
        for key, value in theirs.items():
            assert ours[key] == pytest.approx(value, abs=1e-12, nan_ok=True), (name, key, ours[key], value)
        checked += 1
    union = fakesound2_protocol(sets["inDomain_all"])
    assert 0 < union["event_f1"] < 1 and 0 < union["seg_f1_20ms"] < 1 and union["acc"] == round(union["acc"], 4)
    assert checked == len(FILES) + 2


def test_fakesound2_rounds_event_times_and_sees_10_s():
    scores = np.zeros(600, dtype=np.float32)
    assert fakesound2_events(scores) == [(0.0, 0.0)]
    scores[35:498] = 0.9
    scores[520:560] = 0.9
    assert fakesound2_events(scores) == [(0.7, 9.96)]  # round(35 * 0.02, 2), not 0.7000000000000001
    scores[:35] = 0.5
    assert fakesound2_events(scores) == [(0.7, 9.96)]


def test_benchmark_rows_name_files_and_unions(tmp_path):
    preds = _predictions(_write_files(tmp_path))
    keyed = {(f"{stem}.jsonl", stem): p for stem, p in preds.items()}
    keyed[("manifest.jsonl", "test")] = preds["genuine"]  # not a FakeSound2 file: scored on its own
    rows = paper_protocol_rows("fakesound2", "sys", keyed)
    named = {(r["manifest"], r["split"]): r["metrics"]["n_clips"] for r in rows}
    assert named[("genuine.jsonl", "genuine")] == 3 and named[("manifest.jsonl", "test")] == 3
    assert named[("inpainting_inDomain", "union")] == 7 and named[("inDomain_all", "union")] == 15
    assert ("outDomain_all", "union") not in named and len(rows) == len(FILES) + 3
    assert paper_protocol_rows("ours", "sys", keyed) == []


def test_benchmark_scores_fakesound2_files_with_their_protocol(tiny_ckpt, tiny_corpus, tmp_path):
    records = [r for r in read_manifest(tiny_corpus / "manifest.jsonl") if r.split == "test"]
    reals, fakes = [r for r in records if r.label == 0], [r for r in records if r.label == 1]
    stems = FAKESOUND2_TEST_SETS["inpainting_inDomain"]
    files = {"genuine": [("genuine", r, "0-0") for r in reals]}
    for i, stem in enumerate(stems):
        files[stem] = [("inpainting", r, "_".join(f"{a}-{b}" for a, b in r.segments)) for r in fakes[i::len(stems)]]
    for stem, rows in files.items():
        (tmp_path / f"{stem}.jsonl").write_text("".join(json.dumps(
            {"fake_type": t, "model": "ldm2", "audio_id": r.id, "onset_offset": o, "filepath": r.audio_path}) + "\n"
            for t, r, o in rows))
    results = run_benchmark([tiny_ckpt], [tmp_path / f"{s}.jsonl" for s in files], tmp_path / "bench", n_boot=0,
                            progress=False, probes=False, protocol="fakesound2", audio_root=tiny_corpus)
    assert not results["errors"]
    named = {(r["manifest"], r["split"]): r["metrics"]["n_clips"] for r in results["protocol_rows"]}
    assert named[("inpainting_inDomain", "union")] == len(fakes) and named[("genuine.jsonl", "genuine")] == len(reals)
    assert {r["group"] for r in results["rows"] if r["manifest"] == "inpainting_ldm2.jsonl"} == {"all", "inpainting"}
    assert "fakesound2 protocol" in (tmp_path / "bench" / "results.md").read_text()
