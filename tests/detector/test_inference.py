"""Inference: windows and stitching, any length and rate, CLI output and bad-file handling."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
from detector_tiny import tiny_detector_config

from detector.inference import Detector, scores_to_regions, window_starts
from detector.model import build_model
from flows.cli_detector import main


def test_window_starts_cover_everything():
    assert window_starts(100, 400, 300) == [0]
    starts = window_starts(1000, 400, 300)
    assert starts == [0, 300, 600] and starts[-1] + 400 >= 1000


def test_long_audio_stitched_to_full_length():
    det = Detector(build_model(tiny_detector_config()), device="cpu")
    wave = np.random.default_rng(0).standard_normal(8000 * 7).astype(np.float32) * 0.05
    d = det.detect_wave(wave)
    assert len(d.frame_scores) == 350 and 0 <= d.score <= 1
    assert np.isfinite(d.frame_scores).all()
    # Inside the first window's non-overlapped part the stitched scores are the window's own scores.
    _, first = det.predict_wave(wave[: 2 * 8000])
    _, full = det.predict_wave(wave)
    np.testing.assert_allclose(full[:70], first[:70], rtol=1e-5, atol=1e-6)


def test_regions_from_scores():
    scores = np.zeros(100, dtype=np.float32)
    scores[10:20] = 0.9
    scores[15] = 0.95
    scores[90:] = 0.7
    assert scores_to_regions(scores, 0.5, 1.99) == [(0.2, 0.4, pytest.approx(0.95)), (1.8, 1.99, pytest.approx(0.7))]
    choppy = np.zeros(100, dtype=np.float32)
    choppy[[10, 11, 13, 14, 15, 19, 20, 60]] = 0.9  # 0.20-0.24, 0.26-0.32, 0.38-0.42 and a lone frame at 1.20
    merged = scores_to_regions(choppy, 0.5, 2.0, merge_gap_s=0.1, min_region_s=0.1)
    assert merged == [(0.2, 0.42, pytest.approx(0.9))]


def test_cli_detect_table_json_and_bad_files(tiny_ckpt, tiny_corpus, tmp_path, capsys):
    good = tiny_corpus / "audio" / "test_0001.wav"
    other_rate = tmp_path / "other_rate.flac"
    sf.write(other_rate, np.random.default_rng(1).standard_normal(44100 * 3) * 0.05, 44100)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    missing = tmp_path / "missing.wav"
    files = [str(good), str(broken), str(other_rate), str(missing)]
    rc = main(["detect", *files, "--checkpoint", str(tiny_ckpt), "--json"])
    out, err = capsys.readouterr()
    assert rc == 3  # output made, some inputs rejected (README: exit codes)
    errors = err.strip().splitlines()
    assert len(errors) == 2 and "broken.wav" in errors[0] and "missing.wav" in errors[1]
    results = json.loads(out)
    assert [r["file"] for r in results] == [str(good), str(other_rate)]
    for r in results:
        assert set(r) == {"file", "score", "is_fake", "regions", "silent", "windows"} and 0 <= r["score"] <= 1
        assert all(len(x) == 3 and x[0] < x[1] for x in r["regions"])
        assert r["is_fake"] or not r["regions"]  # regions only for clips called fake
    assert results[1]["windows"] == 2  # 3 s in the tiny model's 2 s windows every 1.5 s
    rc = main(["detect", str(good), "--checkpoint", str(tiny_ckpt), "--threshold", "0.0"])
    out, _ = capsys.readouterr()
    # called fake at threshold 0, so its regions (runs of frames above the frame threshold) are listed, if any
    assert rc == 0 and "FAKE" in out and str(good) in out
    assert re.search(r"FAKE +(\d+\.\d\d-\d+\.\d\d@\d\.\d\d(, )?)*$", out.strip().splitlines()[-1])
    assert main(["detect", str(broken), str(tmp_path), "--checkpoint", str(tiny_ckpt)]) == 2  # nothing could be read
    assert "is a directory, not an audio file" in capsys.readouterr().err
    rc = main(["detect", str(good), "--checkpoint", str(tiny_ckpt), "--threshold", "1.01", "--json"])
    (only,) = json.loads(capsys.readouterr().out)
    assert not only["is_fake"] and only["regions"] == []


def test_stored_threshold_and_silence(tiny_ckpt, tmp_path):
    from detector.inference import Detector, stored_threshold
    from detector.model import read_config

    decision = read_config(tiny_ckpt)["decision"]
    assert decision["rule"] == "fpr:0.02" and 0 < decision["threshold"] < 1 and decision["val_fpr"] <= 0.02
    assert decision["histories"] == 4 and decision["n_val_real"] == 5 * 2  # two val reals, each clean + 4 histories
    detector = Detector.from_checkpoint(tiny_ckpt, device="cpu")
    assert detector.threshold == stored_threshold(tiny_ckpt) == decision["threshold"]
    # too few validation reals for a tail fit: the logistic prior, and the correction is on
    assert decision["tail_scale"] == detector.tail_scale == 1.0 and decision["tail_n"] == 0
    silent = detector.detect_wave(np.zeros(8000 * 3, dtype=np.float32))
    assert silent.silent and not silent.is_fake and silent.score == 0.0 and len(silent.frame_scores) == 150
    quiet = detector.detect_wave(np.full(8000 * 3, 1 / 32768, dtype=np.float32))  # one 16-bit step: judged
    assert not quiet.silent


def test_long_audio_score_is_the_largest_window_less_the_length_correction():
    from detector.decision import length_adjusted

    model = build_model(tiny_detector_config())
    plain, corrected = Detector(model, device="cpu"), Detector(model, device="cpu", tail_scale=0.7)
    wave = np.random.default_rng(3).standard_normal(8000 * 7).astype(np.float32) * 0.05
    window, hop = 2 * 8000, 12000
    starts = window_starts(len(wave), window, hop)
    assert plain.num_windows(len(wave)) == len(starts) == 5
    largest = max(plain.predict_wave(wave[s : s + window])[0] for s in starts)
    assert plain.predict_wave(wave)[0] == pytest.approx(largest, rel=1e-6)
    d = corrected.detect_wave(wave)
    assert d.windows == 5 and d.score == pytest.approx(length_adjusted(largest, 5, 0.7), rel=1e-6)
    assert d.score < largest
    one = wave[:window]  # a single window: no correction
    assert corrected.predict_wave(one)[0] == pytest.approx(plain.predict_wave(one)[0], rel=1e-7)
