import numpy as np
import pytest

from pipeline.audio_io import quantize_pcm16, read_audio, write_audio
from pipeline.splice import fit_length, match_loudness, power_preserving_ramps, rms, splice
from pipeline.timemath import segment_to_samples


@pytest.mark.parametrize("rate", [16000, 22050, 32000, 44100])
@pytest.mark.parametrize("segment", [(1.0, 2.0), (0.04, 3.96), (8.28, 9.96), (0.0, 0.12)])
def test_hard_splice_is_bit_identical_outside_and_sample_exact_inside(real_clip, real_event, rate, segment):
    from pipeline.audio_io import resample

    clip = quantize_pcm16(resample(real_clip[0], real_clip[1], rate))
    start, stop = segment_to_samples(segment, rate)
    insert = fit_length(resample(real_event[0], real_event[1], rate), stop - start)
    out = splice(clip, insert, segment, rate)
    assert out.shape == clip.shape
    assert np.array_equal(out[:start], clip[:start]) and np.array_equal(out[stop:], clip[stop:])
    assert np.array_equal(out[start:stop], np.clip(insert, -1, 1))
    assert out[start] != clip[start] or out[stop - 1] != clip[stop - 1]


def test_splice_survives_encoding_bit_exactly(tmp_path, real_clip, real_event):
    clip, rate = quantize_pcm16(real_clip[0]), real_clip[1]
    segment = (2.4, 4.8)
    start, stop = segment_to_samples(segment, rate)
    fake = quantize_pcm16(splice(clip, fit_length(real_event[0], stop - start), segment, rate, loudness_match=True))
    write_audio(tmp_path / "real.wav", clip, rate)
    write_audio(tmp_path / "fake.flac", fake, rate)
    real_back, _ = read_audio(tmp_path / "real.wav")
    fake_back, _ = read_audio(tmp_path / "fake.flac")
    diff = np.flatnonzero(real_back != fake_back)
    assert diff.min() >= start and diff.max() < stop


def test_crossfade_stays_inside_region(real_clip):
    clip, rate = real_clip
    segment = (1.0, 2.0)
    start, stop = segment_to_samples(segment, rate)
    insert = np.full(stop - start, 0.25, dtype=np.float32)
    out = splice(clip, insert, segment, rate, crossfade_ms=20)
    assert np.array_equal(out[:start], clip[:start]) and np.array_equal(out[stop:], clip[stop:])
    n = int(0.02 * rate)
    assert np.allclose(out[start + n : stop - n], 0.25)
    fade_out, fade_in = power_preserving_ramps(clip[start : start + n], insert[:n])
    assert out[start] == pytest.approx(clip[start] * fade_out[0] + 0.25 * fade_in[0], abs=1e-6)
    assert fade_out[0] > 0.95 and fade_in[-1] > 0.95  # starts on the real, ends on the insert


