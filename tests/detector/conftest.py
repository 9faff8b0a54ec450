"""Shared fixtures: a tiny synthetic corpus from the demo kit and a tiny trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from detector_tiny import tiny_detector_config, tiny_train_config

from detector.synthetic import make_synthetic_corpus
from detector.train import train

KIT = Path(__file__).resolve().parents[2] / "pipeline" / "demo_kit"


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    make_synthetic_corpus(out, KIT, counts={"train": 8, "val": 4, "test": 6}, duration_s=2.0, sample_rate=8000, seed=1)
    return out


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_corpus, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ckpt")
    train(tiny_corpus, out, tiny_detector_config(), tiny_train_config())
    return out


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models run fastest single-threaded; it also avoids thread contention on a shared machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
