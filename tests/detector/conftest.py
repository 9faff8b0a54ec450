"""Shared fixtures: a tiny synthetic corpus from the demo kit and a tiny trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from detector_tiny import make_tiny_corpus, tiny_detector_config, tiny_train_config

from detector.train import train


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return make_tiny_corpus(tmp_path_factory.mktemp("corpus"))


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
