"""Grounding fixtures: a few demo clips with known event times."""

from __future__ import annotations

import pytest

from pipeline.compose import compose_demo_sources


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory):
    """(source manifest, known-events grounding JSON) of 4 composed demo clips."""
    return compose_demo_sources(tmp_path_factory.mktemp("demo_sources"), 4, seed=3)


@pytest.fixture(scope="session")
def tiny_demo_sources(demo_sources):
    return demo_sources[0]
