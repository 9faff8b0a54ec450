"""The build's region source: results file, then on-the-fly grounding, then the energy/random fallback."""

from __future__ import annotations

import numpy as np
import pytest

from grounding.region import ENERGY_FALLBACK, select_region
from grounding.results import GroundingResult
from grounding.source import GroundedRegions, grounder_settings
from pipeline.errors import RejectedInput
from pipeline.interfaces import RegionPolicy

RATE = 16000
POLICY = RegionPolicy(min_s=1.0, max_s=2.0)


def _clip(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    audio = 0.01 * rng.standard_normal(8 * RATE).astype(np.float32)
    audio[3 * RATE : 5 * RATE] += 0.5 * np.sin(np.arange(2 * RATE) * 0.3).astype(np.float32)  # one loud event
    return audio


def test_on_the_fly_results_are_used_and_get_the_caption():
    seen = []

    def ground(clip_id, caption, audio, sample_rate):
        seen.append((clip_id, caption, sample_rate))
        return [GroundingResult(clip_id, "a dog barks", [(5.6, 7.0)], 0.9)]

    region, how = GroundedRegions(POLICY, ground=ground).region("c1", _clip(), RATE, 3, caption="a dog barks")
    assert seen == [("c1", "a dog barks", RATE)]
    assert how == "grounding:longest" and 5.6 - 1e-9 <= region[0] < region[1] <= 7.0 + 1e-9


@pytest.mark.parametrize("finds", ["no segment", "no phrase"])
def test_a_clip_the_grounder_finds_nothing_in_takes_the_fallback(finds):
    def ground(clip_id, caption, audio, sample_rate):
        if finds == "no phrase":
            raise RejectedInput(clip_id, "caption yields no phrase to ground")
        return [GroundingResult(clip_id, "a dog barks", [], 0.2)]

    audio = _clip()
    got = GroundedRegions(POLICY, ground=ground).region("c1", audio, RATE, 3, caption="...")
    without = select_region("c1", len(audio) / RATE, None, POLICY, 3, audio=audio, sample_rate=RATE)
    assert got == without and got[1] == ENERGY_FALLBACK  # the same region a build without grounding picks


def test_a_results_file_wins_over_the_grounder():
    def ground(*args):
        raise AssertionError("not called for a clip the results file has")

    results = {"c1": [GroundingResult("c1", "rain", [(0.4, 2.4)])]}
    region, how = GroundedRegions(POLICY, results, ground).region("c1", _clip(), RATE, 0, caption="rain")
    assert how == "grounding:longest" and 0.4 - 1e-9 <= region[0] < region[1] <= 2.4 + 1e-9


def test_grounder_settings():
    tag = grounder_settings("tag")
    assert tag["backend"] == "tag" and tag["model"].startswith("wsntxxn/") and tag["uses_models"]
    assert "device" not in tag  # the device is the build's, keyed through its runtime
    assert grounder_settings("/models/my_tag")["model"] == "/models/my_tag"
    assert grounder_settings("energy") == {"backend": "energy", "uses_models": False}
