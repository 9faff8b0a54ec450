"""EAT front-end: 16 kHz waveform -> EAT tokens pooled over frequency, one frame per 160 ms patch row.

Time resolution is the honest one: a token row covers 16 fbank frames (16 x 10 ms hop = 160 ms); we do
not pretend these are 20 ms frames. Frame ``i`` covers samples ``[2560 i, 2560 i + 2800)`` (16 frames of
400 samples with a 160-sample hop).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from detector.frontends.base import PretrainedFrontend
from detector.frontends.eat.fbank import KaldiFbankConfig, kaldi_fbank, num_fbank_frames
from detector.frontends.eat.hub import (
    WeightsUnavailableError,
    hub_file,
    is_hub_id,
    resolve_device,
    resolve_dtype,
)
from detector.frontends.eat.keymap import infer_config, load_official_state, map_state_dict
from detector.frontends.eat.model import EATConfig, EATEncoder

DEFAULT_EAT_ID = "worstchan/EAT-base_epoch30_finetune_AS2M"


@dataclass(frozen=True)
class EATInputConfig:
    """How a waveform becomes encoder input (EAT's AudioSet recipe by default).

    The clip mean is removed, the Kaldi fbank taken, frames zero-padded **in the log domain** up to a
    multiple of ``target_length`` (EAT's training length, 1024 frames = 10.24 s; longer clips are cut into
    consecutive windows of that length), then normalised as ``(x - norm_mean) / (2 * norm_std)``.
    With ``pad_to_target=False`` a single window is only padded to a multiple of 16 frames (faster on
    short clips, but the encoder then sees shorter sequences than in training).
    """

    target_length: int = 1024
    norm_mean: float = -4.268
    norm_std: float = 4.569
    pad_to_target: bool = True
    remove_clip_mean: bool = True
    fbank: KaldiFbankConfig = field(default_factory=KaldiFbankConfig)


class EATFrontend(PretrainedFrontend):
    """Waveform ``(batch, samples)`` at 16 kHz -> ``(batch, ceil(fbank_frames / 16), dim)``.

    10.0 s (160000 samples) -> 998 fbank frames -> **63** frames of 160 ms (the last one holds 6 real
    fbank frames). ``layer`` = number of blocks to run (``None``: all). ``freeze`` keeps the encoder
    in eval mode with ``requires_grad=False`` and runs it without autograd.
    """

    def __init__(
        self,
        config: EATConfig | None = None,
        inputs: EATInputConfig | None = None,
        *,
        freeze: bool = True,
        layer: int | None = None,
    ) -> None:
        super().__init__()
        self.config = config or EATConfig.base()
        self.inputs = inputs or EATInputConfig()
        p = self.config.patch_size
        if self.inputs.target_length % p or self.inputs.target_length // p > self.config.max_time_patches:
            raise ValueError(f"target_length {self.inputs.target_length} must be a multiple of {p} within the table")
        if self.inputs.fbank.num_mel_bins != self.config.mel_bins:
            raise ValueError(f"fbank has {self.inputs.fbank.num_mel_bins} mel bins, encoder {self.config.mel_bins}")
        if layer is not None and not 0 <= layer <= self.config.depth:
            raise ValueError(f"layer must be in [0, {self.config.depth}], got {layer}")
        self.sample_rate = self.inputs.fbank.sample_rate
        self.frame_s = p * self.inputs.fbank.window_shift / self.sample_rate
        self.dim = self.config.embed_dim
        self.layer = layer
        self.encoder = EATEncoder(self.config)
        self.frozen = False
        if freeze:
            self.freeze()

    @property
    def backbone(self) -> nn.Module:
        return self.encoder

    # ------------------------------------------------------------------ time maths
    def num_frames(self, num_samples: int) -> int:
        """Output frames for ``num_samples`` samples: ``ceil(fbank_frames / 16)`` (0 below one 25 ms frame)."""
        return math.ceil(num_fbank_frames(num_samples, self.inputs.fbank) / self.config.patch_size)

    # ------------------------------------------------------------------ forward
    def encoder_input(self, wave: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Normalised, padded fbank windows ``(batch * windows, window_frames, mel)`` and the window count."""
        if wave.dim() != 2:
            raise ValueError(f"expected wave of shape (batch, samples), got {tuple(wave.shape)}")
        wave = wave.float()
        if self.inputs.remove_clip_mean:
            wave = wave - wave.mean(dim=1, keepdim=True)
        fbank = kaldi_fbank(wave, self.inputs.fbank)
        batch, frames, mel = fbank.shape
        p, target = self.config.patch_size, self.inputs.target_length
        padded = math.ceil(frames / p) * p
        window = target if (self.inputs.pad_to_target or padded > target) else padded
        windows = math.ceil(padded / window)
        fbank = torch.nn.functional.pad(fbank, (0, 0, 0, windows * window - frames))  # zeros in the log domain
        fbank = (fbank - self.inputs.norm_mean) / (2.0 * self.inputs.norm_std)
        return fbank.reshape(batch * windows, window, mel), windows

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"expected wave of shape (batch, samples), got {tuple(wave.shape)}")
        batch, num_samples = wave.shape
        param = self.encoder.patch_embed.weight
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            x, windows = self.encoder_input(wave.to(param.device))
            tokens = self.encoder(x.to(param.dtype), num_blocks=self.layer)
        grid = tokens[:, 1:].reshape(batch * windows, -1, self.config.freq_patches, self.dim)  # drop CLS
        frames = grid.mean(dim=2).reshape(batch, -1, self.dim)
        return frames[:, : self.num_frames(num_samples)]

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path = DEFAULT_EAT_ID,
        *,
        freeze: bool = True,
        device: str | torch.device | None = "cpu",
        dtype: str | torch.dtype | None = None,
        layer: int | None = None,
        inputs: EATInputConfig | None = None,
        use_ema: bool = False,
        trust_pickle: bool = False,
        revision: str | None = None,
        local_files_only: bool | None = None,
    ) -> EATFrontend:
        """Load official EAT weights.

        ``id_or_path``: a Hub id (``model.safetensors`` + ``config.json``), a local folder holding those,
        a ``.safetensors`` file, or a fairseq ``.pt`` checkpoint (pre-training or fine-tuned; ``use_ema``
        takes the EMA teacher of a pre-training file). fairseq files are pickles: they load with
        ``weights_only=True`` when possible; pass ``trust_pickle=True`` only for files you trust.
        ``dtype="auto"`` = float16 on CUDA. The fbank always runs in float32.
        """
        weights, config_path = _locate(str(id_or_path), revision=revision, local_files_only=local_files_only)
        if weights.suffix in (".pt", ".pth", ".ckpt"):
            official = read_fairseq_checkpoint(weights, use_ema=use_ema, trust_pickle=trust_pickle)
        else:
            from safetensors.torch import load_file

            official = load_file(str(weights))
        if config_path is not None:
            config = EATConfig.from_hf_config(json.loads(config_path.read_text()))
        else:
            config = infer_config(map_state_dict(official).state)
        frontend = cls(config, inputs, freeze=False, layer=layer)
        load_official_state(frontend.encoder, official, str(weights))
        dev = resolve_device(device)
        frontend.to(device=dev, dtype=resolve_dtype(dtype, dev))
        if freeze:
            frontend.freeze()
        else:
            frontend.unfreeze()  # trainable weights stay float32 whatever ``dtype`` (autocast gives the speed)
        return frontend


