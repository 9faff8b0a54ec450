"""Training: checkpoint folder contents, round trip, validation selection, resume, held-out manipulation."""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest
import torch
from detector_tiny import tiny_detector_config, tiny_train_config
from safetensors.torch import load_file

from detector.data import CropDataset, collate, load_corpus
from detector.inference import Detector
from detector.model import build_model, load_model
from detector.train import train, train_val_records


def test_checkpoint_folder(tiny_ckpt):
    names = {p.name for p in tiny_ckpt.iterdir()}
    assert names >= {"model.safetensors", "config.json", "train_state.pt", "metrics.json"}
    config = json.loads((tiny_ckpt / "config.json").read_text())
    assert config["detector"]["model"] == "mrtcn" and config["train"]["epochs"] == 2
    metrics = json.loads((tiny_ckpt / "metrics.json").read_text())
    assert len(metrics["history"]) == 2
    best = max(metrics["history"], key=lambda r: r["val_score"])
    assert metrics["best_epoch"] == best["epoch"]  # selected on validation, not training loss
    assert set(best) >= {"val_eer", "val_seg_f1_1s", "train_loss"}


def test_saved_weights_round_trip(tiny_ckpt, tiny_corpus):
    model = load_model(tiny_ckpt)
    state = load_file(str(tiny_ckpt / "model.safetensors"))
    assert set(state) == set(model.state_dict())
    wave = torch.randn(1, 16000)
    again = load_model(tiny_ckpt)
    with torch.no_grad():
        a, b = model(wave), again(wave)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_resume_continues_exactly(tiny_corpus, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(tiny_corpus, straight, tiny_detector_config(), tiny_train_config(epochs=2))
    train(tiny_corpus, resumed, tiny_detector_config(), tiny_train_config(epochs=1))
    train(tiny_corpus, resumed, tiny_detector_config(), tiny_train_config(epochs=2), resume=True)
    a = torch.load(straight / "train_state.pt", weights_only=True)
    b = torch.load(resumed / "train_state.pt", weights_only=True)
    assert b["epoch"] == 2 and len(b["history"]) == 2
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    with pytest.raises(ValueError, match="cannot resume"):
        train(tiny_corpus, resumed, tiny_detector_config(), tiny_train_config(epochs=3, lr=0.1), resume=True)


def test_a_finished_run_resumed_prepares_no_training_data(tiny_corpus, tmp_path, monkeypatch):
    out = tmp_path / "run"
    train(tiny_corpus, out, tiny_detector_config(), tiny_train_config(epochs=1))
    weights = (out / "model.safetensors").read_bytes()

    def refuse(*args, **kwargs):
        raise AssertionError("the training clips were prepared (features cached) for a run with no epoch left")

    monkeypatch.setattr(sys.modules["detector.train"], "make_dataset", refuse)  # the module: `detector.train` is
    # also the function the package exports
    metrics = train(tiny_corpus, out, tiny_detector_config(), tiny_train_config(epochs=1), resume=True)
    assert metrics["epochs_done"] == 1 and (out / "model.safetensors").read_bytes() == weights
    with pytest.raises(AssertionError, match="features cached"):  # an epoch left: the data is prepared
        train(tiny_corpus, out, tiny_detector_config(), tiny_train_config(epochs=2), resume=True)


def test_holdout_manipulation_and_val_fallback(tiny_corpus):
    records = load_corpus(tiny_corpus)
    train_recs, val_recs = train_val_records(records, "vocoder", 0.15, 0)
    assert train_recs and val_recs and all(r.manipulation != "vocoder" for r in train_recs + val_recs)
    no_val = [r for r in records if r.split != "val"]
    tr, va = train_val_records(no_val, None, 0.25, 0)
    assert va and not {r.source_id for r in tr} & {r.source_id for r in va}


def test_crops_carry_frame_labels_at_frontend_resolution(tiny_corpus):
    records = [r for r in load_corpus(tiny_corpus) if r.split == "train" and r.label == 1][:2]
    ds = CropDataset(records, tiny_corpus, 8000, 0.02, lambda n: -(-n // 160), window_s=1.0, seed=0)
    batch = collate([ds[i] for i in range(len(ds))])
    assert batch.wave.shape == (2, 8000) and batch.frame_labels.shape == (2, 50)
    ds_full = CropDataset(records, tiny_corpus, 8000, 0.02, lambda n: -(-n // 160), window_s=2.0, seed=0)
    _, labels, mask = ds_full[0]
    (on, off), = records[0].segments
    assert labels.sum() == pytest.approx(round((off - on) / 0.02)) and mask.all()
    assert np.argmax(labels) == round(on / 0.02)


def test_detector_from_checkpoint_scores_in_range(tiny_ckpt, tiny_corpus):
    det = Detector.from_checkpoint(tiny_ckpt, device="cpu")
    d = det.detect_file(tiny_corpus / "audio" / "test_0001.wav")
    assert 0 <= d.score <= 1 and len(d.frame_scores) == 100


def test_cached_features_match_the_waveform_path(tiny_corpus):
    """The cached-feature dataset gives the model exactly what the waveform path would (no augmentation),
    gain is exact in feature space, and training picks it only where it is exact."""
    from detector.augment import AugmentConfig
    from detector.data import FeatureDataset
    from detector.train import make_dataset, uses_cached_features

    torch.manual_seed(0)
    model = build_model(dataclasses.replace(tiny_detector_config(), level_norm=True)).eval()
    records = [r for r in load_corpus(tiny_corpus) if r.split == "train"][:3]
    assert model.config.level_norm  # both paths normalise the level: per clip (cached) and per window (forward)
    ds = FeatureDataset(records, tiny_corpus, model.frontend, window_s=2.0, augment=None, seed=0, level_norm=True)
    crops = CropDataset(records, tiny_corpus, 8000, model.frame_s, model.num_frames, window_s=2.0, seed=0)
    feats, waves = collate([ds[i] for i in range(3)]), collate([crops[i] for i in range(3)])
    assert feats.features and not waves.features
    assert torch.equal(feats.frame_labels, waves.frame_labels) and torch.equal(feats.frame_mask, waves.frame_mask)
    with torch.no_grad():
        a, b = model.forward_features(feats.wave), model(waves.wave)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    wave = waves.wave[:1]
    torch.testing.assert_close(model.frontend.apply_gain(model.frontend.features(wave), 6.0),
                               model.frontend.features(wave * 10 ** (6 / 20)), atol=1e-3, rtol=0)
    assert uses_cached_features(model, tiny_train_config())
    codec = tiny_train_config(augment=AugmentConfig(p_mulaw=0.5))
    assert not uses_cached_features(model, codec)
    assert isinstance(make_dataset(model, model.config, codec, records, tiny_corpus), CropDataset)


def test_cached_features_carry_recording_history_variants(tiny_corpus):
    from detector.augment import AugmentConfig
    from detector.data import FeatureDataset

    model = build_model(tiny_detector_config()).eval()
    records = [r for r in load_corpus(tiny_corpus) if r.split == "train"][:2]
    aug = AugmentConfig(p_gain=0, p_noise=0, p_history=1.0, cached_histories=2)
    ds = FeatureDataset(records, tiny_corpus, model.frontend, window_s=2.0, augment=aug, seed=0)
    assert [len(v) for v in ds.histories] == [2, 2]
    feats, _, _ = ds[0]
    assert any(np.allclose(feats[: len(v)], v.numpy()[: len(feats)]) for v in ds.histories[0])
    assert not np.allclose(feats[: len(ds.feats[0])], ds.feats[0].numpy()[: len(feats)])


def test_resuming_with_other_decision_settings_keeps_the_weights_and_decides_again(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    train(tiny_corpus, out, tiny_detector_config(), tiny_train_config(epochs=1, threshold_rule="fpr:0.05",
                                                                       threshold_histories=0))
    weights = (out / "model.safetensors").read_bytes()
    first = json.loads((out / "config.json").read_text())["decision"]
    train(tiny_corpus, out, tiny_detector_config(), tiny_train_config(epochs=1, threshold_rule="eer",
                                                                       threshold_histories=2), resume=True)
    again = json.loads((out / "config.json").read_text())["decision"]
    assert (out / "model.safetensors").read_bytes() == weights  # no epoch ran: same weights
    assert (first["rule"], first["histories"]) == ("fpr:0.05", 0) and (again["rule"], again["histories"]) == ("eer", 2)
    assert again["n_val_real"] == 3 * first["n_val_real"]
    assert json.loads((out / "metrics.json").read_text())["best_val"]["decision"] == again


def test_threshold_can_be_calibrated_on_processed_validation_reals(tiny_corpus, tmp_path):
    clean, web = tmp_path / "clean", tmp_path / "web"
    train(tiny_corpus, clean, tiny_detector_config(), tiny_train_config(epochs=1, threshold_histories=0))
    train(tiny_corpus, web, tiny_detector_config(), tiny_train_config(epochs=1, threshold_histories=3))
    a, b = (json.loads((p / "config.json").read_text())["decision"] for p in (clean, web))
    assert a["histories"] == 0 and b["histories"] == 3
    assert b["n_val_real"] == 4 * a["n_val_real"] and b["n_val_fake"] == a["n_val_fake"]
    assert torch.equal(load_file(str(clean / "model.safetensors"))["backend.frame_head.weight"],
                       load_file(str(web / "model.safetensors"))["backend.frame_head.weight"])  # same training
    again = tmp_path / "again"
    train(tiny_corpus, again, tiny_detector_config(), tiny_train_config(epochs=1, threshold_histories=3))
    assert json.loads((again / "config.json").read_text())["decision"] == b  # seeded variants


def test_a_checkpoint_without_a_length_correction_gets_one_when_resumed(tiny_corpus, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_train_config(epochs=1, threshold_histories=0)
    train(tiny_corpus, out, tiny_detector_config(), cfg)
    config = json.loads((out / "config.json").read_text())
    assert config["decision"]["tail_scale"] > 0
    weights = (out / "model.safetensors").read_bytes()
    for key in ("tail_scale", "tail_n"):  # as an older version wrote it
        del config["decision"][key]
    (out / "config.json").write_text(json.dumps(config))
    assert Detector.from_checkpoint(out, device="cpu").tail_scale == 0.0  # old checkpoints: no correction
    train(tiny_corpus, out, tiny_detector_config(), cfg, resume=True)
    assert (out / "model.safetensors").read_bytes() == weights
    assert "tail_scale" in json.loads((out / "config.json").read_text())["decision"]
    assert Detector.from_checkpoint(out, device="cpu").tail_scale > 0
