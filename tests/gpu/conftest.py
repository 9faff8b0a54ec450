"""Device tests: each runs on CUDA where a GPU exists (marked ``gpu``, skipped otherwise) and, where its logic
can run on the CPU, also as a ``cpu`` variant in CI (fp16 autocast standing in for CUDA's mixed precision)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the detector tests' tiny configs and corpus (pytest puts tests/detector on sys.path only when it collects it)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detector"))

from detector_tiny import make_tiny_corpus


@pytest.fixture(scope="session")
def detector_corpus(tmp_path_factory) -> Path:
    """The detector tests' tiny synthetic corpus (2 s clips at 8 kHz)."""
    return make_tiny_corpus(tmp_path_factory.mktemp("gpu_corpus"))
