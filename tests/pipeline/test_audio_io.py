import numpy as np
import pytest
import soundfile as sf

from pipeline.audio_io import quantize_pcm16, read_audio, resample, write_audio
from pipeline.errors import RejectedInput


def _tone(rate, seconds=1.0, channels=1):
    t = np.arange(int(rate * seconds)) / rate
    x = 0.4 * np.sin(2 * np.pi * 440 * t)
    return np.stack([x, 0.5 * x], axis=1)[:, :channels] if channels > 1 else x


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype"),
    [(".wav", "WAV", "PCM_16"), (".wav", "WAV", "PCM_24"), (".flac", "FLAC", "PCM_24"), (".ogg", "OGG", "VORBIS"),
     (".mp3", "MP3", "MPEG_LAYER_III"), (".wav", "WAV", "FLOAT")],
)
def test_reads_formats_and_depths(tmp_path, suffix, fmt, subtype):
    path = tmp_path / f"x{suffix}"
    sf.write(path, _tone(32000), 32000, format=fmt, subtype=subtype)
    audio, rate = read_audio(path)
    assert rate == 32000 and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 32000) < 3000  # mp3 adds encoder delay/padding
    assert 0.3 < np.abs(audio).max() < 0.5


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_odd_rates_resampled_exactly(tmp_path, rate):
    path = tmp_path / "odd.wav"
    sf.write(path, _tone(rate, 2.0), rate, subtype="PCM_16")
    audio, out_rate = read_audio(path, sample_rate=32000)
    assert out_rate == 32000 and len(audio) == 64000
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 32000 / len(audio) - 440) < 1.0


def test_stereo_is_mixed_to_mono(tmp_path):
    path = tmp_path / "st.wav"
    sf.write(path, _tone(16000, 1.0, channels=2), 16000, subtype="FLOAT")
    audio, _ = read_audio(path)
    np.testing.assert_allclose(audio, 0.75 * _tone(16000), atol=1e-6)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b"RIFF\x00\x00garbage-not-audio" * 10), "cannot decode"),
        (lambda p: sf.write(p, np.zeros(0), 16000), "empty"),
        (lambda p: sf.write(p, np.array([0.1, np.nan, 0.2] * 100), 16000, subtype="FLOAT"), "NaN or Inf"),
        (lambda p: sf.write(p, np.array([0.1, np.inf, 0.2] * 100), 16000, subtype="FLOAT"), "NaN or Inf"),
        (lambda p: p.write_bytes(b""), "cannot decode"),
    ],
    ids=["corrupt", "empty", "nan", "inf", "zero-bytes"],
)
def test_bad_audio_is_rejected_with_one_line_naming_the_file(tmp_path, make, reason):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(RejectedInput) as err:
        read_audio(path)
    assert reason in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file_rejected(tmp_path):
    with pytest.raises(RejectedInput, match="file not found"):
        read_audio(tmp_path / "nope.flac")


def test_write_is_bit_exact_for_quantized_audio_and_atomic(tmp_path, real_clip):
    audio, rate = real_clip
    q = quantize_pcm16(audio * 0.9)
    for suffix in (".wav", ".flac"):
        path = write_audio(tmp_path / f"q{suffix}", q, rate)
        back, _ = read_audio(path)
        assert np.array_equal(back, q)
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(RejectedInput):
        write_audio(tmp_path / "nan.wav", np.array([np.nan], dtype=np.float32), rate)
    assert not (tmp_path / "nan.wav").exists() and not list(tmp_path.glob("*.part"))


def test_quantize_is_idempotent_and_clips():
    x = np.array([-2.0, -1.0, -0.3, 0.0, 0.12345, 0.99999, 1.5], dtype=np.float32)
    q = quantize_pcm16(x)
    assert np.array_equal(quantize_pcm16(q), q)
    assert q.min() == -1.0 and q.max() == 32767 / 32768


def test_resample_identity_and_length():
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    assert resample(x, 16000, 16000) is not None and np.array_equal(resample(x, 16000, 16000), x)
    assert len(resample(x, 16000, 48000)) == 48000 and len(resample(x, 16000, 22050)) == 22050


def test_ffmpeg_is_tried_only_for_formats_libsndfile_does_not_know(tmp_path, monkeypatch):
    """A truncated FLAC is bad data, rejected the same whether ffmpeg is installed or not (ffmpeg would decode the
    first half and the reason would change); bytes libsndfile does not recognise go on to ffmpeg."""
    from pipeline import audio_io

    flac = tmp_path / "x.flac"
    sf.write(flac, _tone(16000, 4.0), 16000, subtype="PCM_16")
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    unknown = tmp_path / "x.m4a"
    unknown.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)))
    reasons = {}
    for ffmpeg in (None, "/usr/bin/ffmpeg"):
        monkeypatch.setattr(audio_io.shutil, "which", lambda name, found=ffmpeg: found)
        for path in (flac, unknown):
            with pytest.raises(RejectedInput) as err:
                read_audio(path)
            reasons[path.suffix, ffmpeg] = str(err.value).removeprefix(f"{path}: ")  # the reason, not the path
    assert reasons[".flac", None] == reasons[".flac", "/usr/bin/ffmpeg"]
    assert reasons[".flac", None].startswith("cannot decode audio") and "ffmpeg" not in reasons[".flac", None]
    assert "ffmpeg" not in reasons[".m4a", None] and "ffmpeg:" in reasons[".m4a", "/usr/bin/ffmpeg"]
