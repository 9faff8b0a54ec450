"""Genuine splice and event addition on real demo-kit recordings; the ``create`` factory."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio_io import read_audio, resample
from pipeline.errors import ConfigError, RejectedInput
from pipeline.timemath import segment_to_samples
from regenerate import weightfree
from regenerate.base import Donor, Regenerator, RegionRequest
from regenerate.configs import AdditionConfig, VocoderConfig
from regenerate.recipes import create_regenerators, get_recipe
from regenerate.weightfree import AdditionRegenerator, GenuineSpliceRegenerator

ODD_RATE = 22050
REGION = (2.0, 3.23)  # 1.23 s


def donor(kit_dir, name, phrase):
    audio, sr = read_audio(kit_dir / f"{name}.flac")
    return Donor(id=name, audio=audio, sample_rate=sr, phrase=phrase)


@pytest.fixture(scope="module")
def donors(kit_dir):
    return [
        donor(kit_dir, "bg_rain", "rain falls steadily"),
        donor(kit_dir, "bg_stream", "a small stream babbles over stones"),
        donor(kit_dir, "ev_cow_moo_1", "a cow moos"),
        donor(kit_dir, "ev_door_close", "a door closes"),
        donor(kit_dir, "ev_horse_neigh_1", "a horse neighs"),
    ]


@pytest.fixture(scope="module")
def clip(kit_dir):
    return read_audio(kit_dir / "bg_river.flac", sample_rate=ODD_RATE)[0]


def request(clip, seed=0, region=REGION, clip_id="bg_river"):
    return RegionRequest(clip_id=clip_id, audio=clip, sample_rate=ODD_RATE, region=region, caption="", seed=seed)


def span(region=REGION, rate=ODD_RATE):
    return segment_to_samples(region, rate)


# ---- splice -------------------------------------------------------------------------------------

def test_splice_is_a_verbatim_stretch_of_a_resampled_donor(donors, clip):
    backend = GenuineSpliceRegenerator(donors)
    start, stop = span()
    result = backend.regenerate(request(clip))
    assert result.sample_rate == ODD_RATE and result.audio.dtype == np.float32
    assert len(result.audio) == stop - start == 27122
    chosen = {d.id: d for d in donors}[result.info["donor_id"]]
    source = resample(chosen.audio, chosen.sample_rate, ODD_RATE)
    offset = round(result.info["donor_offset_s"] * ODD_RATE)
    np.testing.assert_array_equal(result.audio, source[offset : offset + len(result.audio)])
    assert not result.info["looped"] and backend.manipulation == "splice"


def test_splice_seeding(donors, clip):
    backend = GenuineSpliceRegenerator(donors)
    first = backend.regenerate(request(clip, seed=7))
    reordered = GenuineSpliceRegenerator(donors[::-1]).regenerate(request(clip, 7))
    np.testing.assert_array_equal(first.audio, reordered.audio)  # donor order does not matter
    infos = {tuple(sorted(backend.regenerate(request(clip, seed=s)).info.items())) for s in range(8)}
    assert len(infos) == 8  # different seeds: different donor or offset


def test_splice_never_uses_the_clip_itself(kit_dir, donors, clip):
    own = Donor("bg_river", clip, ODD_RATE, "a river flows")
    backend = GenuineSpliceRegenerator([own, *donors])
    assert all(backend.regenerate(request(clip, seed=s)).info["donor_id"] != "bg_river" for s in range(20))
    with pytest.raises(RejectedInput, match="no donor other than the clip itself"):
        GenuineSpliceRegenerator([own]).regenerate(request(clip))


def test_splice_loops_short_donors_with_crossfades(donors, clip):
    short = [d for d in donors if d.id == "ev_door_close"]  # 0.57 s, region 1.23 s
    result = GenuineSpliceRegenerator(short).regenerate(request(clip))
    source = resample(short[0].audio, short[0].sample_rate, ODD_RATE)
    fade = round(0.01 * ODD_RATE)
    assert result.info["looped"] and len(result.audio) == span()[1] - span()[0]
    np.testing.assert_array_equal(result.audio[: len(source) - fade], source[: len(source) - fade])
    second = result.audio[len(source) : 2 * len(source) - 2 * fade]
    np.testing.assert_allclose(second, source[fade : len(source) - fade], atol=1e-7)


# ---- addition -----------------------------------------------------------------------------------

def measured_snr(result, original, event_samples):
    added = result.audio.astype(np.float64) - original
    return 20 * np.log10(np.sqrt(np.mean(added[:event_samples] ** 2)) / np.sqrt(np.mean(original**2)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_addition_snr_matches(donors, clip, seed):
    start, stop = span((1.0, 5.0))
    events = [d for d in donors if d.id.startswith("ev_")]
    backend = AdditionRegenerator(events, AdditionConfig(snr_db=(0.0, 10.0)))
    result = backend.regenerate(request(clip, seed, region=(1.0, 5.0)))
    original = clip[start:stop].astype(np.float64)
    n_event = round(result.info["event_s"] * ODD_RATE)
    assert 0.0 <= result.info["snr_db"] <= 10.0
    assert measured_snr(result, original, n_event) == pytest.approx(result.info["snr_db"], abs=0.1)
    assert not result.info["event_cut"] and n_event < stop - start
    np.testing.assert_array_equal(result.audio[n_event:], clip[start:stop][n_event:])  # after the event: untouched
    assert result.changed == (1.0, pytest.approx(1.0 + n_event / ODD_RATE))  # only the event's span is labelled
    assert result.info["added_phrase"] == {d.id: d.phrase for d in events}[result.info["donor_id"]]


def test_addition_skips_background_beds_when_events_exist(kit_dir, clip):
    bed = Donor("bg_rain", read_audio(kit_dir / "bg_rain.flac")[0], 32000, "rain falls", kind="background")
    event = Donor("ev_door_close", read_audio(kit_dir / "ev_door_close.flac")[0], 32000, "a door closes", kind="event")
    picked = {AdditionRegenerator([bed, event]).regenerate(request(clip, seed)).info["donor_id"] for seed in range(8)}
    assert picked == {"ev_door_close"}
    assert AdditionRegenerator([bed]).regenerate(request(clip)).info["donor_id"] == "bg_rain"  # beds only: used


def test_addition_cuts_long_event_with_fade(donors, clip):
    cow = [d for d in donors if d.id == "ev_cow_moo_1"]  # 2.0 s into a 1.23 s region
    backend = weightfree.create("addition", cow, AdditionConfig(snr_db=(5.0, 5.0)))
    result = backend.regenerate(request(clip))
    start, stop = span()
    original = clip[start:stop].astype(np.float64)
    assert result.info["event_cut"] and result.info["snr_db"] == 5.0 and result.changed is None
    assert len(result.audio) == stop - start
    assert measured_snr(result, original, stop - start) == pytest.approx(5.0, abs=0.1)
    added = result.audio.astype(np.float64) - original
    assert added[-1] == 0.0  # faded to zero at the cut, over the last 10 ms
    assert np.abs(added[-22:]).max() < 0.15 * np.abs(added[-220:]).max()


def test_addition_seeding_and_rejections(donors, clip):
    backend = AdditionRegenerator(donors)
    a, b = backend.regenerate(request(clip, seed=3)), backend.regenerate(request(clip, seed=3))
    np.testing.assert_array_equal(a.audio, b.audio)
    assert a.info == b.info
    assert not np.array_equal(a.audio, backend.regenerate(request(clip, seed=4)).audio)
    silent = np.zeros_like(clip)
    with pytest.raises(RejectedInput, match="silent"):
        backend.regenerate(request(silent))
    with pytest.raises(RejectedInput, match="ends after the clip"):
        backend.regenerate(request(clip, region=(9.5, 10.5)))


# ---- factory ------------------------------------------------------------------------------------

def test_create_and_recipe(donors, clip):
    made = create_regenerators(get_recipe("weight-free"), donors=donors)
    assert {name: r.manipulation for name, r in made.items()} == {
        "splice": "splice", "addition": "addition", "vocoder": "vocoder"
    }
    for backend in made.values():
        assert isinstance(backend, Regenerator)
        results = backend.regenerate_batch([request(clip, seed=1), request(clip, seed=2, region=(0.0, 1.0))])
        assert [len(r.audio) for r in results] == [span()[1] - span()[0], ODD_RATE]
    assert weightfree.create("vocoder", (), VocoderConfig(iters=4)).iters == 4
    assert weightfree.create("addition", donors, AdditionConfig(snr_db=[3, 6])).snr_db == (3.0, 6.0)
    recipe = get_recipe("weight-free", griffin_lim_iters=5, snr_db=(1, 2))  # recipe settings reach the backends
    made = create_regenerators(recipe, donors=donors)
    assert made["vocoder"].iters == 5 and made["addition"].snr_db == (1.0, 2.0)
    with pytest.raises(ConfigError, match="unknown weight-free backend"):
        weightfree.create("autotune", donors)
    for name in ("splice", "addition"):
        with pytest.raises(RejectedInput, match="no donor clips"):
            weightfree.create(name, [])


def test_splice_can_match_the_level_of_the_replaced_span(donors, clip):
    from pipeline.splice import rms
    from regenerate.configs import GenuineSpliceConfig

    matched = weightfree.create("splice", donors, GenuineSpliceConfig(match_level=True)).regenerate(request(clip))
    start, stop = span()
    assert abs(rms(matched.audio) / rms(clip[start:stop]) - 1) < 1e-3
    # a steady tone (crest 3 dB): any real donor matched to its RMS would peak above it; the cap holds the peak
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(len(clip)) / ODD_RATE)).astype(np.float32)
    capped = weightfree.create("splice", donors, GenuineSpliceConfig(match_level=True)).regenerate(request(tone))
    assert np.max(np.abs(capped.audio)) <= 0.1 + 1e-6 and rms(capped.audio) < rms(tone[start:stop]) * 0.99


def test_addition_peak_limit_caps_at_the_region_peak_without_silencing(donors, clip):
    loud = weightfree.create("addition", donors, AdditionConfig(snr_db=(20.0, 20.0), peak_limit=True))
    result = loud.regenerate(request(clip))
    start, stop = span()
    added = result.audio.astype(np.float64) - clip[start:stop]
    assert np.max(np.abs(added)) <= np.max(np.abs(clip[start:stop])) * (1 + 1e-5) and result.info["snr_db"] < 20.0
    assert np.max(np.abs(result.audio)) < 1.0 and np.max(np.abs(added)) > 0.1 * np.max(np.abs(clip[start:stop]))
    free = weightfree.create("addition", donors, AdditionConfig(snr_db=(20.0, 20.0))).regenerate(request(clip))
    assert np.max(np.abs(free.audio)) > np.max(np.abs(clip)) and free.info["snr_db"] == 20.0
