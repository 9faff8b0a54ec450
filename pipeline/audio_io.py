"""Audio I/O: decode anything soundfile reads to mono float32, resample with soxr, write PCM atomically.

Real clips and fakes go through exactly the same decode -> resample -> quantise -> encode path,
so no codec or sample-rate cue separates them.
"""

from __future__ import annotations

import errno
import io
import os
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
#: libsndfile's log line for a WAV whose data chunk is shorter than its header says.
_SHORT_DATA_RE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
#: Data sizes streaming writers put in a header when the length is unknown (not a truncation).
_STREAMING_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF}
#: Decoded frames may fall short of a compressed header's count by codec padding (mp3: ~2 frames of 1152).
_CODEC_SLACK_FRAMES = 4096


def _libsndfile_reason(err: Exception) -> str:
    """libsndfile's message without the "Error opening '<path>': " prefix (the caller names the file);
    its "does not exist or is not a regular file" for an existing file means no decoder took it."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    text = re.sub(r"^Error opening (?:'.*?'|<_io\.BytesIO object at \w+>): ", "", text).strip()  # no address
    if text.startswith("File does not exist or is not a regular file"):
        return "format not recognised"
    return text.rstrip(".")


def _decode(source: Path | io.BytesIO) -> tuple[np.ndarray, int]:
    """Decode a file or in-memory bytes; only the error message depends on which."""
    try:
        data, sr = sf.read(source if isinstance(source, io.BytesIO) else str(source), dtype="float32",
                           always_2d=True)
        return data, int(sr)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as err:
        sf_error = _libsndfile_reason(err)
    # pydub/ffmpeg decode formats this libsndfile lacks (AAC, WMA, ...); a format libsndfile knows but cannot decode
    # (a truncated or corrupt FLAC, Ogg, MP3) is bad data, rejected the same with or without ffmpeg installed
    if sf_error.lower().startswith("format not recognised") and shutil.which("ffmpeg"):
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


def _truncation(path: Path, decoded_frames: int) -> str | None:
    """Why the decoded audio is shorter than the file's header promises, or None."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        return None
    short = _SHORT_DATA_RE.search(info.extra_info or "")
    if short and int(short.group(1)) not in _STREAMING_SIZES and int(short.group(2)) < int(short.group(1)):
        return f"truncated file: data chunk holds {short.group(2)} of {short.group(1)} bytes"
    expected = int(info.frames)
    if 0 < expected < 2**62 and decoded_frames < expected - max(_CODEC_SLACK_FRAMES, expected // 100):
        return f"truncated file: decoded {decoded_frames} of the {expected} frames its header announces"
    return None


def check_audio_path(path: Path) -> None:
    """Missing, dangling or looping symlinks and folders are rejected before any decoder sees them."""
    if path.is_symlink() and not path.exists():
        try:
            os.stat(path)
        except OSError as err:
            reason = "symlink loop" if err.errno == errno.ELOOP else "broken symlink (its target does not exist)"
            raise RejectedInput(str(path), reason) from None
    if path.is_dir():
        raise RejectedInput(str(path), "is a directory, not an audio file")
    if not path.is_file():
        raise RejectedInput(str(path), "file not found")


def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode every frame of ``path`` as float32 ``(frames, channels)``; checked, never partial.

    Raises :class:`RejectedInput` naming the file for a missing file, a folder, a broken or
    looping symlink, undecodable or truncated data, no samples, or NaN/Inf samples.
    """
    path = Path(path)
    check_audio_path(path)
    data, sr = _decode(path)
    check_finite(data, str(path))
    truncated = _truncation(path, len(data))
    if truncated:
        raise RejectedInput(str(path), truncated)
    return data, sr


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

    Raises :class:`RejectedInput` as :func:`decode_audio` does.
    """
    data, sr = decode_audio(path)
    return _mono_at_rate(data, sr, str(path), sample_rate)


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
    encoded = io.BytesIO()  # encode in memory, so a full disk surfaces as the OS's ENOSPC, not libsndfile's
    sf.write(encoded, ints, sample_rate, format=fmt, subtype="PCM_16")  # "System error." (same bytes either way)
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.getvalue())
    return path


def audio_info(path: str | Path) -> tuple[int, int, int]:
    """(sample rate, frames, channels) from the header without decoding."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise RejectedInput(str(path), f"cannot read audio header ({_libsndfile_reason(err)})") from err
    return int(info.samplerate), int(info.frames), int(info.channels)
