"""Detector on the device: training under mixed precision, resume, float32 trainables, CPU-vs-CUDA agreement.

The ``cpu`` variants run fp16 autocast with a CPU GradScaler in place of CUDA's AMP (``amp_dtype`` is
patched): the half-precision arithmetic that broke the front-ends is the same, so CI catches it.
"""

from __future__ import annotations

import importlib
import json
import math

import pytest
import tiny_models
import torch
from detector_tiny import tiny_detector_config, tiny_train_config
from device_params import DEVICES, skip_without
from safetensors.torch import load_file

from detector.augment import AugmentConfig
from detector.data import Batch
from detector.frontends import LogMelFrontend, STFTFrontend
from detector.frontends.eat import EATConfig, EATFrontend
from detector.frontends.eat.fbank import kaldi_fbank
from detector.frontends.hf import HFFrontend
from detector.model import DetectorConfig, DetectorModel, load_model
from detector.train import (
    STATE_FILE,
    TrainConfig,
    read_train_state,
    restore_rng_states,
    train,
    train_step,
    trainable_parameters,
)


@pytest.fixture
def amp_everywhere(monkeypatch):
    """On the CPU, train with fp16 autocast and an enabled GradScaler, as ``amp=True`` does on CUDA."""
    train_module = importlib.import_module("detector.train")  # the package exports a function of the same name
    monkeypatch.setattr(train_module, "amp_dtype", lambda cfg, device: torch.float16 if cfg.amp else None)


def _hard_waves(sample_rate: int, device: str) -> torch.Tensor:
    """A full-scale tone (power overflows fp16), digital silence (the log floor underflows) and quiet noise."""
    t = torch.arange(2 * sample_rate) / sample_rate
    tone = torch.sin(2 * math.pi * 440 * t)
    quiet = 1e-4 * torch.randn(len(t), generator=torch.Generator().manual_seed(0))
    return torch.stack([tone, torch.zeros_like(t), quiet]).to(device)


