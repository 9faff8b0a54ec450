"""Device tests: each runs on CUDA where a GPU exists (marked ``gpu``, skipped otherwise) and, where its logic
can run on the CPU, also as a ``cpu`` variant in CI (fp16 autocast standing in for CUDA's mixed precision)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from detector.synthetic import make_synthetic_corpus

# the detector tests' tiny configs (pytest puts tests/detector on sys.path only when it collects that folder)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detector"))

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "data" / "demo_kit"
HAS_CUDA = torch.cuda.is_available()
CUDA = pytest.param("cuda", marks=pytest.mark.gpu, id="cuda")
#: run on the CPU in CI and on CUDA where a GPU exists
DEVICES = [pytest.param("cpu", id="cpu"), CUDA]


def skip_without(device: str) -> None:
    """Skip a test's ``cuda`` variant where there is no GPU (the ``gpu`` mark does it at collection; this covers
    a direct call and keeps each test honest about what it needs)."""
    if device == "cuda" and not HAS_CUDA:
        pytest.skip("needs CUDA")


@pytest.fixture(scope="session")
def detector_corpus(tmp_path_factory) -> Path:
    """A tiny synthetic detector corpus (2 s clips at 8 kHz) from the demo kit."""
    out = tmp_path_factory.mktemp("gpu_corpus")
    make_synthetic_corpus(out, KIT, counts={"train": 8, "val": 4, "test": 6}, duration_s=2.0, sample_rate=8000, seed=1)
    return out


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (the benchmarks folder is scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