def test_crossfade_law_follows_the_correlation():
    n = 400
    a = np.tile([1.0, 0.0], n // 2)
    fade_out, fade_in = power_preserving_ramps(a, 1.0 - a)  # orthogonal: equal power
    assert np.allclose(fade_out**2 + fade_in**2, 1.0)
    fade_out, fade_in = power_preserving_ramps(a, 2 * a)  # fully correlated: linear
    assert np.allclose(fade_out + fade_in, 1.0)


def test_crossfade_of_an_insert_containing_the_real_does_not_lift_it():
    """An addition's insert is the real plus an event: an equal-power fade would lift the real by up to 3 dB."""
    rate = 32000
    real = np.random.default_rng(0).standard_normal(rate).astype(np.float32) * 0.1
    out = splice(real, real[8000:16000].copy(), (0.25, 0.5), rate, crossfade_ms=10)
    assert np.allclose(out, real, atol=1e-6)  # an insert equal to the real: the fades give the real back


def test_loudness_match_to_replaced_span(real_clip):
    clip, rate = real_clip
    segment = (3.0, 5.0)
    start, stop = segment_to_samples(segment, rate)
    loud = np.random.default_rng(0).uniform(-0.5, 0.5, stop - start).astype(np.float32)  # 0.5-peak like a generator
    out = splice(clip, loud, segment, rate, loudness_match=True)
    assert rms(out[start:stop]) == pytest.approx(rms(clip[start:stop]), rel=1e-3)
    assert match_loudness(np.zeros(10, np.float32), clip[:10]).sum() == 0  # silence is left alone


def test_splice_rejects_wrong_lengths_and_ranges(real_clip):
    clip, rate = real_clip
    with pytest.raises(ValueError, match="spans"):
        splice(clip, np.zeros(10, np.float32), (1.0, 2.0), rate)
    with pytest.raises(ValueError, match="ends after"):
        splice(clip, np.zeros(rate * 2, np.float32), (9.0, 11.0), rate)
    with pytest.raises(ValueError, match="empty"):
        splice(clip, np.zeros(0, np.float32), (1.0, 1.0), rate)


def test_altered_segments_trim_identical_edges_to_the_frame_grid():
    from pipeline.splice import altered_segments

    rate = 1000
    real = np.linspace(-0.5, 0.5, 4000, dtype=np.float32)
    fake = real.copy()
    fake[1234:2345] += 0.1  # changed 1.234-2.345 s inside the region 1.0-3.0 s
    assert altered_segments(real, fake, (1.0, 3.0), rate) == [(1.22, 2.36)]
    assert altered_segments(real, fake, (1.0, 3.0), rate, cell_s=0.04) == [(1.2, 2.36)]
    assert altered_segments(real, real, (1.0, 3.0), rate) == [(1.0, 3.0)]  # nothing changed: region kept
    fake2 = real.copy()
    fake2[1000] += 0.1
    fake2[2999] += 0.1  # one changed sample at each end: two one-frame fragments, the identical middle left out
    assert altered_segments(real, fake2, (1.0, 3.0), rate) == [(1.0, 1.02), (2.98, 3.0)]

@pytest.mark.parametrize("crossfade_ms", [0.0, 10.0])
def test_zero_crossing_alignment_moves_each_seam_inward_to_the_best_match(crossfade_ms):
    rate = 32000
    t = np.arange(rate * 2) / rate
    clip = quantize_pcm16(0.5 * np.sin(2 * np.pi * 150 * t))
    segment = (0.5, 1.5)
    start, stop = segment_to_samples(segment, rate)
    insert = quantize_pcm16(0.4 * np.sin(2 * np.pi * 347 * t[start:stop] + 2.5))
    out = splice(clip, insert, segment, rate, crossfade_ms=crossfade_ms, align_zero_crossing=True)
    window = segment_to_samples((0.0, 0.001), rate)[1]  # 32 samples
    gap = np.abs(insert.astype(np.float64) - clip[start:stop])
    head, tail = int(np.argmin(gap[: window + 1])), int(np.argmin(gap[::-1][: window + 1]))
    assert 0 < head <= window and 0 < tail <= window  # the edges themselves are not the best seams here
    new_start, new_stop = start + head, stop - tail
    assert np.array_equal(out[:new_start], clip[:new_start]) and np.array_equal(out[new_stop:], clip[new_stop:])
    if crossfade_ms == 0:  # sample-exact: the insert's own samples between the moved seams
        assert np.array_equal(out[new_start:new_stop], insert[head : len(insert) - tail])
        # the jump at each seam is no larger than at the unmoved edge
        assert abs(out[new_start] - out[new_start - 1]) <= abs(insert[0] - clip[start - 1]) + 1e-6
        assert abs(out[new_stop] - out[new_stop - 1]) <= abs(clip[stop] - insert[-1]) + 1e-6
    else:
        assert out[new_start] != clip[new_start] and out[new_stop - 1] != clip[new_stop - 1]


def test_zero_crossing_alignment_keeps_an_edge_that_already_matches():
    rate = 1000
    clip = np.linspace(-0.5, 0.5, 2000).astype(np.float32)
    insert = np.zeros(1000, dtype=np.float32)
    insert[0], insert[-1] = clip[500], clip[1499]  # seams continue the real clip exactly at the edges
    out = splice(clip, insert, (0.5, 1.5), rate, align_zero_crossing=True)
    assert np.array_equal(out[500:1500], insert)


def test_splice_config_validates_the_boundary_settings():
    from pipeline.errors import ConfigError
    from pipeline.interfaces import SpliceConfig
    from regenerate.recipes import get_recipe

    assert SpliceConfig() == SpliceConfig(crossfade_ms=0.0, align_zero_crossing=False)
    assert get_recipe("weight-free").splice == SpliceConfig(crossfade_ms=10.0)  # weight-free default: crossfade
    assert get_recipe("weight-free", align_zero_crossing=True).splice.align_zero_crossing
    for bad in ({"crossfade_ms": -1.0}, {"crossfade_ms": float("nan")}, {"crossfade_ms": "10"},
                {"align_zero_crossing": "yes"}, {"align_zero_crossing": 1}):
        with pytest.raises(ConfigError, match="splice"):
            SpliceConfig(**bad)
    with pytest.raises(ConfigError, match="no setting 'boundary'"):
        get_recipe("weight-free", boundary="zero-crossing")