def _locate(id_or_path: str, *, revision: str | None, local_files_only: bool | None) -> tuple[Path, Path | None]:
    """(weights file, config.json or None) for a hub id, a folder or a file."""
    path = Path(id_or_path).expanduser()
    if path.is_file():
        config = path.with_name("config.json")
        return path, config if config.is_file() and path.suffix == ".safetensors" else None
    if path.is_dir():
        for name in ("model.safetensors", "checkpoint.pt", "model.pt"):
            if (path / name).is_file():
                config = path / "config.json"
                return path / name, config if config.is_file() else None
        raise FileNotFoundError(f"{path}: no model.safetensors (or checkpoint.pt) in this EAT folder")
    if not is_hub_id(id_or_path):
        raise FileNotFoundError(f"{id_or_path}: no such EAT checkpoint file or folder, and not a Hub id (owner/name)")
    weights = hub_file(id_or_path, "model.safetensors", revision=revision, local_files_only=local_files_only)
    config = hub_file(id_or_path, "config.json", revision=revision, local_files_only=local_files_only)
    return weights, config


def read_fairseq_checkpoint(path: Path, *, use_ema: bool = False, trust_pickle: bool = False) -> dict:
    """The tensor dict of a fairseq EAT checkpoint (``ckpt["model"]``, or its ``_ema`` teacher)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if not trust_pickle:
            raise WeightsUnavailableError(
                f"{path}: fairseq checkpoint holds non-tensor Python objects and was not unpickled "
                f"({type(exc).__name__}); if you trust the file, pass trust_pickle=True "
                f"(needs `omegaconf` installed for fairseq configs)"
            ) from exc
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a fairseq checkpoint (no 'model' dict)")
    if use_ema:
        if not isinstance(state.get("_ema"), dict):
            raise ValueError(f"{path}: use_ema=True but the checkpoint has no '_ema' teacher weights")
        return dict(state["_ema"])
    return state
