"""What the pages draw: waveform peaks, a spectrogram image, and a detector's frame scores (computed once, cached).

Everything is computed on the server from the clip's own audio so the page needs no audio decoding and no
third-party script; images are plain PNGs the browser stretches to its canvas.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import threading
from pathlib import Path

import numpy as np
from scipy import signal

from pipeline.atomic import atomic_write_text
from pipeline.audio_io import read_audio

PEAK_COLUMNS = 800
SPECTROGRAM_DB_RANGE = 80.0


def waveform_peaks(wave: np.ndarray, columns: int = PEAK_COLUMNS) -> list[list[float]]:
    """``[min, max]`` of each of ``columns`` equal slices of ``wave`` (fewer when the clip is shorter)."""
    columns = max(1, min(columns, len(wave)))
    edges = np.linspace(0, len(wave), columns + 1).astype(np.int64)
    return [[round(float(wave[a:b].min()), 4), round(float(wave[a:b].max()), 4)]
            for a, b in itertools.pairwise(edges) if b > a]


def spectrogram_png(wave: np.ndarray, sample_rate: int) -> bytes:
    """A log-power spectrogram (low frequencies at the bottom) as a PNG covering exactly the clip's duration."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import image

    nperseg = 512 if sample_rate >= 22050 else 256
    _, _, spec = signal.spectrogram(wave, fs=sample_rate, nperseg=min(nperseg, len(wave)),
                                    noverlap=min(nperseg, len(wave)) * 3 // 4, mode="psd")
    db = 10 * np.log10(spec + 1e-12)
    top = float(db.max())
    db = np.clip(db, top - SPECTROGRAM_DB_RANGE, top)
    buf = io.BytesIO()
    image.imsave(buf, db, cmap="magma", origin="lower", format="png")
    return buf.getvalue()


def clip_media(path: Path) -> dict[str, object]:
    """Duration, sample rate and waveform peaks of an audio file."""
    wave, sr = read_audio(path)
    return {"duration": len(wave) / sr, "sample_rate": sr, "peaks": waveform_peaks(wave)}


class DetectorScores:
    """A checkpoint's frame scores per clip, computed on first request and kept in memory and on disk.

    The disk cache is keyed by the checkpoint files (names, sizes, times) and the clip's audio hash, so a retrained
    checkpoint or a rebuilt clip is never served stale scores.
    """

    def __init__(self, checkpoint: str | Path, cache_dir: str | Path, device: str = "auto"):
        self.checkpoint = Path(checkpoint)
        self.cache_dir = Path(cache_dir) / _checkpoint_key(self.checkpoint)
        self.device = device
        self._detector = None
        self._lock = threading.Lock()
        self._memory: dict[str, dict] = {}

    def _load(self):
        if self._detector is None:
            from detector.inference import Detector

            self._detector = Detector.from_checkpoint(self.checkpoint, device=self.device)
        return self._detector

    def scores(self, clip_key: str, audio: Path) -> dict:
        """``{score, is_fake, threshold, frame_s, frame_scores, regions}`` for one clip."""
        with self._lock:  # one inference at a time; a second request for the same clip waits and hits the cache
            if clip_key in self._memory:
                return self._memory[clip_key]
            cached = self.cache_dir / f"{clip_key}.json"
            if cached.is_file():
                result = json.loads(cached.read_text())
            else:
                from pipeline.timemath import DEFAULT_FRAME_S

                detector = self._load()
                d = detector.detect_file(audio)
                result = {"score": d.score, "is_fake": d.is_fake, "threshold": detector.threshold,
                          "frame_s": DEFAULT_FRAME_S, "frame_scores": [round(float(x), 4) for x in d.frame_scores],
                          "regions": [[a, b, s] for a, b, s in d.regions]}
                atomic_write_text(cached, json.dumps(result))
            self._memory[clip_key] = result
            return result


def _checkpoint_key(checkpoint: Path) -> str:
    """A short hash of the checkpoint folder's files (names, sizes, modification times)."""
    h = hashlib.sha256()
    files = sorted(p for p in checkpoint.rglob("*") if p.is_file()) if checkpoint.is_dir() else [checkpoint]
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(checkpoint) if checkpoint.is_dir() else p.name}:{st.st_size}:{st.st_mtime_ns}"
                 .encode())
    return h.hexdigest()[:16]
