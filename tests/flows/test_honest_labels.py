"""Labels that stay honest: every labelled 20 ms frame of a composed fake differs from its real clip, every
sample outside the labelled segments is the real clip's, for each boundary treatment."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from flows.build import run_build, thread_executor
from pipeline.timemath import DEFAULT_FRAME_S, segment_to_samples
from regenerate.recipes import get_recipe

SOURCES = ("bg_rain.flac", "bg_river.flac", "bg_stream.flac")
RATE = 32000


@pytest.fixture
def sources(tmp_path, kit_sources):
    return tmp_path, kit_sources(SOURCES, "water flows")


def gapped_event(path):
    """0.25 s tone burst, 0.4 s of digital silence, 0.25 s burst: an event with an interior gap."""
    t = np.arange(round(0.25 * RATE)) / RATE
    burst = 0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(len(t))
    sf.write(path, np.concatenate([burst, np.zeros(round(0.4 * RATE)), burst]), RATE, subtype="PCM_16")
    return path


def check_honest(out, records):
    """Every fake: outside its segments sample-identical to its real; every labelled 20 ms frame differs."""
    reals = {r.source_id: r for r in records if r.label == 0}
    fakes = [r for r in records if r.label == 1]
    assert fakes
    for fake in fakes:
        x = sf.read(out / fake.audio_path, dtype="float32")[0]
        y = sf.read(out / reals[fake.source_id].audio_path, dtype="float32")[0]
        inside = np.zeros(len(x), dtype=bool)
        for segment in fake.segments:
            start, stop = segment_to_samples(segment, fake.sample_rate)
            inside[start:stop] = True
            frame = segment_to_samples((0.0, DEFAULT_FRAME_S), fake.sample_rate)[1]
            for first in range(start, stop, frame):
                assert np.any(x[first : min(first + frame, stop)] != y[first : min(first + frame, stop)]), \
                    f"{fake.id}: labelled frame at {first / fake.sample_rate:.2f} s equals the real"
        np.testing.assert_array_equal(x[~inside], y[~inside])
        assert fake.segments == sorted(fake.segments)
        # disjoint, with a gap between neighbours
        assert all(a[1] < b[0] for a, b in zip(fake.segments, fake.segments[1:], strict=False))
    return fakes


def test_an_event_with_a_silent_gap_gets_two_segments(sources, tmp_path):
    root, records = sources
    donors = (("gapped", str(gapped_event(tmp_path / "gapped.wav")), "two beeps", "event"),)
    recipe = get_recipe("weight-free", backends=("addition",))
    out = tmp_path / "out"
    kept, _ = run_build(out, records, root, recipe, seed=0, donors=donors, executor=thread_executor(1, progress=False))
    fakes = check_honest(out, kept)
    for fake in fakes:  # the 0.4 s gap holds at least 0.34 s of whole frames identical to the real: left out
        assert len(fake.segments) == 2, fake.segments
        gap = fake.segments[1][0] - fake.segments[0][1]
        assert 0.34 <= gap <= 0.42
        assert fake.id.endswith(f"_{fake.segments[0][0]!r}_{fake.segments[-1][1]!r}")  # named by the outer span


@pytest.mark.parametrize("crossfade_ms, align", [(0.0, False), (10.0, False), (0.0, True), (10.0, True)])
def test_every_boundary_treatment_keeps_labels_honest(sources, tmp_path, crossfade_ms, align):
    root, records = sources
    recipe = get_recipe("weight-free", backends=("splice", "vocoder"), crossfade_ms=crossfade_ms,
                        align_zero_crossing=align)
    out = tmp_path / "out"
    kept, _ = run_build(out, records, root, recipe, seed=3, executor=thread_executor(1, progress=False))
    check_honest(out, kept)
