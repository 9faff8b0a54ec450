"""Recording conditions: length-preserving, aligned, band limits that hold, and changes that share a history."""

import numpy as np
import pytest

from pipeline.conditions import apply_condition, draw_history, parse_condition, shape_change

RATE = 32000


def _noise(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 0.1).astype(np.float32)


def _share_above(x: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    return float(spectrum[np.fft.rfftfreq(len(x), 1 / RATE) > hz].sum() / spectrum.sum())


@pytest.mark.parametrize("spec", ["lowpass:4000", "lowpass:11025", "resample:16000", "mp3:0.9", "vorbis:0.5",
                                  "opus:0.8", "gain:-12", "noise:10", "dc:0.01", "downmix:7"])
def test_conditions_keep_length_and_alignment(spec):
    x = np.zeros(RATE * 2, dtype=np.float32)
    x[RATE // 2 : RATE // 2 + 3200] = _noise(0.1)  # a 100 ms burst at 0.5 s
    y = apply_condition(x, RATE, spec, np.random.default_rng(0))
    assert y.shape == x.shape and y.dtype == np.float32
    lag = int(np.argmax(np.correlate(y[RATE // 2 - 800 : RATE // 2 + 4000], x[RATE // 2 : RATE // 2 + 3200])))
    assert lag - 800 in (0, 7) if spec == "downmix:7" else lag == 800


def test_band_limit_and_bad_specs():
    assert _share_above(apply_condition(_noise(), RATE, "lowpass:8000"), 8200) < 1e-4
    assert _share_above(apply_condition(_noise(), RATE, "mp3:0.9"), 12000) < _share_above(_noise(), 12000)
    for bad in ("lowpass", "flac:0.5", "mp3:1.5", "lowpass:20", "gain:loud"):
        with pytest.raises(ValueError):
            parse_condition(bad)


def test_histories_are_seeded():
    drawn = [draw_history(np.random.default_rng(s), RATE) for s in range(50)]
    assert drawn == [draw_history(np.random.default_rng(s), RATE) for s in range(50)]
    assert any(any(h.startswith("lowpass:8000") for h in d) for d in drawn) and [] in drawn


def test_shape_change_passes_only_the_change_through_the_history():
    original = apply_condition(_noise(seed=1), RATE, "lowpass:8000")
    donor = _noise(seed=2)  # full band
    shaped = shape_change(original, donor, RATE, ["lowpass:8000", "dc:0.01", "gain:-6"])
    assert _share_above(shaped, 8200) < 1e-4  # the brought-in material now has the clip's band limit
    assert abs(float(np.mean(shaped - donor))) < 1e-3  # level steps (dc, gain) are not applied twice
    assert np.array_equal(shape_change(original, donor, RATE, []), donor)
