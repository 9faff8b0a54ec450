"""The detector: front-end -> back-end -> per-frame logits plus a clip logit; config and checkpoint files.

A checkpoint folder holds ``model.safetensors`` (weights) and ``config.json`` (everything needed to
rebuild the model); training adds ``train_state.pt`` and ``metrics.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from detector.backends import create_backend
from detector.config import DetectorConfig
from detector.frontends import (
    BUILTIN_FRONTENDS,
    Frontend,
    LogMelFrontend,
    create_frontend,
)
from detector.level import normalise_level
from pipeline.atomic import atomic_path, atomic_write_text
from pipeline.devices import resolve_device  # noqa: F401 - re-exported for the stage's modules

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class DetectorModel(nn.Module):
    """``wave (batch, samples)`` -> ``(frame_logits (batch, frames), clip_logits (batch,))`` at ``frame_s``."""

    def __init__(self, config: DetectorConfig, frontend: Frontend | None = None):
        super().__init__()
        self.config = config
        if frontend is None:
            kwargs = dict(config.frontend_kwargs)
            builtin = config.frontend in BUILTIN_FRONTENDS
            if builtin and kwargs.setdefault("envelope_norm", config.envelope_norm) != config.envelope_norm:
                raise ValueError(f"frontend_kwargs envelope_norm {kwargs['envelope_norm']!r} contradicts "
                                 f"envelope_norm {config.envelope_norm!r}: set it once")
            if config.frontend not in BUILTIN_FRONTENDS:
                kwargs.setdefault("freeze", config.freeze_frontend)
            frontend = create_frontend(config.frontend, **kwargs)
        self.frontend = frontend
        backend_kwargs = dict(config.backend_kwargs)
        if config.model == "mrtcn":
            backend_kwargs.setdefault("spectral_stem", isinstance(self.frontend, LogMelFrontend))
        self.backend = create_backend(config.model, self.frontend.dim, **backend_kwargs)
        if config.freeze_frontend:
            for p in self.frontend.parameters():
                p.requires_grad_(False)

    @property
    def sample_rate(self) -> int:
        return self.frontend.sample_rate

    @property
    def frame_s(self) -> float:
        return self.frontend.frame_s

    def num_frames(self, num_samples: int) -> int:
        return self.frontend.num_frames(num_samples)

    def train(self, mode: bool = True) -> DetectorModel:
        super().train(mode)
        if self.config.freeze_frontend:
            self.frontend.eval()  # frozen: no dropout, no BatchNorm statistics updates
        return self

    def prepare(self, wave: torch.Tensor) -> torch.Tensor:
        """The wave the front-end sees: level-normalised per batch item when ``config.level_norm``."""
        return normalise_level(wave, self.sample_rate) if self.config.level_norm else wave

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        wave = self.prepare(wave)
        if self.config.freeze_frontend:
            with torch.no_grad():
                feats = self.frontend(wave)
        else:
            feats = self.frontend(wave)
        return self.backend(feats.float())

    def forward_features(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`forward` from cached ``frontend.features`` (a :class:`CachableFrontend` only)."""
        return self.backend(self.frontend.normalise(feats).float())


def build_model(config: DetectorConfig) -> DetectorModel:
    """A freshly initialised model for ``config``."""
    return DetectorModel(config)


def _stores_frontend(config: DetectorConfig) -> bool:
    """A frozen *pretrained* front-end is reloaded from its hub id or folder, not copied into every checkpoint;
    anything trained or randomly initialised (stft/log-mel, fine-tuned, an explicit ``config``) is stored."""
    pretrained = config.frontend not in BUILTIN_FRONTENDS and "config" not in config.frontend_kwargs
    return not (pretrained and config.freeze_frontend)


def save_model(model: DetectorModel, ckpt_dir: str | Path, extra_config: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (plus ``extra_config`` keys) atomically."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    keep_frontend = _stores_frontend(model.config)
    state = {
        k: v.detach().cpu().contiguous()
        for k, v in model.state_dict().items()
        if keep_frontend or not k.startswith("frontend.")
    }
    with atomic_path(ckpt_dir / MODEL_FILE) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    payload = {"detector": model.config.to_dict(), **(extra_config or {})}
    atomic_write_text(ckpt_dir / CONFIG_FILE, json.dumps(payload, indent=2, sort_keys=True))
    return ckpt_dir


def read_config(ckpt_dir: str | Path) -> dict[str, Any]:
    """The whole ``config.json`` of a checkpoint folder."""
    path = Path(ckpt_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{ckpt_dir}: not a detector checkpoint (no {CONFIG_FILE})")
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> DetectorModel:
    """Rebuild the model from ``config.json`` and load ``model.safetensors`` strictly (a frozen pretrained
    front-end comes from its hub id or folder instead); returned in eval mode."""
    ckpt_dir = Path(ckpt_dir)
    config = DetectorConfig.from_dict(read_config(ckpt_dir)["detector"])
    weights = ckpt_dir / MODEL_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{ckpt_dir}: no {MODEL_FILE}")
    model = build_model(config)
    missing, unexpected = model.load_state_dict(load_file(str(weights), device="cpu"), strict=False)
    if not _stores_frontend(config):
        missing = [k for k in missing if not k.startswith("frontend.")]
    if missing or unexpected:
        raise ValueError(
            f"{weights}: weights do not match config.json (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return model.to(device).eval()
