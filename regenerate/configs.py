"""Typed settings of every regeneration backend: each default is written here and nowhere else.

A recipe (:mod:`regenerate.recipes`) composes these; the backends read them. The module imports neither torch
nor a model, so the CLI and the flows can show the defaults without loading anything. Which values are
faithful to FakeSound/AudioLDM is the backends' call; that each is written once is this module's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GenuineSpliceConfig:
    """``splice``: the region is replaced by a span of another real recording (looped with crossfades if short)."""

    tile_crossfade_s: float = 0.01
    #: scale the spliced stretch to the RMS of the span it replaces, capped at the clip's peak (a level cue otherwise)
    match_level: bool = False


@dataclass(frozen=True)
class AdditionConfig:
    """``addition``: a real foreground event is mixed into the region at a seeded SNR (dB, uniform in the range)."""

    snr_db: tuple[float, float] = (0.0, 10.0)
    cut_fade_s: float = 0.01
    #: event peak at most the region's peak, mix never clipping (louder-than-anything additions are a level cue)
    peak_limit: bool = False

    def __post_init__(self) -> None:
        low, high = (float(v) for v in self.snr_db)
        if low > high:
            raise ValueError(f"snr_db range {self.snr_db} has low > high")
        object.__setattr__(self, "snr_db", (low, high))


@dataclass(frozen=True)
class VocoderConfig:
    """``vocoder``: the region is resynthesised from its mel spectrogram by Griffin-Lim."""

    iters: int = 32
    nnls_updates: int = 4
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80

    def __post_init__(self) -> None:
        if self.iters < 0 or self.nnls_updates < 0:
            raise ValueError("iters and nnls_updates must be >= 0")


@dataclass(frozen=True)
class InpaintConfig:
    """``audioldm`` / ``audioldm2``: latent inpainting of the region (DDIM with classifier-free guidance).

    ``batch_size`` is how many clips go to the UNet in one call (a GPU setting); how many clip jobs a worker
    task takes is the build request's ``chunk_size``, a different thing.
    """

    checkpoint: str
    guidance: float = 2.5
    steps: int = 200
    eta: float = 1.0
    margin_s: float = 0.0
    batch_size: int = 8
    #: The models were trained on 10.24 s clips: longer clips are inpainted in a window of this length.
    max_window_s: float = 10.24
    #: Candidates per clip, the one closest to the caption in CLAP space kept (upstream: 3).
    n_candidates: int = 3
    #: CLAP checkpoint that scores candidates (None: AudioLDM2's own; for AudioLDM v1 ``laion/clap-htsat-unfused``).
    clap: str | None = None
    #: ``"sample"``: the clip's latent is a VAE posterior sample (upstream); ``"mean"``: the posterior mean.
    posterior: str = "sample"
    #: Set the known latent frames to the clean originals after the last step (upstream: False, the last output).
    final_reset: bool = True
    #: AudioLDM2's unconditional branch: ``"zeros"`` (upstream) or ``"empty-caption"`` (diffusers).
    unconditional: str = "zeros"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.margin_s < 0 or self.n_candidates < 1:
            raise ValueError(f"need steps >= 1, batch_size >= 1, margin_s >= 0, n_candidates >= 1 "
                             f"(got {self.steps}, {self.batch_size}, {self.margin_s}, {self.n_candidates})")
        if self.posterior not in ("sample", "mean") or self.unconditional not in ("zeros", "empty-caption"):
            raise ValueError(f"posterior must be 'sample' or 'mean', unconditional 'zeros' or 'empty-caption' "
                             f"(got {self.posterior!r}, {self.unconditional!r})")


#: The file an AudioSR checkpoint (hub repo or folder) holds.
AUDIOSR_CHECKPOINT_FILE = "pytorch_model.bin"
#: The official AudioSR checkpoints by short name.
AUDIOSR_HUB_IDS = {"basic": "haoheliu/audiosr_basic", "speech": "haoheliu/audiosr_speech"}


@dataclass(frozen=True)
class AudioSRConfig:
    """AudioSR after inpainting: the region (with context) is brought to 48 kHz with regenerated high bands."""

    checkpoint: str = AUDIOSR_HUB_IDS["basic"]
    steps: int = 50
    #: Architecture JSON for a non-published variant (tests, debug checkpoints); None: the published one.
    config_file: str | None = None


#: Per-model inpainting defaults: upstream's inpainting entry points (``super_resolution_and_inpainting`` of
#: AudioLDM and AudioLDM2: 200 DDIM steps, guidance 2.5, eta 1, best of 3). FakeSound publishes no settings of
#: its own and points to these repositories.
AUDIOLDM = InpaintConfig(checkpoint="cvssp/audioldm-s-full-v2")
AUDIOLDM2 = InpaintConfig(checkpoint="cvssp/audioldm2")
#: Default CLAP for AudioLDM v1's best-of-N, whose diffusers checkpoint carries only CLAP's text tower.
AUDIOLDM1_CLAP = "laion/clap-htsat-unfused"
#: Checkpoint name that builds tiny random models at start-up (``regenerate.debug_models``): output is noise.
DEBUG_CHECKPOINT = "debug"
INPAINT_DEFAULTS: dict[str, InpaintConfig] = {"audioldm": AUDIOLDM, "audioldm2": AUDIOLDM2}
