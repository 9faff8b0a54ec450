"""Recording conditions real clips go through on their way to a dataset: band limits, lossy codecs,
resampling, level, DC offset, noise, mono downmix.

One implementation serves three users, so what the benchmark tests is what training and the demo saw:
the demo composer draws a *history* per source clip before any fake is made (so a real clip and its fake
share it, as AudioCaps reals and FakeSound fakes share YouTube's processing); training augmentation draws
the same conditions for reals and fakes alike; ``fakesound benchmark --conditions`` re-scores a test split
under named conditions.

A condition is a string ``kind:value`` (``lowpass:8000``, ``mp3:0.9``, ``resample:16000``, ``gain:-12``,
``noise:20``, ``dc:0.01``, ``downmix:12``, ``clip:6``, ``limit:6``, ``loudness:-14``); a codec may name the rate it
encodes at, ``mp3:0.95@16000`` (default: the clip's own rate, or the next one the codec supports).
:func:`apply_condition` applies it to mono float32 audio and returns audio of the same length and rate. The last
three level treatments are what web audio goes through on its way to a dataset: peak-normalised and driven into hard
clipping, pushed through a limiter, or loudness-normalised to a streaming target with the overflow clipped (all end
at or below full scale). Codecs are libsndfile's (MP3, Vorbis, Opus) at a ``compression_level`` in [0, 1); measured
bit rates on 32 kHz noise (Opus at 48 kHz): MP3 0.0 → 328, 0.7 → 115, 0.9 → 57 kbps; Vorbis 0.0 → 193, 0.5 → 76, 0.9
→ 58 kbps; Opus 0.0 → 261, 0.5 → 135, 0.8 → 59, 0.9 → ~35 kbps; MP3 encoded at 16 or 22.05 kHz (MPEG-2 layer III)
0.7 → 57, 0.9 → 24, 0.95 → 16, 0.99 → 8 kbps. libsndfile compensates codec delay; any residual lag is removed by
cross-correlation so frame labels stay aligned.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import soundfile as sf

from pipeline.audio_io import resample

#: libsndfile container, subtype and the sample rates it encodes at, per codec name.
CODECS = {
    "mp3": ("MP3", "MPEG_LAYER_III", (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)),
    "vorbis": ("OGG", "VORBIS", None),
    "opus": ("OGG", "OPUS", (8000, 12000, 16000, 24000, 48000)),
}
#: Level treatments: nonlinear, so :func:`shape_change` leaves them (like gain, dc, noise) out of a change.
LEVEL_KINDS = ("clip", "limit", "loudness")
KINDS = ("lowpass", "resample", *CODECS, "gain", "noise", "dc", "downmix", *LEVEL_KINDS)
MAX_LAG = 4096
#: Frames per encoder write: libsndfile's Vorbis writer segfaults on one write of ~2 min of audio (measured at
#: 120 s mono, 32 kHz); a clip up to this length (16 s at 32 kHz) is still written in one call, as before.
CODEC_WRITE_FRAMES = 2**19
#: ``limit``: ceiling (-0.1 dBFS), look-ahead/attack and release of the peak limiter
LIMIT_CEILING = 10 ** (-0.1 / 20)
LIMIT_ATTACK_S = 0.002
LIMIT_RELEASE_S = 0.05
#: ``loudness``: 400 ms blocks below this level (dBFS) do not count, as BS.1770's absolute gate
LOUDNESS_GATE_DBFS = -70.0


def parse_condition(spec: str) -> tuple[str, float]:
    """``"mp3:0.9"`` -> ``("mp3", 0.9)``; unknown kinds and bad values raise ``ValueError``."""
    return _parse(spec)[:2]


def encoder_rate(spec: str) -> int | None:
    """The rate a codec condition encodes at (``"mp3:0.95@16000"`` -> 16000), None when it names none."""
    return _parse(spec)[2]


def _parse(full: str) -> tuple[str, float, int | None]:
    """(kind, value, encoder rate or None) of a condition string, checked."""
    spec, at, rate_text = full.partition("@")
    kind, sep, value = spec.partition(":")
    if kind not in KINDS or not sep:
        raise ValueError(f"condition {full!r}: expected KIND:VALUE with KIND one of {', '.join(KINDS)}")
    try:
        number = float(value)
    except ValueError as err:
        raise ValueError(f"condition {full!r}: {value!r} is not a number") from err
    if kind in CODECS and not 0.0 <= number < 1.0:
        raise ValueError(f"condition {full!r}: compression level must be in [0, 1)")
    if kind in ("lowpass", "resample") and number < 1000:
        raise ValueError(f"condition {full!r}: {kind} needs a frequency/rate of at least 1000 Hz")
    if kind in ("clip", "limit") and not 0.0 <= number <= 40.0:
        raise ValueError(f"condition {full!r}: {kind} drive must be 0..40 dB over full scale")
    if kind == "loudness" and not -60.0 <= number <= 0.0:
        raise ValueError(f"condition {full!r}: loudness target must be -60..0 dBFS")
    if not at:
        return kind, number, None
    if kind not in CODECS:
        raise ValueError(f"condition {full!r}: only a codec ({', '.join(CODECS)}) takes @RATE")
    rates = CODECS[kind][2]
    enc_rate = int(rate_text) if rate_text.isdigit() else 0
    if not (enc_rate in rates if rates else 8000 <= enc_rate <= 48000):
        allowed = ", ".join(map(str, rates)) if rates else "8000..48000"
        raise ValueError(f"condition {full!r}: {kind} encodes at {allowed} Hz")
    return kind, number, enc_rate


def band_limit(audio: np.ndarray, rate: int, cutoff_hz: float) -> np.ndarray:
    """Content above ``cutoff_hz`` removed the way real material loses it: down to ``2 * cutoff`` and back."""
    low_rate = round(2 * cutoff_hz)
    if low_rate >= rate:
        return np.asarray(audio, dtype=np.float32)
    return _fit(resample(resample(audio, rate, low_rate), low_rate, rate), len(audio))


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros(length - len(audio), dtype=np.float32)])


def _align(decoded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``decoded`` shifted by the lag (within ``MAX_LAG``) that best matches ``reference``, same length."""
    n = len(reference)
    decoded = _fit(decoded, n + MAX_LAG)
    if not np.any(reference) or n < 2 * MAX_LAG:
        return decoded[:n]
    size = 1 << int(np.ceil(np.log2(2 * n + MAX_LAG)))
    xcorr = np.fft.irfft(np.fft.rfft(decoded, size) * np.conj(np.fft.rfft(reference, size)), size)
    lags = np.concatenate([xcorr[: MAX_LAG + 1], xcorr[size - MAX_LAG :]])
    lag = int(np.argmax(lags))
    lag = lag if lag <= MAX_LAG else lag - (2 * MAX_LAG + 1)
    if lag >= 0:
        return decoded[lag : lag + n]
    return np.concatenate([np.zeros(-lag, dtype=np.float32), decoded[: n + lag]])