FEATURES = {
    "stft": lambda: STFTFrontend(sample_rate=16000),
    "logmel": lambda: LogMelFrontend(sample_rate=16000),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("amp", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
@pytest.mark.parametrize("name", sorted(FEATURES))
def test_frontend_features_ignore_autocast(device, amp, name):
    """Features are computed in float32 whatever autocast says: identical to the plain call, finite, and the
    input BatchNorm's running statistics stay finite (fp16 gave 20-40 % non-finite features before)."""
    skip_without(device)
    frontend = FEATURES[name]().to(device).train()
    wave = _hard_waves(frontend.sample_rate, device)
    reference = frontend.features(wave)
    with torch.autocast(device_type=device, dtype=amp):
        feats = frontend.features(wave)
        out = frontend(wave)
    assert feats.dtype == torch.float32 and torch.equal(feats, reference)
    assert torch.isfinite(out).all()
    assert torch.isfinite(frontend.norm.running_mean).all() and torch.isfinite(frontend.norm.running_var).all()


@pytest.mark.parametrize("device", DEVICES)
def test_kaldi_fbank_ignores_autocast(device):
    """EAT's and AST's fbank is float32 under autocast too (its fp16 filterbank matmul was off by up to 0.6 in
    the log-mel of a full-scale tone)."""
    skip_without(device)
    wave = _hard_waves(16000, device)
    reference = kaldi_fbank(wave)
    with torch.autocast(device_type=device, dtype=torch.float16):
        fbank = kaldi_fbank(wave)
    assert fbank.dtype == torch.float32 and torch.equal(fbank, reference)


AUGMENTED = AugmentConfig(p_resample=0.5, p_lowpass=0.5, p_mulaw=0.5)
CONFIGS = {
    "default": ({}, {}),  # cached features, gain + noise
    "augmented": ({}, {"augment": AUGMENTED}),  # waveform crops through the front-end inside autocast
    "uncached": ({}, {"cache_features": False}),
    "frozen": ({"freeze_frontend": True}, {}),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_amp_training_is_finite_and_writes_a_checkpoint(device, config, detector_corpus, tmp_path, amp_everywhere):
    skip_without(device)
    det_kw, train_kw = CONFIGS[config]
    det_cfg = tiny_detector_config()
    for key, value in det_kw.items():
        setattr(det_cfg, key, value)
    metrics = train(detector_corpus, tmp_path, det_cfg, tiny_train_config(epochs=1, device=device, **train_kw))
    assert all(math.isfinite(row["train_loss"]) for row in metrics["history"]), metrics["history"]
    assert (tmp_path / "model.safetensors").is_file()
    state = read_train_state(tmp_path / STATE_FILE)
    assert state["scaler"], "the GradScaler was not enabled: this test did not train under AMP"
    stats = {k: v for k, v in load_file(str(tmp_path / "model.safetensors")).items() if "running_" in k}
    assert stats and all(torch.isfinite(v).all() for v in stats.values())


@pytest.mark.parametrize("device", DEVICES)
def test_resume_on_the_training_device_continues_exactly(
    device, detector_corpus, tmp_path, amp_everywhere, record_property
):
    """Stop after one epoch, resume to two: the same weights as two epochs straight (RNG states restored on
    the right device, the CUDA generator included). Bit for bit on the CPU; on CUDA within 1e-4, the figure
    recorded (kernels without a deterministic implementation may differ by rounding)."""
    skip_without(device)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    train(detector_corpus, straight, tiny_detector_config(), tiny_train_config(epochs=2, device=device))
    train(detector_corpus, resumed, tiny_detector_config(), tiny_train_config(epochs=1, device=device))
    train(detector_corpus, resumed, tiny_detector_config(), tiny_train_config(epochs=2, device=device), resume=True)
    a, b = read_train_state(straight / STATE_FILE), read_train_state(resumed / STATE_FILE)
    assert (b["cuda_rng"] is not None) == (device == "cuda")
    assert b["torch_rng"].device.type == "cpu"
    diffs = {key: float((value.double() - b["model"][key].double()).abs().max()) for key, value in a["model"].items()
             if value.is_floating_point()}  # fmt: skip
    record_property("max_weight_diff", f"{max(diffs.values()):.2e}")
    for key, value in a["model"].items():
        if device == "cpu" or not value.is_floating_point():
            assert torch.equal(value, b["model"][key]), key
        else:
            assert diffs[key] <= 1e-4, (key, diffs[key])


def test_train_state_is_read_on_the_cpu_for_any_device(detector_corpus, tmp_path):
    """The CUDA resume crash, reproduced without a GPU: RNG states loaded onto another device (``meta`` stands
    in for ``cuda``) cannot be restored; ``read_train_state`` keeps them on the CPU, so restoring works."""
    train(detector_corpus, tmp_path, tiny_detector_config(), tiny_train_config(epochs=1))
    moved = torch.load(tmp_path / STATE_FILE, map_location="meta", weights_only=False)  # what the old code did
    with pytest.raises(TypeError):
        torch.set_rng_state(moved["torch_rng"])
    state = read_train_state(tmp_path / STATE_FILE)
    torch.manual_seed(123)
    restore_rng_states(state, torch.device("meta"))
    assert torch.equal(torch.get_rng_state(), state["torch_rng"])


# ---------------------------------------------------------------- float32 trainables
@pytest.mark.parametrize("device", DEVICES)
def test_half_precision_pretrained_frontends_train_in_float32(device, tmp_path, amp_everywhere):
    """``dtype="float16"`` (what ``"auto"`` gives on CUDA): a fine-tuned backbone's weights, and learned layer
    weights beside a frozen one, stay float32, so an enabled GradScaler can unscale their gradients."""
    skip_without(device)
    folder = tiny_models.wav2vec2_folder(tmp_path / "w2v")
    frozen = HFFrontend.from_pretrained(folder, dtype="float16", device=device, layer="weighted", freeze=True)
    assert frozen.layer_weights.dtype == torch.float32 and next(frozen.model.parameters()).dtype == torch.float16

    cfg = DetectorConfig(
        frontend=f"hf:{folder}", frontend_kwargs={"dtype": "float16", "device": device},
        backend_kwargs={"channels": 16, "dilations": [1, 2], "stem_channels": 4}, freeze_frontend=False,
    )
    model = DetectorModel(cfg).to(device).train()
    params = trainable_parameters(model)
    assert any(p is q for p in params for q in model.frontend.parameters())
    assert all(p.dtype == torch.float32 for p in params)
    wave = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    frames = model.num_frames(wave.shape[1])
    batch = Batch(wave, torch.zeros(2, frames), torch.ones(2, frames), torch.tensor([0.0, 1.0]))
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    scaler = torch.amp.GradScaler(device, enabled=True)
    terms = train_step(model, batch, optimizer, scaler, TrainConfig(device=device), torch.device(device))
    assert math.isfinite(terms["loss"])

    eat = EATFrontend(EATConfig(embed_dim=32, depth=2, num_heads=2, max_time_patches=128, num_classes=5))
    eat.to(torch.float16).unfreeze()
    assert all(p.dtype == torch.float32 for p in eat.parameters())


def test_configs_in_this_file_are_real(detector_corpus):
    """Guard: the augmented config really leaves the cached-feature path (else it would test nothing new)."""
    from detector.model import build_model
    from detector.train import uses_cached_features

    model = build_model(tiny_detector_config())
    assert uses_cached_features(model, tiny_train_config())
    assert not uses_cached_features(model, tiny_train_config(augment=AUGMENTED))
    assert not uses_cached_features(model, tiny_train_config(cache_features=False))
    json.dumps(CONFIGS, default=str)


#: CPU vs CUDA frame probabilities of one checkpoint: cuFFT vs pocketfft, and cuDNN convolutions in TF32 (on by
#: default) against exact float32, move probabilities by well under this
AGREEMENT_ATOL = 2e-3


@pytest.mark.gpu
@pytest.mark.parametrize("frontend", ["logmel", "stft"])
def test_cpu_and_cuda_detectors_agree(frontend, detector_corpus, tmp_path, record_property):
    skip_without("cuda")
    det_cfg = tiny_detector_config()
    if frontend == "stft":
        det_cfg.frontend_kwargs = {"sample_rate": 8000, "hop_length": 160, "n_fft": 320, "n_bands": 24,
                                   "n_detail_bands": 8}  # fmt: skip
    train(detector_corpus, tmp_path, det_cfg, tiny_train_config(epochs=1))
    cpu, cuda = load_model(tmp_path, "cpu"), load_model(tmp_path, "cuda")
    wave = 0.1 * torch.randn(3, 16000, generator=torch.Generator().manual_seed(0))
    wave[1, 8000:] = 0.0  # digital silence: the log floor
    with torch.no_grad():
        a = torch.sigmoid(cpu(wave)[0])
        b = torch.sigmoid(cuda(wave.cuda())[0]).cpu()
    diff = float((a - b).abs().max())
    record_property(f"cpu_cuda_max_prob_diff_{frontend}", f"{diff:.2e}")
    assert diff < AGREEMENT_ATOL
