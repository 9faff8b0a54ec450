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
