"""Energy fallback on real recordings: events mixed into real backgrounds at known onsets."""

from __future__ import annotations

import numpy as np
import pytest

from grounding import RegionPolicy, energy_regions, select_region
from pipeline.audio_io import read_audio

# (background, event, onset s): sharp-onset demo-kit events over steady real backgrounds.
MIXES = [
    ("river", "door_close", 3.0),
    ("rain_heavy", "metal_clang", 6.5),
    ("waterfall", "sheep_bleat", 1.2),
    ("stream", "glass_break_1", 4.4),
    ("river_fast", "lion_growl", 7.3),
    ("rain", "cow_moo_2", 2.1),
    ("river", "elephant_trumpet_2", 5.013),
]
#: Kit events keep 20 ms of lead-in and up to 50 ms of tail after trimming (pipeline/demo_kit/README.md).
LEAD_S, TAIL_S = 0.02, 0.05


def mix(kit_dir, background, event, onset):
    bg, sr = read_audio(kit_dir / f"bg_{background}.flac")
    ev, _ = read_audio(kit_dir / f"ev_{event}.flac")
    start = round(onset * sr)
    out = bg.copy()
    out[start : start + len(ev)] += ev
    return out, sr, (onset + LEAD_S, onset + len(ev) / sr - TAIL_S), bg


@pytest.mark.parametrize(("background", "event", "onset"), MIXES)
def test_energy_fallback_finds_the_event(kit_dir, background, event, onset):
    audio, sr, (true_on, true_off), bg = mix(kit_dir, background, event, onset)
    assert energy_regions(bg, sr) == []  # the steady background alone proposes nothing
    regions = energy_regions(audio, sr)
    assert len(regions) == 1
    (found_on, found_off), = regions
    assert abs(found_on - true_on) <= 0.06
    assert abs(found_off - true_off) <= 0.1


def test_select_region_falls_back_to_energy(kit_dir):
    audio, sr, (true_on, true_off), _ = mix(kit_dir, "waterfall", "sheep_bleat", 1.2)
    region, how = select_region("mix", len(audio) / sr, None, RegionPolicy(min_s=None, max_s=None), 0, audio, sr)
    assert how == "energy-fallback"
    assert abs(region[0] - true_on) <= 0.06 and abs(region[1] - true_off) <= 0.08
    region, _ = select_region("mix", len(audio) / sr, [], RegionPolicy(), 0, audio, sr)
    assert abs(region[0] - true_on) <= 0.06 and abs(region[1] - true_off) <= 0.08 and region[1] - region[0] >= 1.0


def test_gap_merging_and_short_region_drop():
    sr = 16000
    rng = np.random.default_rng(0)
    audio = (0.001 * rng.standard_normal(sr * 6)).astype(np.float32)
    for start, stop in [(1.0, 1.5), (1.6, 2.0), (3.0, 3.01), (4.0, 4.6)]:  # 0.1 s gap, a 10 ms click
        a, b = int(start * sr), int(stop * sr)
        audio[a:b] += (0.3 * rng.standard_normal(b - a)).astype(np.float32)
    regions = energy_regions(audio, sr)
    assert len(regions) == 2
    assert regions[0][0] == pytest.approx(1.0, abs=0.06) and regions[0][1] == pytest.approx(2.0, abs=0.06)
    assert regions[1][0] == pytest.approx(4.0, abs=0.06) and regions[1][1] == pytest.approx(4.6, abs=0.06)


def test_silence_and_empty_give_nothing():
    assert energy_regions(np.zeros(32000, dtype=np.float32), 32000) == []
    assert energy_regions(np.zeros(0, dtype=np.float32), 32000) == []