def codec_round_trip(
    audio: np.ndarray, rate: int, codec: str, level: float, encode_at: int | None = None
) -> np.ndarray:
    """Encode with libsndfile's ``codec`` at ``compression_level=level`` and decode, same rate and length; the
    encoder runs at ``encode_at`` Hz, or at ``rate`` (the next rate the codec supports) when None."""
    fmt, subtype, rates = CODECS[codec]
    enc_rate = encode_at or (
        rate if rates is None or rate in rates else min((r for r in rates if r >= rate), default=rates[-1])
    )
    x = np.clip(resample(audio, rate, enc_rate), -1.0, 1.0)
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", enc_rate, 1, format=fmt, subtype=subtype, compression_level=level,
                      bitrate_mode="CONSTANT" if codec == "mp3" else None) as encoder:
        for start in range(0, len(x), CODEC_WRITE_FRAMES):  # one write of minutes of audio crashes libsndfile
            encoder.write(x[start : start + CODEC_WRITE_FRAMES])
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32")
    return _align(resample(_align(decoded, x), enc_rate, rate), np.asarray(audio, dtype=np.float32))


def white_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at ``snr_db`` below the mean power of ``audio`` (silence gets none)."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if len(audio) else 0.0
    if power <= 0.0:
        return np.asarray(audio, dtype=np.float32)
    noise = rng.standard_normal(len(audio)) * np.sqrt(power / 10 ** (snr_db / 10))
    return (np.asarray(audio, dtype=np.float64) + noise).astype(np.float32)


def downmix(audio: np.ndarray, delay: int) -> np.ndarray:
    """Mono downmix of a two-microphone pickup: 0.6 x the near channel + 0.4 x a copy ``delay`` samples later
    (a comb filter; unequal so the direct sound stays where it was)."""
    delay = int(delay)
    x = np.asarray(audio, dtype=np.float64)
    if delay <= 0 or delay >= len(x):
        return x.astype(np.float32)
    late = np.concatenate([np.zeros(delay), x[:-delay]])
    return (0.6 * x + 0.4 * late).astype(np.float32)


def _peak(audio: np.ndarray) -> float:
    return float(np.max(np.abs(audio))) if len(audio) else 0.0


def hard_clip(audio: np.ndarray, drive_db: float) -> np.ndarray:
    """Peak normalised to full scale, driven ``drive_db`` dB further and hard-clipped at +-1 (silence stays)."""
    peak = _peak(audio)
    if peak <= 0.0:
        return np.asarray(audio, dtype=np.float32)
    gain = 10 ** (drive_db / 20) / peak
    return np.clip(np.asarray(audio, dtype=np.float64) * gain, -1.0, 1.0).astype(np.float32)


