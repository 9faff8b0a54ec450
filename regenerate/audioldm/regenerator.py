"""The ``Regenerator`` over an AudioLDM/AudioLDM 2 inpainter (optionally followed by AudioSR), and its factory."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from pipeline.audio_io import resample
from pipeline.errors import ConfigError, RejectedInput
from pipeline.splice import fit_length
from pipeline.timemath import segment_to_samples
from regenerate.audioldm.clap_score import ClapScorer
from regenerate.audioldm.inpainter import InpaintOptions, LatentInpainter
from regenerate.base import RegionRequest, RegionResult
from regenerate.configs import DEBUG_CHECKPOINT, INPAINT_DEFAULTS, AudioSRConfig, InpaintConfig
from regenerate.debug_models import debug_clap_scorer, debug_inpainter, debug_upsampler

#: Context kept on each side of the region when it is sent through AudioSR.
AUDIOSR_CONTEXT_S = 1.0

if TYPE_CHECKING:
    from regenerate.recipes import Recipe


class Upsampler(Protocol):
    """What the AudioSR stage offers (``regenerate.audiosr.AudioSRUpsampler``)."""

    sample_rate: int

    def upsample(self, audio: np.ndarray, sample_rate: int, seed: int, steps: int) -> np.ndarray: ...


@dataclass(frozen=True)
class _Job:
    """One request, brought to the model's rate and cut to the window that is inpainted."""

    index: int
    window: np.ndarray  # at the model's rate
    start: int  # window start in the clip, samples at the model's rate
    region: tuple[float, float]  # seconds, relative to the window


