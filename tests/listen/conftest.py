"""A tiny corpus (5 sources, each a real clip and its fake) for the listening app's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_corpus import make_tiny_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    make_tiny_corpus(root)
    return root


@pytest.fixture(scope="session")
def tiny_detector_checkpoint(tmp_path_factory) -> Path:
    """An untrained, tiny detector saved in the checkpoint layout (its scores are noise; only the plumbing counts)."""
    from detector.model import DetectorConfig, build_model, save_model

    config = DetectorConfig(
        model="mrtcn", frontend="logmel",
        frontend_kwargs={"sample_rate": 8000, "n_mels": 16, "hop_length": 160, "n_fft": 320},
        backend_kwargs={"channels": 16, "dilations": [1, 2], "stem_channels": 4}, window_s=2.0, hop_s=1.5,
    )
    return save_model(build_model(config), tmp_path_factory.mktemp("ckpt"))
