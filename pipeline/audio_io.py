"""Audio I/O: decode anything soundfile reads to mono float32, resample with soxr, write PCM atomically.

Real clips and fakes go through exactly the same decode -> resample -> quantise -> encode path,
so no codec or sample-rate cue separates them.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from pipeline.atomic import atomic_path
from pipeline.errors import RejectedInput

PCM16_SCALE = 32768.0
WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def _decode(source: Path | io.BytesIO) -> tuple[np.ndarray, int]:
    """Decode a file or in-memory bytes; only the error message depends on which."""
    try:
        data, sr = sf.read(source if isinstance(source, io.BytesIO) else str(source), dtype="float32",
                           always_2d=True)
        return data, int(sr)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        sf_error = str(err).splitlines()[0] if str(err) else type(err).__name__
        sf_error = re.sub(r"^Error opening <_io\.BytesIO object at \w+>: ", "", sf_error)  # no memory address
    if shutil.which("ffmpeg"):  # pydub/ffmpeg decode formats this libsndfile lacks
        try:
            from pydub import AudioSegment

            if isinstance(source, io.BytesIO):
                source.seek(0)
            seg = AudioSegment.from_file(source if isinstance(source, io.BytesIO) else str(source))
            buf = io.BytesIO()
            seg.export(buf, format="wav")
            buf.seek(0)
            data, sr = sf.read(buf, dtype="float32", always_2d=True)
            return data, int(sr)
        except Exception as err:
            sf_error = f"{sf_error}; ffmpeg: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
    raise RejectedInput("<bytes>" if isinstance(source, io.BytesIO) else str(source),
                        f"cannot decode audio ({sf_error})")


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average channels (frames x channels -> frames)."""
    return data.mean(axis=1, dtype=np.float64).astype(np.float32) if data.ndim == 2 else data.astype(np.float32)


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Deterministic high-quality resampling (soxr VHQ); identity when the rates match."""
    if sr_in == sr_out:
        return np.asarray(audio, dtype=np.float32)
    return soxr.resample(np.asarray(audio, dtype=np.float32), sr_in, sr_out, quality="VHQ").astype(np.float32)


def check_finite(audio: np.ndarray, item: str) -> None:
    """Reject empty or non-finite audio with a one-line reason."""
    if audio.size == 0:
        raise RejectedInput(item, "audio is empty (0 samples)")
    if not np.isfinite(audio).all():
        raise RejectedInput(item, "audio contains NaN or Inf samples")


def read_audio(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read ``path`` as mono float32, resampled to ``sample_rate`` when given.

    Raises :class:`RejectedInput` naming the file for missing, undecodable, empty or
    non-finite audio.
    """
    path = Path(path)
    if not path.is_file():
        raise RejectedInput(str(path), "file not found")
    return _mono_at_rate(*_decode(path), str(path), sample_rate)


def read_audio_bytes(data: bytes, item: str, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """:func:`read_audio` for encoded audio held in memory (e.g. a ``datasets`` Audio cell); ``item`` names it
    in rejections."""
    if not data:
        raise RejectedInput(item, "audio is empty (0 bytes)")
    try:
        decoded = _decode(io.BytesIO(data))
    except RejectedInput as err:
        raise RejectedInput(item, err.reason) from None
    return _mono_at_rate(*decoded, item, sample_rate)


def _mono_at_rate(data: np.ndarray, sr: int, item: str, sample_rate: int | None) -> tuple[np.ndarray, int]:
    audio = to_mono(data)
    check_finite(audio, item)
    if sample_rate is not None:
        audio = resample(audio, sr, sample_rate)
        sr = sample_rate
    return audio, sr


def quantize_pcm16(audio: np.ndarray) -> np.ndarray:
    """Round float audio onto the 16-bit grid (values k / 32768), clipping to the PCM range.

    A quantised array is written and read back bit-exactly, so splices made from it stay
    bit-identical to the real clip outside the region after encoding.
    """
    ints = np.clip(np.round(np.asarray(audio, dtype=np.float64) * PCM16_SCALE), -32768, 32767)
    return (ints / PCM16_SCALE).astype(np.float32)


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono audio as 16-bit WAV or FLAC (by suffix), atomically. Returns the path."""
    path = Path(path)
    fmt = WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unsupported output format (use .wav or .flac)")
    check_finite(np.asarray(audio), str(path))
    ints = np.clip(np.round(np.asarray(audio, dtype=np.float64) * PCM16_SCALE), -32768, 32767).astype(np.int16)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), ints, sample_rate, format=fmt, subtype="PCM_16")
    return path


def audio_info(path: str | Path) -> tuple[int, int, int]:
    """(sample rate, frames, channels) from the header without decoding."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise RejectedInput(str(path), f"cannot read audio header ({str(err).splitlines()[0]})") from err
    return int(info.samplerate), int(info.frames), int(info.channels)
