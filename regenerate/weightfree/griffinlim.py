"""Vocoder-style resynthesis with no weights: log-mel analysis, then Griffin-Lim back to audio.

The region (with up to ``n_fft`` samples of real context on each side, so that its edges are
well-formed) is turned into a log-mel spectrogram, the linear magnitude is recovered from the mel
by non-negative least squares (pseudo-inverse start, multiplicative updates), and the phase is
estimated by fast Griffin-Lim (momentum, seeded random initial phase). The output is cropped to
exactly the region. Pure numpy / scipy.fft, float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft
import scipy.sparse
from threadpoolctl import threadpool_limits

from pipeline.errors import RejectedInput
from regenerate.base import RegionRequest, RegionResult, SingleRegenerator
from regenerate.configs import VocoderConfig
from regenerate.weightfree.common import region_span, request_rng

LOG_FLOOR = 1e-5
_EPS = 1e-8


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    return np.where(hz < 1000.0, linear, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0))


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel < 15.0, mel * (200.0 / 3), 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0)))


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Triangular, area-normalised (Slaney) mel filters, shape (n_mels, n_fft // 2 + 1)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None] - lower) / (centre - lower)
    falling = (upper - freqs[None]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (upper - lower))


class Stft:
    """Centred STFT and its least-squares inverse (periodic Hann window, overlap-add), float32.

    ``analyse``/``synthesise`` work on the padded signal (``n_fft // 2`` samples each side), so
    Griffin-Lim iterates without re-padding; ``forward``/``inverse`` add and remove the padding.
    """

    def __init__(self, n_fft: int, hop: int):
        if n_fft % hop:
            raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop ({hop})")
        self.n_fft, self.hop, self.ratio = n_fft, hop, n_fft // hop
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        self._envelopes: dict[int, np.ndarray] = {}

    def analyse(self, padded: np.ndarray) -> np.ndarray:
        """Spectrogram (frames, bins) of an already padded signal."""
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft)[:: self.hop]
        return scipy.fft.rfft(frames * self.window, axis=1)

    def _overlap_add(self, frames: np.ndarray) -> np.ndarray:
        n = len(frames)
        blocks = np.zeros((n + self.ratio - 1, self.hop), dtype=np.float32)
        parts = frames.reshape(n, self.ratio, self.hop)
        for j in range(self.ratio):
            blocks[j : j + n] += parts[:, j]
        return blocks.reshape(-1)

    def synthesise(self, spec: np.ndarray) -> np.ndarray:
        """Padded signal whose STFT is closest (least squares) to ``spec``."""
        n = len(spec)
        if n not in self._envelopes:
            squares = np.broadcast_to(np.square(self.window), (n, self.n_fft))
            self._envelopes[n] = 1.0 / np.maximum(self._overlap_add(squares), _EPS)
        frames = scipy.fft.irfft(spec, n=self.n_fft, axis=1) * self.window
        return self._overlap_add(frames) * self._envelopes[n]

    def pad(self, audio: np.ndarray) -> np.ndarray:
        half = self.n_fft // 2
        mode = "reflect" if len(audio) > half else "constant"
        return np.pad(np.asarray(audio, dtype=np.float32), half, mode=mode)

    def forward(self, audio: np.ndarray) -> np.ndarray:
        """Complex spectrogram of ``audio``, shape (1 + len // hop, n_fft // 2 + 1)."""
        return self.analyse(self.pad(audio))

    def inverse(self, spec: np.ndarray, length: int) -> np.ndarray:
        """Inverse of :meth:`forward`, ``length`` samples."""
        half = self.n_fft // 2
        return self.synthesise(spec)[half : half + length]


def mel_to_linear(mel: np.ndarray, filters: Any, pinv: np.ndarray, updates: int) -> np.ndarray:
    """Non-negative magnitude ``S`` (frames, bins) with ``S @ filters.T`` close to ``mel`` (frames, n_mels).

    ``filters`` (n_mels, bins) may be dense or scipy-sparse (each bin feeds at most two filters).
    """
    linear = np.maximum(mel @ pinv.T, _EPS)
    target = (filters.T @ mel.T).T
    for _ in range(updates):  # multiplicative NNLS updates (Lee & Seung), keep S >= 0
        linear *= target / np.maximum((filters.T @ (filters @ linear.T)).T, _EPS)
    return linear


def griffin_lim(
    magnitude: np.ndarray, stft: Stft, length: int, iters: int, rng: np.random.Generator, momentum: float = 0.99
) -> tuple[np.ndarray, float]:
    """Fast Griffin-Lim (Perraudin et al.): ``length`` samples whose STFT magnitude approaches ``magnitude``.

    Also returns the spectral convergence ``||  |STFT(y)| - magnitude || / ||magnitude||`` reached.
    """
    magnitude = magnitude.astype(np.float32)
    phase = np.float32(2 * np.pi) * rng.random(magnitude.shape, dtype=np.float32)
    spec = np.empty(magnitude.shape, dtype=np.complex64)
    spec.real, spec.imag = magnitude * np.cos(phase), magnitude * np.sin(phase)
    keep = np.float32(-momentum / (1.0 + momentum))
    previous = np.zeros_like(spec)
    for _ in range(iters):
        rebuilt = stft.analyse(stft.synthesise(spec))
        # in place (complex64 temporaries are slow): spec = magnitude * phase(rebuilt - m / (1 + m) * previous)
        previous *= keep
        previous += rebuilt
        previous *= magnitude / (np.abs(previous) + np.float32(1e-16))
        spec, previous = previous, rebuilt
    audio = stft.inverse(spec, length)
    reached = np.abs(stft.forward(audio))
    convergence = float(np.linalg.norm(reached - magnitude) / max(float(np.linalg.norm(magnitude)), _EPS))
    return audio, convergence


class GriffinLimRegenerator(SingleRegenerator):
    """``manipulation="vocoder"``: rebuild the region from its log-mel spectrogram by Griffin-Lim."""

    manipulation = "vocoder"
    name = "griffin-lim"

    def __init__(self, config: VocoderConfig = VocoderConfig()):  # noqa: B008 - frozen, so sharing it is safe
        self.config = config
        self.stft = Stft(config.n_fft, config.hop)
        self.n_mels, self.iters, self.nnls_updates = config.n_mels, config.iters, config.nnls_updates
        self._filters: dict[int, tuple[Any, np.ndarray]] = {}

    def filters(self, sample_rate: int) -> tuple[Any, np.ndarray]:
        """(mel filterbank as a sparse matrix, its dense pseudo-inverse) at ``sample_rate``, float32, cached."""
        if sample_rate not in self._filters:
            bank = mel_filterbank(sample_rate, self.stft.n_fft, self.n_mels)
            sparse = scipy.sparse.csr_array(bank.astype(np.float32))
            self._filters[sample_rate] = (sparse, np.linalg.pinv(bank).astype(np.float32))
        return self._filters[sample_rate]

    def log_mel(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Natural-log mel magnitude spectrogram (frames, n_mels), floored at ``LOG_FLOOR``."""
        bank, _ = self.filters(sample_rate)
        return np.log(np.maximum((bank @ np.abs(self.stft.forward(audio)).T).T, LOG_FLOOR))

    def regenerate(self, request: RegionRequest) -> RegionResult:
        # One BLAS thread: multi-threaded BLAS sums in a different order, and the corpus must be
        # byte-identical whether it is built on threads or on single-threaded Dask workers.
        with threadpool_limits(limits=1):
            return self._regenerate(request)

    def _regenerate(self, request: RegionRequest) -> RegionResult:
        start, stop = region_span(request)
        n_fft = self.stft.n_fft
        ctx_start, ctx_stop = max(0, start - n_fft), min(len(request.audio), stop + n_fft)
        context = np.asarray(request.audio[ctx_start:ctx_stop], dtype=np.float32)
        if not np.isfinite(context).all():
            raise RejectedInput(request.clip_id, "region audio contains NaN or Inf samples")
        bank, pinv = self.filters(request.sample_rate)
        mel = np.exp(self.log_mel(context, request.sample_rate))
        magnitude = mel_to_linear(mel, bank, pinv, self.nnls_updates).astype(np.float32)
        rng = request_rng(self.name, request)
        audio, convergence = griffin_lim(magnitude, self.stft, len(context), self.iters, rng)
        region = audio[start - ctx_start : stop - ctx_start].astype(np.float32)
        info = {
            "vocoder": "griffin-lim",
            "n_fft": n_fft,
            "hop": self.stft.hop,
            "n_mels": self.n_mels,
            "griffin_lim_iters": self.iters,
            "spectral_convergence": round(convergence, 4),
        }
        return RegionResult(audio=region, sample_rate=request.sample_rate, info=info)
