"""AudioSRUpsampler: any-rate mono audio -> 48 kHz audio with regenerated high frequencies."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from diffusers import DDIMScheduler

from pipeline.audio_io import resample
from pipeline.devices import resolve_device
from pipeline.splice import fit_length
from regenerate.audiosr import features as F
from regenerate.audiosr.chunking import overlap_add, plan_chunks
from regenerate.audiosr.config import audiosr_config
from regenerate.audiosr.convert import convert_official_state_dict
from regenerate.audiosr.loading import AudioSRLoadError, read_checkpoint, resolve_checkpoint
from regenerate.audiosr.model import AudioSRModel, build_scheduler
from regenerate.audiosr.sampling import DEFAULT_ETA, MAX_STEPS, sample_latents, unconditional_like
from regenerate.ddim import FixedNoise, RowNoise

NoiseSource = RowNoise | FixedNoise

CHUNK_SECONDS = 10.24  # the training length; longer inputs are chunked
OVERLAP_SECONDS = 1.28
SILENCE_PEAK = 1e-6


def chunk_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th chunk: chunks are independent, so a chunk's output never depends on its neighbours."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, index]).generate_state(1)[0])


class AudioSRUpsampler:
    """AudioSR super-resolution (official ``basic``/``speech`` weights or any config), components kept separate.

    Per 10.24 s chunk, as upstream: peak-normalise, pad to 5.12 s multiples, estimate the band limit, low-pass the
    input there (conditioning), DDIM-sample a latent conditioned on the low-pass mel's VAE latent with classifier-free
    guidance, decode to mel, keep the conditioning mel below its cutoff, vocode, replace the STFT bands below the
    cutoff by the input's, then restore the input's level. Chunks are crossfaded (overlap-add).

    ``low_band_source="input"`` (default) takes the replaced low band from the input itself. Upstream takes it from
    its randomly drawn low-pass conditioning signal (``"lowpass"``), whose Bessel draw attenuates the passband by
    ~11 dB at half the cutoff; a splice needs the real band.
    """

    sample_rate = F.SAMPLE_RATE

    def __init__(
        self,
        model: AudioSRModel,
        scheduler: DDIMScheduler | None = None,
        device: str = "auto",
        dtype: torch.dtype | None = None,
        chunk_seconds: float = CHUNK_SECONDS,
        overlap_seconds: float = OVERLAP_SECONDS,
        low_band_source: Literal["input", "lowpass"] = "input",
    ):
        if low_band_source not in ("input", "lowpass"):
            raise ValueError(f"low_band_source must be 'input' or 'lowpass', got {low_band_source!r}")
        self.low_band_source = low_band_source
        self.device = resolve_device(device)
        self.dtype = dtype or (torch.float16 if self.device.type == "cuda" else torch.float32)
        # Only the UNet runs in ``dtype``; VAE, condition encoder, vocoder and ``scale_factor`` stay float32 as
        # upstream runs them (fp16 overflows there, and fp16 rounding in the vocoder is a learnable artefact).
        self.model = model.to(self.device, torch.float32).eval()
        self.model.unet.to(self.dtype)
        self.scheduler = scheduler or build_scheduler(model.config)
        self.chunk = round(chunk_seconds * self.sample_rate)
        self.overlap = round(overlap_seconds * self.sample_rate)

    @classmethod
    def from_config(
        cls,
        config: dict[str, Any] | None = None,
        device: str = "auto",
        dtype: torch.dtype | None = None,
        seed: int = 0,
        **options: Any,
    ) -> AudioSRUpsampler:
        """Randomly initialised model of ``config`` (default: published architecture), for tests and timing.

        ``options`` go to the constructor (``chunk_seconds``, ``overlap_seconds``, ``low_band_source``)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AudioSRModel(config or audiosr_config())
        return cls(model, device=device, dtype=dtype, **options)

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str = "basic",
        device: str = "auto",
        dtype: torch.dtype | None = None,
        config: dict[str, Any] | None = None,
        **options: Any,
    ) -> AudioSRUpsampler:
        """Official checkpoint by hub id (``haoheliu/audiosr_basic``, ``haoheliu/audiosr_speech``, or ``basic`` /
        ``speech``), local folder or ``pytorch_model.bin`` path. Raises :class:`AudioSRLoadError` with what to do.

        ``config`` defaults to the published architecture; ``options`` go to the constructor."""
        path = resolve_checkpoint(id_or_path)
        config = config or audiosr_config()
        official = read_checkpoint(path)
        try:
            converted, _ = convert_official_state_dict(official, config)
        except ValueError as err:
            raise AudioSRLoadError(f"{path}: {err}") from err
        with torch.device("meta"):
            model = AudioSRModel(config)
        result = model.load_state_dict(converted, strict=False, assign=True)
        if result.missing_keys or result.unexpected_keys:
            raise AudioSRLoadError(
                f"{path}: not an AudioSR checkpoint for this config "
                f"(missing {result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]})"
            )
        scheduler = build_scheduler(config)
        _check_schedule(official, scheduler, path)
        return cls(model, scheduler, device=device, dtype=dtype, **options)

    # ------------------------------------------------------------------ inference

    def upsample(
        self,
        audio: np.ndarray,
        sample_rate: int,
        seed: int,
        steps: int = 50,
        guidance: float = 3.5,
        eta: float = DEFAULT_ETA,
    ) -> np.ndarray:
        """Mono ``audio`` at ``sample_rate`` -> float32 mono at 48 kHz with the same duration."""
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"AudioSR expects mono 1-D audio, got shape {audio.shape}")
        if audio.size == 0 or not np.isfinite(audio).all():
            raise ValueError("AudioSR input is empty or has NaN/Inf samples")
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be in 1..{MAX_STEPS}, got {steps}")
        target = round(len(audio) * self.sample_rate / sample_rate)
        wave = fit_length(resample(audio, sample_rate, self.sample_rate), target)
        spans = plan_chunks(target, self.chunk, self.overlap)
        pieces = [
            self.upsample_chunk(wave[start:stop], chunk_seed(seed, i), steps, guidance, eta)
            for i, (start, stop) in enumerate(spans)
        ]
        return overlap_add(pieces, spans, target, self.overlap) if len(spans) > 1 else pieces[0]

    @torch.no_grad()
    def upsample_chunk(self, wave: np.ndarray, seed: int, steps: int, guidance: float, eta: float) -> np.ndarray:
        """One chunk (<= 10.24 s recommended) at 48 kHz -> the same number of samples."""
        normalized, level = F.normalize_for_model(wave)
        if level.peak < SILENCE_PEAK:
            return np.full(len(wave), level.offset, dtype=np.float32)
        padded = F.pad_to_segments(normalized)
        lowpass_type = str(np.random.default_rng(seed).choice(F.LOWPASS_TYPES))
        noise = RowNoise([torch.Generator().manual_seed(seed)], self.device)
        generated = self.generate(padded, lowpass_type, noise, steps, guidance, eta)
        return F.restore_level(generated[: len(wave)], level)

    @torch.no_grad()
    def generate(
        self, padded: np.ndarray, lowpass_type: str, noise: NoiseSource, steps: int, guidance: float, eta: float
    ) -> np.ndarray:
        """Upstream ``generate_batch`` on one normalised chunk padded to 5.12 s multiples, before the output level
        is set: cutoff, low-pass condition (``lowpass_type`` filter), conditioning latent (a posterior sample),
        guided v-prediction DDIM, decode, mel band replacement, vocoder, STFT band replacement.

        ``noise`` gives the posterior sample's noise, the initial latent, then each step's noise, in that order."""
        feats = F.extract_features(torch.from_numpy(padded)[None].to(self.device))
        cutoff_hz = F.estimate_cutoff_hz(feats.magnitude[0])
        lowpassed = F.lowpass_condition(padded, cutoff_hz, lowpass_type)
        lowpass_mel = F.extract_features(torch.from_numpy(lowpassed)[None].to(self.device)).log_mel

        mel = self._generate_mel(lowpass_mel, noise, steps, guidance, eta)
        mel = F.replace_low_mel_bins(mel, lowpass_mel)
        generated = self.model.vocoder(mel[:, 0].float()).float()[0, : len(padded)].cpu().numpy()
        generated, _ = F.replace_low_band(generated, padded if self.low_band_source == "input" else lowpassed)
        return generated

    def _generate_mel(
        self, lowpass_mel: torch.Tensor, noise: NoiseSource, steps: int, guidance: float, eta: float
    ) -> torch.Tensor:
        """Low-pass log-mel ``[B, frames, mels]`` -> generated log-mel ``[B, 1, frames, mels]`` (float32)."""
        model, scale = self.model, float(self.model.scale_factor)
        posterior = model.cond_encoder(lowpass_mel[:, None].float())
        eps = noise.draw(tuple(posterior.mean.shape[1:]))
        cond = (posterior.mean + posterior.std * eps).float() * scale
        latents = sample_latents(
            model.unet, self.scheduler, cond, unconditional_like(cond, scale),
            steps=steps, guidance=guidance, noise=noise, eta=eta,
        )  # fmt: skip
        return model.vae.decode((latents / scale).float()).sample.float()


def _check_schedule(official: dict[str, torch.Tensor], scheduler: DDIMScheduler, path: object) -> None:
    """The checkpoint's own ``alphas_cumprod`` must be the schedule we sample with (catches a wrong config)."""
    stored = official.get("alphas_cumprod")
    if stored is None:
        return
    ours = scheduler.alphas_cumprod
    if stored.shape != ours.shape or not torch.allclose(stored.float(), ours, atol=1e-5):
        raise AudioSRLoadError(f"{path}: checkpoint's diffusion schedule differs from the configured cosine schedule")
