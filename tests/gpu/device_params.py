"""What the device tests share: the ``cpu``/``cuda`` parameters, the skip for a missing GPU, the benchmark loader."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
HAS_CUDA = torch.cuda.is_available()
CUDA = pytest.param("cuda", marks=pytest.mark.gpu, id="cuda")
#: run on the CPU in CI and on CUDA where a GPU exists
DEVICES = [pytest.param("cpu", id="cpu"), CUDA]


def skip_without(device: str) -> None:
    """Skip a test's ``cuda`` variant where there is no GPU (the ``gpu`` mark does it at collection; this covers
    a direct call and keeps each test honest about what it needs)."""
    if device == "cuda" and not HAS_CUDA:
        pytest.skip("needs CUDA")


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (the benchmarks folder is scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