def peak_limit(audio: np.ndarray, rate: int, drive_db: float) -> np.ndarray:
    """Peak normalised to full scale, driven ``drive_db`` dB further into a look-ahead peak limiter (attack
    :data:`LIMIT_ATTACK_S`, release :data:`LIMIT_RELEASE_S`, ceiling :data:`LIMIT_CEILING`): loud passages are
    turned down smoothly instead of clipped, as broadcast and web mastering does."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d
    from scipy.signal import lfilter

    peak = _peak(audio)
    if peak <= 0.0:
        return np.asarray(audio, dtype=np.float32)
    x = np.asarray(audio, dtype=np.float64) * (10 ** (drive_db / 20) / peak)
    attack = max(1, round(LIMIT_ATTACK_S * rate))
    needed = np.minimum(1.0, LIMIT_CEILING / np.maximum(maximum_filter1d(np.abs(x), 2 * attack + 1), 1e-12))
    # gain ramps down over the look-ahead (held minimum, then a moving average) and recovers with the release
    ramped = uniform_filter1d(minimum_filter1d(needed, 4 * attack + 1), 2 * attack + 1)
    pole = np.exp(-1.0 / (LIMIT_RELEASE_S * rate))
    released = lfilter([1 - pole], [1, -pole], ramped - 1.0)[0] + 1.0
    gain = np.minimum(released, ramped)
    return np.clip(x * gain, -LIMIT_CEILING, LIMIT_CEILING).astype(np.float32)


def loudness_normalise(audio: np.ndarray, rate: int, target_dbfs: float) -> np.ndarray:
    """Gated RMS level (mean power of the 400 ms blocks above :data:`LOUDNESS_GATE_DBFS`; BS.1770's gate without
    its K-weighting) set to ``target_dbfs``, what overflows full scale hard-clipped (a loudness-normalised
    upload of a quiet recording). Audio with no block above the gate is returned unchanged."""
    x = np.asarray(audio, dtype=np.float64)
    block = max(1, round(0.4 * rate))
    n = max(1, len(x) // block)
    powers = np.array([np.mean(np.square(b)) for b in np.array_split(x[: max(block, n * block)], n)])
    loud = powers[powers > 10 ** (LOUDNESS_GATE_DBFS / 10)]
    if len(loud) == 0:
        return x.astype(np.float32)
    gain = 10 ** (target_dbfs / 20) / np.sqrt(float(np.mean(loud)))
    return np.clip(x * gain, -1.0, 1.0).astype(np.float32)


def apply_condition(audio: np.ndarray, rate: int, spec: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """``audio`` (mono float32 at ``rate``) after condition ``spec``; same length. ``rng`` seeds noise."""
    kind, value, encode_at = _parse(spec)
    audio = np.asarray(audio, dtype=np.float32)
    if kind == "lowpass":
        return band_limit(audio, rate, value)
    if kind == "resample":
        mid = int(value)
        return audio if mid == rate else _fit(resample(resample(audio, rate, mid), mid, rate), len(audio))
    if kind in CODECS:
        return codec_round_trip(audio, rate, kind, value, encode_at)
    if kind == "gain":
        return (audio * np.float32(10 ** (value / 20))).astype(np.float32)
    if kind == "noise":
        return white_noise(audio, value, rng if rng is not None else np.random.default_rng(0))
    if kind == "dc":
        return (audio + np.float32(value)).astype(np.float32)
    if kind == "clip":
        return hard_clip(audio, value)
    if kind == "limit":
        return peak_limit(audio, rate, value)
    if kind == "loudness":
        return loudness_normalise(audio, rate, value)
    return downmix(audio, int(value))


def apply_conditions(
    audio: np.ndarray, rate: int, specs: Sequence[str], rng: np.random.Generator | None = None
) -> np.ndarray:
    """Conditions applied in order (a history)."""
    for spec in specs:
        audio = apply_condition(audio, rate, spec, rng)
    return np.asarray(audio, dtype=np.float32)


def shape_change(original: np.ndarray, changed: np.ndarray, rate: int, history: Sequence[str]) -> np.ndarray:
    """``changed`` with what differs from ``original`` passed through ``history`` (level steps left out):
    ``original + H(changed - original)``. Material a backend brings in (a donor stretch, an added event,
    resynthesis error) then carries the band limit and codec of the clip it lands in, so neither the seams
    nor clip statistics tell the fake by its bandwidth."""
    steps = [h for h in history if parse_condition(h)[0] not in ("gain", "dc", "noise", *LEVEL_KINDS)]
    original = np.asarray(original, dtype=np.float32)
    if not steps:
        return np.asarray(changed, dtype=np.float32)
    delta = np.asarray(changed, dtype=np.float32) - original
    return (original + apply_conditions(delta, rate, steps)).astype(np.float32)


def history_bandwidth(history: Sequence[str]) -> float | None:
    """The highest frequency (Hz) a history leaves: its lowest low-pass, or half its lowest resampling or codec
    encoder rate; None when nothing in it limits the band."""
    limits = []
    for spec in history:
        kind, value, encode_at = _parse(spec)
        if kind == "lowpass":
            limits.append(value)
        elif kind == "resample":
            limits.append(value / 2)
        elif encode_at is not None:
            limits.append(encode_at / 2)
    return min(limits) if limits else None


#: Effective bandwidths of real material (Hz; None = full band) and how often the demo draws each.
BANDWIDTHS: tuple[tuple[float | None, float], ...] = ((None, 0.35), (16000, 0.15), (11025, 0.15), (8000, 0.25),
                                                      (4000, 0.10))
#: Codec settings drawn after the band limit: (codec or None, compression levels, probability). ``"mp3@low"``
#: is MP3 encoded at a low rate (:data:`LOW_RATES`) at 8-24 kbps: voice memos, old uploads, low-quality streams;
#: its coarse quantisation leaves holes all over the spectrogram, and a detector that never saw it called 93-97 % of
#: such reals fake at 8 kbps (README, Benchmarks -> Detector).
CODEC_DRAWS: tuple[tuple[str | None, tuple[float, ...], float], ...] = (
    (None, (), 0.30), ("mp3", (0.5, 0.7, 0.9), 0.25), ("mp3@low", (0.9, 0.95, 0.99), 0.10),
    ("vorbis", (0.3, 0.6, 0.9), 0.15), ("opus", (0.5, 0.8, 0.9), 0.20),
)
#: Encoder rates of ``"mp3@low"`` (MPEG-2 and 2.5 layer III).
LOW_RATES = (8000, 11025, 16000, 22050, 24000)
#: Level treatments of web audio (``draw_history(..., levels=True)``): (kind or None, values, probability).
LEVEL_DRAWS: tuple[tuple[str | None, tuple[float, ...], float], ...] = (
    (None, (), 0.55), ("loudness", (-23.0, -16.0, -14.0, -9.0), 0.20), ("limit", (3.0, 6.0, 12.0), 0.15),
    ("clip", (0.0, 1.0, 3.0, 6.0), 0.10),
)


def _pick(rng: np.random.Generator, draws: tuple[tuple[str | None, tuple[float, ...], float], ...]) -> str | None:
    kinds, values, p = zip(*draws, strict=True)
    i = int(rng.choice(len(kinds), p=np.asarray(p) / sum(p)))
    return None if kinds[i] is None else f"{kinds[i]}:{float(rng.choice(values[i]))}"


def draw_history(rng: np.random.Generator, rate: int, levels: bool = False) -> list[str]:
    """A seeded, plausible processing history for one real recording (band limit, resampling, codec, downmix,
    DC). With ``levels`` a level treatment (:data:`LEVEL_DRAWS`: loudness normalisation, limiting, clipping)
    may come before the codec, as an upload is mastered and then encoded; without it level is left to the
    caller, which knows the clip's peak (the draws are then exactly those of earlier versions)."""
    history: list[str] = []
    bands, p = zip(*BANDWIDTHS, strict=True)
    band = bands[int(rng.choice(len(bands), p=np.asarray(p) / sum(p)))]
    if band is not None and 2 * band < rate:
        history.append(f"lowpass:{int(band)}")
    if rng.random() < 0.15:
        history.append(f"resample:{int(rng.choice([22050, 24000, 44100, 48000]))}")
    if rng.random() < 0.15:
        history.append(f"downmix:{int(rng.integers(2, 24))}")
    if levels and (level := _pick(rng, LEVEL_DRAWS)) is not None:
        history.append(level)
    if (codec := _pick(rng, CODEC_DRAWS)) is not None:
        kind, _, level = codec.partition(":")
        if kind == "mp3@low":  # the encoder rate is drawn as well
            codec = f"mp3:{level}@{int(rng.choice(LOW_RATES))}"
        history.append(codec)
    if rng.random() < 0.10:
        history.append(f"dc:{float(rng.choice([-1, 1]) * rng.uniform(0.002, 0.02)):.4f}")
    return history


__all__ = ["KINDS", "LEVEL_KINDS", "apply_condition", "apply_conditions", "band_limit", "codec_round_trip",
           "draw_history", "encoder_rate", "hard_clip", "history_bandwidth", "loudness_normalise", "parse_condition",
           "peak_limit", "shape_change"]
