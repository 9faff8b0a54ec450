"""Tiny detector/training configs shared by the detector tests."""

from __future__ import annotations

from pathlib import Path

from detector.config import DetectorConfig, TrainConfig
from detector.synthetic import make_synthetic_corpus
from pipeline.compose import default_kit_dir


def tiny_detector_config(model: str = "mrtcn") -> DetectorConfig:
    backend = (
        {"channels": 16, "dilations": [1, 2], "stem_channels": 4}
        if model == "mrtcn"
        else {"planes": 32, "embed_dim": 16, "res_blocks": 2, "num_layers": 1, "nhead": 2, "dim_feedforward": 32}
    )
    return DetectorConfig(
        model=model, frontend="logmel",
        frontend_kwargs={"sample_rate": 8000, "n_mels": 16, "hop_length": 160, "n_fft": 320},
        backend_kwargs=backend, window_s=2.0, hop_s=1.5,
    )


def tiny_train_config(**kw) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "batch_size": 4, "warmup_steps": 2, "progress": False, "device": "cpu", **kw})


def make_tiny_corpus(out: Path) -> Path:
    """A tiny synthetic corpus from the demo kit: 8/4/6 clips of 2 s at 8 kHz, half of each split fake."""
    counts = {"train": 8, "val": 4, "test": 6}
    make_synthetic_corpus(out, default_kit_dir(), counts=counts, duration_s=2.0, sample_rate=8000, seed=1)
    return out
