"""Front-ends around transformers-native audio encoders (WavLM, wav2vec2, HuBERT, ... and AST).

Two input families, each at its honest time resolution:

* raw-waveform encoders (``wavlm``, ``wav2vec2``, ``hubert``, ...): a strided CNN (total stride 320 at
  16 kHz) -> ``frame_s = 0.02``; frames = the CNN's output length. The feature extractor's per-utterance
  normalisation (``do_normalize``: zero mean, unit variance) is applied in torch.
* AST (``audio-spectrogram-transformer``): Kaldi fbank -> 16x16 patches with a time stride of 10 fbank
  frames -> ``frame_s = 0.1`` (a patch spans 160 ms, patches start every 100 ms). Tokens are pooled over
  frequency. AST has a fixed input length (``max_length`` frames, 1024 = 10.24 s): longer clips are cut
  into windows that advance by whole patch strides, so frame ``i`` always starts at ``0.1 i`` s.

``layer``: ``None`` = last hidden state, an int = that entry of ``hidden_states`` (0 = embeddings), or
``"weighted"`` = a learned softmax-weighted sum of all hidden states (the weights stay trainable when the
backbone is frozen).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    unavailable_message,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel

WAVEFORM_MODELS = frozenset(
    {"wavlm", "wav2vec2", "wav2vec2-conformer", "hubert", "unispeech", "unispeech-sat", "data2vec-audio"}
)
AST_MODEL = "audio-spectrogram-transformer"
#: ASTFeatureExtractor defaults (AudioSet statistics), used when a folder has no preprocessor_config.json.
AST_DEFAULTS = {"sampling_rate": 16000, "mean": -4.2677393, "std": 4.5689974, "do_normalize": True}


class HFFrontend(PretrainedFrontend):
    """A transformers ``AutoModel`` audio encoder as a :class:`Frontend`: ``(batch, samples) -> (batch, frames, dim)``.

    Build it with :meth:`from_pretrained`, or wrap an already constructed model.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        *,
        feature_config: dict[str, Any] | None = None,
        layer: int | str | None = None,
        freeze: bool = True,
        spec_augment: bool = False,
    ) -> None:
        super().__init__()
        config = model.config
        self.kind = "ast" if config.model_type == AST_MODEL else "waveform"
        if self.kind == "waveform" and config.model_type not in WAVEFORM_MODELS:
            raise ValueError(
                f"unsupported model_type {config.model_type!r}: expected one of {sorted(WAVEFORM_MODELS | {AST_MODEL})}"
            )
        features = dict(feature_config or {})
        self.model = model
        self.dim = int(config.hidden_size)
        self.sample_rate = int(features.get("sampling_rate", 16000))
        num_hidden = int(config.num_hidden_layers) + 1
        if isinstance(layer, str) and layer != "weighted":
            raise ValueError(f"layer must be None, an int or 'weighted', got {layer!r}")
        if isinstance(layer, int) and not -num_hidden <= layer < num_hidden:
            raise ValueError(f"layer {layer} out of range for {num_hidden} hidden states")
        self.layer = layer
        self.layer_weights = nn.Parameter(torch.zeros(num_hidden)) if layer == "weighted" else None
        if self.kind == "waveform":
            if hasattr(config, "apply_spec_augment") and not spec_augment:
                config.apply_spec_augment = False  # masking hides the very frames a detector must judge
            default_norm = getattr(config, "feat_extract_norm", "group") == "layer"
            self.normalize = bool(features.get("do_normalize", default_norm))
            self.frame_s = math.prod(config.conv_stride) / self.sample_rate
        else:
            merged = {**AST_DEFAULTS, **features}
            self.normalize = bool(merged["do_normalize"])
            self.norm_mean, self.norm_std = float(merged["mean"]), float(merged["std"])
            self.fbank_config = KaldiFbankConfig(sample_rate=self.sample_rate, num_mel_bins=int(config.num_mel_bins))
            self.patch, self.time_stride = int(config.patch_size), int(config.time_stride)
            self.max_length = int(config.max_length)
            self.freq_patches = (int(config.num_mel_bins) - self.patch) // int(config.frequency_stride) + 1
            self.window_patches = (self.max_length - self.patch) // self.time_stride + 1
            self.frame_s = self.time_stride * self.fbank_config.window_shift / self.sample_rate
        self.frozen = False
        if freeze:
            self.freeze()

    @property
    def backbone(self) -> nn.Module:
        return self.model

    # ------------------------------------------------------------------ time maths
    def num_frames(self, num_samples: int) -> int:
        """Waveform models: the CNN's output length; AST: patches starting inside the fbank (every 10 frames)."""
        if self.kind == "ast":
            return math.ceil(num_fbank_frames(num_samples, self.fbank_config) / self.time_stride)
        length = num_samples
        for kernel, stride in zip(self.model.config.conv_kernel, self.model.config.conv_stride, strict=True):
            if length < kernel:
                return 0
            length = (length - kernel) // stride + 1
        return length

    # ------------------------------------------------------------------ forward
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"expected wave of shape (batch, samples), got {tuple(wave.shape)}")
        batch, num_samples = wave.shape
        frames = self.num_frames(num_samples)
        if frames == 0:
            raise ValueError(f"input of {num_samples} samples is too short for {self.model.config.model_type}")
        param = next(self.model.parameters())
        wave = wave.to(device=param.device, dtype=torch.float32)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            if self.kind == "ast":
                inputs, windows = self.ast_input(wave)
            else:
                inputs, windows = self.waveform_input(wave), 1
            out = self.model(input_values=inputs.to(param.dtype), output_hidden_states=self.layer is not None)
        hidden = self._select(out)
        if self.kind == "ast":
            grid = hidden[:, 2:].reshape(batch * windows, self.freq_patches, self.window_patches, self.dim)
            hidden = grid.mean(dim=1).reshape(batch, windows * self.window_patches, self.dim)
        return hidden[:, :frames]

    def waveform_input(self, wave: torch.Tensor) -> torch.Tensor:
        """Per-utterance zero-mean unit-variance normalisation when the feature extractor asks for it."""
        if not self.normalize:
            return wave
        mean = wave.mean(dim=1, keepdim=True)
        var = wave.var(dim=1, keepdim=True, unbiased=False)
        return (wave - mean) / torch.sqrt(var + 1e-7)

    def ast_input(self, wave: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Normalised fbank windows ``(batch * windows, max_length, mel)`` advancing by whole patch strides."""
        fbank = kaldi_fbank(wave, self.fbank_config)
        batch, frames, mel = fbank.shape
        windows = max(1, math.ceil(math.ceil(frames / self.time_stride) / self.window_patches))
        step = self.window_patches * self.time_stride
        total = (windows - 1) * step + self.max_length
        fbank = torch.nn.functional.pad(fbank, (0, 0, 0, max(0, total - frames)))[:, :total]  # zeros in log domain
        chunks = fbank.unfold(1, self.max_length, step).transpose(2, 3)  # (batch, windows, max_length, mel)
        if self.normalize:
            chunks = (chunks - self.norm_mean) / (2.0 * self.norm_std)
        return chunks.reshape(batch * windows, self.max_length, mel), windows

    def _select(self, out: Any) -> torch.Tensor:
        if self.layer is None:
            return out.last_hidden_state
        states = out.hidden_states
        if self.layer == "weighted":
            weights = torch.softmax(self.layer_weights, dim=0).to(states[0].dtype)
            return sum(w * h for w, h in zip(weights, states, strict=True))
        return states[self.layer]

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path,
        *,
        layer: int | str | None = None,
        freeze: bool = True,
        device: str | torch.device | None = "cpu",
        dtype: str | torch.dtype | None = None,
        spec_augment: bool = False,
        revision: str | None = None,
        local_files_only: bool | None = None,
    ) -> HFFrontend:
        """Load by Hub id (e.g. ``microsoft/wavlm-base-plus``, ``facebook/wav2vec2-base``,
        ``MIT/ast-finetuned-audioset-10-10-0.4593``) or local ``save_pretrained`` folder.

        ``preprocessor_config.json`` (if present) supplies ``do_normalize``/``sampling_rate`` (and AST's
        ``mean``/``std``). ``dtype="auto"`` = float16 on CUDA.
        """
        from transformers import AutoModel

        name = str(id_or_path)
        local = Path(name).expanduser()
        if not local.is_dir() and not is_hub_id(name):
            raise FileNotFoundError(f"{name}: no such model folder, and not a Hub id (owner/name)")
        kwargs: dict[str, Any] = {"revision": revision}
        if local_files_only is not None:
            kwargs["local_files_only"] = local_files_only
        try:
            model = AutoModel.from_pretrained(str(local) if local.is_dir() else name, **kwargs)
        except OSError as exc:
            if local.is_dir():
                raise FileNotFoundError(f"{local}: not a loadable transformers model folder ({exc})") from exc
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:240]}"
            raise WeightsUnavailableError(unavailable_message(name, "the model", reason)) from exc
        features = _feature_config(local if local.is_dir() else name, kwargs)
        frontend = cls(model, feature_config=features, layer=layer, freeze=False, spec_augment=spec_augment)
        dev = resolve_device(device)
        frontend.to(device=dev, dtype=resolve_dtype(dtype, dev))
        if freeze:
            frontend.freeze()
        else:
            frontend.unfreeze()  # trainable weights stay float32 whatever ``dtype`` (autocast gives the speed)
        return frontend


def _feature_config(source: Path | str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``preprocessor_config.json`` as a dict, or ``{}`` when the model has none."""
    if isinstance(source, Path):
        path = source / "preprocessor_config.json"
        return json.loads(path.read_text()) if path.is_file() else {}
    path = hub_file(source, "preprocessor_config.json", optional=True, **kwargs)
    return json.loads(path.read_text()) if path is not None else {}
