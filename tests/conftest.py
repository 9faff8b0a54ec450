"""Shared fixtures: real recordings from the project's demo kit, and paths to the FakeSound metadata copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.audio_io import read_audio

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "pipeline" / "demo_kit"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` need CUDA: skip them (with the reason) where there is none."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (marked gpu)")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests run tiny models: one intra-op thread is fastest, and keeps a 2-core CI box from oversubscribing."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def kit_dir() -> Path:
    return KIT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def real_clip() -> tuple[np.ndarray, int]:
    """A real 10 s background recording at 32 kHz."""
    return read_audio(KIT / "bg_river.flac")


@pytest.fixture(scope="session")
def real_event() -> tuple[np.ndarray, int]:
    """A real foreground event (a cow mooing) at 32 kHz."""
    return read_audio(KIT / "ev_cow_moo_1.flac")