class InpaintRegenerator:
    """Regenerates a region by latent inpainting of the clip (or a window around the region), batched."""

    manipulation = "inpainting"

    def __init__(
        self,
        inpainter: LatentInpainter,
        config: InpaintConfig,
        upsampler: Upsampler | None = None,
        audiosr: AudioSRConfig | None = None,
        scorer: ClapScorer | None = None,
    ):
        if (upsampler is None) != (audiosr is None):
            raise ValueError("audiosr (its config) and upsampler (the loaded model) go together")
        self.inpainter = inpainter
        self.name = inpainter.generator_name
        self.config = config
        self.checkpoint = str(config.checkpoint)
        self.steps, self.guidance, self.eta, self.margin_s = config.steps, config.guidance, config.eta, config.margin_s
        self.batch_size = config.batch_size
        self.upsampler = upsampler
        self.audiosr = None if audiosr is None else audiosr.checkpoint
        self.audiosr_steps = 0 if audiosr is None else audiosr.steps
        self.max_window_s = config.max_window_s
        if config.n_candidates > 1 and scorer is None:
            raise ValueError(f"n_candidates={config.n_candidates} needs a CLAP scorer (create_inpaint_regenerator "
                             "loads one)")
        self.options = InpaintOptions(config.n_candidates, scorer, config.posterior, config.final_reset)

    def info(self, seed: int) -> dict[str, Any]:
        """Manifest fields of one result."""
        return {
            "generator": self.name,
            "checkpoint": self.checkpoint,
            "steps": self.steps,
            "guidance": self.guidance,
            "eta": self.eta,
            "seed": int(seed),
            "margin_s": self.margin_s,
            "n_candidates": self.options.n_candidates,
            "clap": self.options.scorer.name if self.options.scorer else None,
            "posterior": self.options.posterior,
            "final_reset": self.options.final_reset,
            "audiosr": self.audiosr,
            "audiosr_steps": self.audiosr_steps if self.audiosr else None,
        }

    def regenerate(self, request: RegionRequest) -> RegionResult:
        return self.regenerate_batch([request])[0]

    def regenerate_batch(self, requests: Sequence[RegionRequest]) -> list[RegionResult]:
        """Inpaint all requests, several per model call (grouped by padded length so results do not depend on
        which requests share a call)."""
        jobs = [self._job(i, r) for i, r in enumerate(requests)]
        groups: dict[int, list[_Job]] = defaultdict(list)
        for job in jobs:
            groups[self.inpainter.padded_frames(len(job.window))].append(job)
        results: list[RegionResult | None] = [None] * len(requests)
        for group in groups.values():
            for first in range(0, len(group), self.batch_size):
                chunk = group[first : first + self.batch_size]
                decoded = self.inpainter.inpaint_detailed(
                    [j.window for j in chunk],
                    [j.region for j in chunk],
                    [requests[j.index].caption for j in chunk],
                    [requests[j.index].seed for j in chunk],
                    steps=self.steps,
                    guidance=self.guidance,
                    eta=self.eta,
                    margin_s=self.margin_s,
                    options=self.options,
                )
                for job, done in zip(chunk, decoded, strict=True):
                    result = self._finish(requests[job.index], job, done.audio)
                    result.info |= {"candidate": done.candidate, "clap_score": done.clap_score}
                    results[job.index] = result
        return [r for r in results if r is not None]

    def _job(self, index: int, request: RegionRequest) -> _Job:
        rate = self.inpainter.sample_rate
        if request.sample_rate <= 0 or len(request.audio) == 0:
            raise RejectedInput(request.clip_id, "empty clip or invalid sample rate")
        duration = len(request.audio) / request.sample_rate
        onset, offset = request.region
        if not 0 <= onset < offset <= duration + 1e-9:
            reason = f"region {request.region} is empty or outside the {duration:.3f} s clip"
            raise RejectedInput(request.clip_id, reason)
        clip = resample(np.asarray(request.audio, dtype=np.float32), request.sample_rate, rate)
        start, stop = segment_to_samples(request.region, rate)
        stop = min(stop, len(clip))
        width = max(round(self.max_window_s * rate), stop - start)
        first = 0 if len(clip) <= width else min(max(0, (start + stop) // 2 - width // 2), len(clip) - width)
        window = clip[first : first + width]
        return _Job(index, window, first, ((start - first) / rate, (stop - first) / rate))

    def _finish(self, request: RegionRequest, job: _Job, decoded: np.ndarray) -> RegionResult:
        """Region of the decoded window at the request's rate (through AudioSR when configured)."""
        rate = self.inpainter.sample_rate
        lo, hi = (round(t * rate) for t in job.region)
        if self.upsampler is not None:
            context = round(AUDIOSR_CONTEXT_S * rate)
            lo, hi = max(0, lo - context), min(len(decoded), hi + context)
            segment = decoded[lo:hi]
            wave = self.upsampler.upsample(segment, rate, seed=request.seed, steps=self.audiosr_steps)
            src_rate = int(getattr(self.upsampler, "sample_rate", 48000))
        else:
            wave, src_rate = decoded, rate
            lo = 0
        region = crop_region(wave, src_rate, (job.start + lo) / rate, request.region, request.sample_rate)
        return RegionResult(audio=region, sample_rate=request.sample_rate, info=self.info(request.seed))


def crop_region(
    wave: np.ndarray, wave_rate: int, wave_start_s: float, region: tuple[float, float], out_rate: int
) -> np.ndarray:
    """Exactly the samples of ``region`` (clip seconds) at ``out_rate``, from ``wave`` (at ``wave_rate``), which
    starts ``wave_start_s`` into the clip."""
    wave = resample(np.asarray(wave, dtype=np.float32), wave_rate, out_rate)
    start, stop = segment_to_samples(region, out_rate)
    begin = max(0, start - round(wave_start_s * out_rate))
    return fit_length(wave[begin:], stop - start)


def create_inpaint_regenerator(backend: str, recipe: Recipe, device: str = "auto") -> InpaintRegenerator:
    """Load the recipe's checkpoint for ``backend`` ("audioldm" or "audioldm2"), and AudioSR when the recipe
    names one. Everything loads here, so a missing checkpoint fails at start-up with one actionable message."""
    if backend not in INPAINT_DEFAULTS:
        raise ConfigError(f"unknown inpainting backend {backend!r}; known: {', '.join(INPAINT_DEFAULTS)}")
    config = recipe.inpaint or INPAINT_DEFAULTS[backend]
    if backend == "audioldm":
        from regenerate.audioldm.audioldm1 import AudioLDMInpainter as Inpainter
    else:
        from regenerate.audioldm.audioldm2 import AudioLDM2Inpainter as Inpainter  # type: ignore[assignment]
    extra = {"unconditional": config.unconditional} if backend == "audioldm2" else {}
    debug = config.checkpoint == DEBUG_CHECKPOINT
    if debug:  # tiny random models built here: the whole path runs in seconds, the output is noise
        inpainter = debug_inpainter(backend, **extra).to(device)
    else:
        inpainter = Inpainter.from_pretrained(config.checkpoint, device=device, **extra)
    scorer = None
    if config.n_candidates > 1:  # the debug AudioLDM has no CLAP checkpoint to load: a tiny one is built
        use_debug_clap = debug and backend == "audioldm" and not config.clap
        scorer = debug_clap_scorer() if use_debug_clap else inpainter.clap_scorer(config.clap)
    upsampler = None
    if recipe.audiosr is not None and recipe.audiosr.checkpoint == DEBUG_CHECKPOINT:
        upsampler = debug_upsampler(device=device)
    elif recipe.audiosr is not None:
        from regenerate.audiosr import AudioSRUpsampler

        file = recipe.audiosr.config_file  # architecture JSON for non-published variants
        architecture = json.loads(Path(file).read_text()) if file else None
        upsampler = AudioSRUpsampler.from_pretrained(recipe.audiosr.checkpoint, device=device, config=architecture)
    return InpaintRegenerator(inpainter, config, upsampler=upsampler, audiosr=recipe.audiosr, scorer=scorer)
