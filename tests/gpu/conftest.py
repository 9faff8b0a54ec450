"""Device tests: each runs on CUDA where a GPU exists (marked ``gpu``, skipped otherwise) and, where its logic
can run on the CPU, also as a ``cpu`` variant in CI (fp16 autocast standing in for CUDA's mixed precision)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from detector.synthetic import make_synthetic_corpus

# the detector tests' tiny configs (pytest puts tests/detector on sys.path only when it collects that folder)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detector"))

KIT = Path(__file__).resolve().parents[2] / "data" / "demo_kit"


@pytest.fixture(scope="session")
def detector_corpus(tmp_path_factory) -> Path:
    """A tiny synthetic detector corpus (2 s clips at 8 kHz) from the demo kit."""
    out = tmp_path_factory.mktemp("gpu_corpus")
    make_synthetic_corpus(out, KIT, counts={"train": 8, "val": 4, "test": 6}, duration_s=2.0, sample_rate=8000, seed=1)
    return out
