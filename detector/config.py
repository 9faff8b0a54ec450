"""The detector's settings and registry names, importable without torch (the CLI and the flows read them).

:class:`DetectorConfig` (what the model is), :class:`TrainConfig` (how it is trained) and :class:`AugmentConfig`
own their defaults; :class:`TrainRequest` and :class:`BenchmarkRequest` are the jobs the library, the
``fakesound`` CLI and the Prefect flows accept. The registries (``detector.backends``, ``detector.frontends``)
are checked against the names here by a test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pipeline.requests import Request, opt, required

#: Back-end names (``detector.backends.BACKENDS`` holds the classes).
BACKEND_NAMES = ("fakesound-ref", "mrtcn")
DEFAULT_BACKEND = "mrtcn"
#: Front-ends computed from the waveform with no pretrained weights (always stored in checkpoints).
BUILTIN_FRONTENDS = ("stft", "logmel")
DEFAULT_FRONTEND = "stft"
#: Hub ids used when a transformers front-end is named without ``id_or_path``.
HF_DEFAULT_IDS = {
    "wavlm": "microsoft/wavlm-large",
    "ast": "MIT/ast-finetuned-audioset-10-10-0.4593",
    "wav2vec2": "facebook/wav2vec2-base",
}
FRONTEND_NAMES = (*BUILTIN_FRONTENDS, "eat", *HF_DEFAULT_IDS, "hf:<id_or_path>")
#: ``DetectorConfig.envelope_norm`` settings (detector.frontends.stft): none, the clip's median over bands and
#: frames, each band's median over frames
ENVELOPE_NORMS = ("none", "level", "band")


def check_envelope_norm(value: str) -> str:
    """``value`` if it is one of :data:`ENVELOPE_NORMS`, else ``ValueError`` (the model setting and the front-ends
    share this check)."""
    if value not in ENVELOPE_NORMS:
        raise ValueError(f"envelope_norm {value!r}: expected one of {', '.join(ENVELOPE_NORMS)}")
    return value


#: Evaluation protocols of ``fakesound benchmark --protocol`` (detector.protocols).
PROTOCOLS = ("ours", "fakesound", "fakesound2")


@dataclass
class AugmentConfig:
    """Probability and range of each augmentation (``p_*`` = 0 disables it)."""

    p_gain: float = 0.5
    gain_db: float = 6.0
    p_noise: float = 0.3
    snr_db: tuple[float, float] = (20.0, 50.0)
    p_resample: float = 0.0
    resample_factors: tuple[float, ...] = (0.5, 0.6875, 0.75)
    p_mulaw: float = 0.0
    p_lowpass: float = 0.0
    lowpass_fraction: tuple[float, float] = (0.35, 0.8)
    #: probability of a recording history (band limit, codec, ...; detector.augment.recording_history)
    p_history: float = 0.3
    #: histories may include a web level treatment (loudness normalisation, limiting, clipping;
    #: pipeline.conditions.LEVEL_DRAWS) before their codec
    history_levels: bool = True
    #: with cached features, recording-history variants computed once per clip (each epoch picks one)
    cached_histories: int = 1

    def feature_space_only(self) -> bool:
        """True when cached features can stand in for the wave path: gain (exact in feature space), noise
        and histories (pre-drawn per clip); resampling, low-pass and mu-law need the wave path."""
        return self.p_resample == 0 and self.p_lowpass == 0 and self.p_mulaw == 0


@dataclass
class DetectorConfig:
    """What the model is: front-end and back-end names with their options, and how it reads long audio."""

    model: str = DEFAULT_BACKEND
    frontend: str = DEFAULT_FRONTEND
    frontend_kwargs: dict[str, Any] = field(default_factory=dict)
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    freeze_frontend: bool = False
    window_s: float = 10.0
    hop_s: float = 8.0
    #: scale each input window to a fixed level first (detector.level): scores do not depend on playback level, but
    #: measured side by side it lowered discrimination (README, Benchmarks -> Detector), so it is off by default
    level_norm: bool = False
    #: what the built-in front-ends (stft, logmel) remove from their log band powers, per clip: "none", "level"
    #: (the median over bands and frames) or "band" (each band's median over frames: level, EQ, static band
    #: limits); pretrained front-ends normalise their own inputs and ignore it (detector.frontends.stft)
    envelope_norm: str = "band"

    def __post_init__(self) -> None:
        check_envelope_norm(self.envelope_norm)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data.setdefault("level_norm", False)  # checkpoints from before the option were trained without it
        data.setdefault("envelope_norm", "none")  # likewise
        return cls(**data)


@dataclass
class TrainConfig:
    """How to train (the same for every back-end that is compared)."""

    epochs: int = 12
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 30
    clip_loss_weight: float = 0.5
    boundary_weight: float = 1.0
    boundary_frames: int = 2
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    holdout_manipulation: str | None = None
    val_fraction: float = 0.15
    threshold: float = 0.5
    #: how the stored clip-decision threshold is chosen on validation: "fpr:X" (false-positive rate <= X) or "eer";
    #: 2 %, not 5 %: validation reals share recordings with training, and on recordings the model never saw the
    #: false-positive rate measured two to three times the validation figure (README, Benchmarks -> Detector)
    threshold_rule: str = "fpr:0.02"
    #: the rule must also hold for the validation reals passed through this many drawn web histories each
    #: (detector.train.history_reals: band limit, codec, loudness/limiter/clipping, level): real recordings arrive
    #: processed in ways a clean validation split does not show; 0 = clean validation only
    threshold_histories: int = 4
    progress: bool = True
    #: train on front-end features computed once per clip when the front-end allows it (same model, faster)
    cache_features: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        if isinstance(data.get("augment"), dict):
            aug = data["augment"]
            data["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
        return cls(**data)


@dataclass(frozen=True)
class TrainRequest(Request):
    """Train a detector on a corpus folder (the library's :func:`detector.jobs.train_job`, the CLI's
    ``fakesound train`` and the ``train-detector`` flow all take this)."""

    corpus: str = required("corpus folder with manifest.jsonl (train/val/test splits)")
    out: str = required("checkpoint folder to write (CKPT_DIR)")
    model: str = opt(DetectorConfig.model, "back-end", choices=BACKEND_NAMES)
    frontend: str = opt(DetectorConfig.frontend, f"front-end: {', '.join(FRONTEND_NAMES)}")
    freeze_frontend: bool = opt(DetectorConfig.freeze_frontend, "keep front-end weights fixed")
    envelope_norm: str = opt(DetectorConfig.envelope_norm, "per-clip median removed from the built-in front-ends' "
                             "log band powers: band (level, EQ, static band limits), level, or none",
                             choices=ENVELOPE_NORMS)
    epochs: int = opt(TrainConfig.epochs, "training epochs")
    seed: int = opt(TrainConfig.seed, "seed of initialisation, batching and augmentation")
    batch_size: int = opt(TrainConfig.batch_size, "clips per optimisation step")
    lr: float = opt(TrainConfig.lr, "peak learning rate (AdamW, warm-up then cosine)")
    augment: bool = opt(True, "training augmentation (gain, noise, recording histories: detector.config.AugmentConfig)")
    resume: bool = opt(False, "continue from CKPT_DIR/train_state.pt")
    holdout_manipulation: str | None = opt(TrainConfig.holdout_manipulation,
                                           "leave fakes of this manipulation out of training and validation")
    threshold_rule: str = opt(TrainConfig.threshold_rule, "how the stored clip threshold is chosen on validation: "
                              "fpr:X (false-positive rate <= X) or eer (equal-error point)")
    device: str = opt(TrainConfig.device, "auto, cpu, cuda, cuda:1")

    def configs(self) -> tuple[DetectorConfig, TrainConfig]:
        """The model and training configs this request asks for (every other setting at its default)."""
        model = DetectorConfig(model=self.model, frontend=self.frontend, freeze_frontend=self.freeze_frontend,
                               envelope_norm=self.envelope_norm)
        train = TrainConfig(epochs=self.epochs, seed=self.seed, batch_size=self.batch_size, lr=self.lr,
                            augment=AugmentConfig() if self.augment else None,
                            holdout_manipulation=self.holdout_manipulation, device=self.device,
                            threshold_rule=self.threshold_rule)
        return model, train


@dataclass(frozen=True)
class BenchmarkRequest(Request):
    """Evaluate checkpoints on test manifests, listening-test answers, or both, side by side; writes results.md,
    results.json and figures to ``out``."""

    out: str = required("folder for results.md, results.json and figures")
    checkpoints: list[str] | None = opt(None, "checkpoint folders (CKPT_DIR) written by `fakesound train` "
                                        "(with --manifest)", aliases=("--checkpoint",))
    manifests: list[str] | None = opt(None, "FakeSound JSON or manifest.jsonl files (audio paths relative to their "
                                      "folder)", aliases=("--manifest",))
    human_answers: list[str] | None = opt(None, "answers SQLite files of `fakesound listen`: each adds a \"humans\" "
                                          "row (and humans.csv)", aliases=("--human",))
    threshold: float | None = opt(None, "clip decision threshold (unset: each checkpoint's own, chosen on validation)")
    n_boot: int = opt(1000, "bootstrap resamples for the 95 % CIs", aliases=("--bootstrap",))
    device: str = opt("auto", "auto, cpu, cuda, cuda:1")
    audio_root: str | None = opt(None, "resolve the manifests' audio paths (a published JSON's filepath) under this "
                                       "folder (unset: relative to each manifest's folder)")
    split: str = opt("test", "split of a manifest.jsonl to score ('all': every split)")
    conditions: list[str] = opt((), "also score under these conditions, KIND:VALUE (lowpass:8000 mp3:0.9 vorbis:0.5 "
                                "opus:0.9 resample:16000 gain:-12 noise:20 ...; a codec's encoder rate: "
                                "mp3:0.95@16000; 'default': the standard set)")
    probes: bool = opt(True, "run the shortcut probes (global statistics, boundary) on every manifest")
    protocol: str = opt("ours", "also report a paper's own evaluation, quirks included", choices=PROTOCOLS)

    def __post_init__(self) -> None:
        from pipeline.errors import ConfigError

        if bool(self.checkpoints) != bool(self.manifests) or not (self.checkpoints or self.human_answers):
            raise ConfigError("a benchmark takes checkpoints with manifests, listening-test answer files "
                              "(human_answers), or both")
