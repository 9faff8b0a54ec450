"""Key-region selection: policy (min/max/grid), phrase choice, seeding, rejections."""

from __future__ import annotations

import numpy as np
import pytest

from grounding import GroundingResult, RegionPolicy, clip_rng, select_region
from pipeline.errors import RejectedInput

DEFAULT = RegionPolicy()
HARD = RegionPolicy(min_s=None, max_s=None)


def one(segments, phrase="a dog barks", score=None, clip="c1"):
    return [GroundingResult(clip, phrase, [tuple(s) for s in segments], score)]


def on_grid(t, grid=0.04):
    return abs(t / grid - round(t / grid)) < 1e-9 and t == round(t, 6)


def test_segment_within_bounds_is_snapped_only():
    region, how = select_region("c1", 10.0, one([(2.013, 3.517)]), DEFAULT, seed=0)
    assert region == (2.0, 3.52)
    assert how == "grounding:longest"


def test_long_segment_gives_seeded_max_window_inside_it():
    regions = {select_region("c1", 10.0, one([(1.0, 9.5)]), DEFAULT, seed=s)[0] for s in range(20)}
    assert len(regions) > 5  # the position really is drawn
    for onset, offset in regions:
        assert offset - onset == pytest.approx(4.0)
        assert onset >= 1.0 and offset <= 9.52
        assert on_grid(onset) and on_grid(offset)
    again = select_region("c1", 10.0, one([(1.0, 9.5)]), DEFAULT, seed=3)
    assert again == select_region("c1", 10.0, one([(1.0, 9.5)]), DEFAULT, seed=3)


def test_short_segment_extended_symmetrically_to_min():
    region, _ = select_region("c1", 10.0, one([(5.0, 5.4)]), DEFAULT, seed=0)
    assert region == (4.72, 5.72)  # 15 missing grid steps: 7 left, 8 right


@pytest.mark.parametrize(
    ("segment", "duration", "expected"),
    [((0.0, 0.3), 10.0, (0.0, 1.0)), ((9.8, 10.0), 10.0, (9.0, 10.0)), ((9.5, 9.99), 9.99, (8.96, 9.96))],
)
def test_extension_stays_inside_clip(segment, duration, expected):
    assert select_region("c1", duration, one([segment]), DEFAULT, seed=0)[0] == expected


def test_hard_policy_keeps_long_and_tiny_regions():
    assert select_region("c1", 10.0, one([(0.16, 7.08)]), HARD, seed=0)[0] == (0.16, 7.08)
    assert select_region("c1", 10.0, one([(3.0, 3.01)]), HARD, seed=0)[0] == (3.0, 3.04)
    assert select_region("c1", 10.0, one([(9.99, 10.0)]), HARD, seed=0)[0] == (9.96, 10.0)


def test_other_grid():
    policy = RegionPolicy(min_s=0.5, max_s=2.0, grid_s=0.02)
    assert select_region("c1", 10.0, one([(1.013, 1.127)]), policy, seed=0)[0] == (0.82, 1.32)


def test_offset_slightly_past_end_is_clamped():
    assert select_region("c1", 10.0, one([(8.5, 10.02)]), DEFAULT, seed=0)[0] == (8.52, 10.0)


PHRASES = [
    GroundingResult("c1", "a man speaks", [(0.48, 1.72), (6.0, 6.52)], 0.4),
    GroundingResult("c1", "a dog barks", [(2.0, 4.48)], 0.2),
    GroundingResult("c1", "birds chirp", [(7.0, 8.0)], 0.9),
    GroundingResult("c1", "a car honks", [], 0.99),
]


def test_phrase_choice_longest_and_score():
    assert select_region("c1", 10.0, PHRASES, DEFAULT, seed=0) == ((2.0, 4.48), "grounding:longest")
    policy = RegionPolicy(phrase_choice="score")
    assert select_region("c1", 10.0, PHRASES, policy, seed=0) == ((7.0, 8.0), "grounding:score")


def test_phrase_choice_score_without_scores_rejects():
    results = [GroundingResult("c1", "x", [(1.0, 2.0)])]
    with pytest.raises(RejectedInput, match="no grounding result has a score"):
        select_region("c1", 10.0, results, RegionPolicy(phrase_choice="score"), seed=0)


def test_phrase_choice_random_is_seeded_and_varies():
    policy = RegionPolicy(phrase_choice="random")
    picks = [select_region("c1", 10.0, PHRASES, policy, seed=s)[0] for s in range(30)]
    assert set(picks) == {(0.48, 1.72), (2.0, 4.48), (7.0, 8.0)}  # the longest segment of each non-empty phrase
    assert picks == [select_region("c1", 10.0, PHRASES, policy, seed=s)[0] for s in range(30)]
    assert select_region("c1", 10.0, PHRASES, policy, seed=0)[1] == "grounding:random"


def test_clip_rng_is_a_stable_hash_of_seed_and_clip():
    assert clip_rng(0, "clipA").integers(1 << 30) == 880628754
    assert clip_rng(1, "clipA").integers(1 << 30) == 362707990
    assert clip_rng(0, "clipB").integers(1 << 30) == 780224241


@pytest.mark.parametrize(
    ("results", "duration", "reason"),
    [
        ([GroundingResult("c1", "x", [])], 10.0, "hold no segment"),
        (one([(-0.5, 2.0)]), 10.0, "negative onset"),
        (one([(3.0, 3.0)]), 10.0, "not after onset"),
        (one([(4.0, 2.0)]), 10.0, "not after onset"),
        (one([(10.0, 11.0)]), 10.0, "out of range"),
        (one([(8.0, 10.5)]), 10.0, "out of range"),
        (one([(0.2, 0.5)]), 0.8, "shorter than the minimum region"),
        (one([(1.0, float("nan"))]), 10.0, "non-finite"),
    ],
)
def test_rejections(results, duration, reason):
    with pytest.raises(RejectedInput, match=reason) as err:
        select_region("c1", duration, results, DEFAULT, seed=0)
    assert err.value.item == "c1"


def test_fallback_needs_audio_and_steady_audio_gets_a_seeded_random_region():
    with pytest.raises(RejectedInput, match="no audio"):
        select_region("c1", 10.0, None, DEFAULT, seed=0)
    silence = np.zeros(16000 * 10, dtype=np.float32)
    regions = set()
    for seed in range(6):
        region, how = select_region("c1", 10.0, [], DEFAULT, seed=seed, audio=silence, sample_rate=16000)
        again, _ = select_region("c1", 10.0, [], DEFAULT, seed=seed, audio=silence, sample_rate=16000)
        assert how == "random-fallback" and region == again
        assert 1.0 - 1e-9 <= region[1] - region[0] <= 4.0 + 1e-9 and region[0] >= 0.0 and region[1] <= 10.0
        assert abs(region[0] / 0.04 - round(region[0] / 0.04)) < 1e-6
        regions.add(region)
    assert len(regions) > 3
    unbounded = RegionPolicy(min_s=None, max_s=None)
    region, _ = select_region("c1", 3.0, [], unbounded, seed=1, audio=silence[: 16000 * 3], sample_rate=16000)
    assert 1.0 - 1e-9 <= region[1] - region[0] <= 3.0 + 1e-9


@pytest.mark.parametrize(
    "kwargs",
    [{"grid_s": 0.0}, {"phrase_choice": "best"}, {"min_s": 5.0, "max_s": 4.0}, {"min_s": -1.0}, {"max_s": 0.0}],
)
def test_policy_validation(kwargs):
    with pytest.raises(ValueError):
        RegionPolicy(**kwargs)
