"""Training loop: every trainable parameter optimised, validation-selected checkpoints, resumable.

Output folder (``CKPT_DIR``): ``model.safetensors`` + ``config.json`` (best epoch by the validation
selection score), ``metrics.json`` (history and best validation metrics) and ``train_state.pt``
(latest weights, optimiser, scheduler, scaler, epoch) for ``resume=True``.

With a :class:`~detector.frontends.CachableFrontend` (``stft``, ``logmel``) and gain/noise-only
augmentation, front-end features are computed once per clip and the loop trains on them
(:class:`~detector.data.FeatureDataset`); the model and checkpoint are the same, only faster to train.
"""

from __future__ import annotations

import json
import math
import pickle
import random
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from detector.config import TrainConfig
from detector.data import CropDataset, FeatureDataset, collate, load_corpus, split_records
from detector.evaluate import compute_metrics, decide_threshold, json_safe, predict_records, selection_score
from detector.frontends import CachableFrontend
from detector.frontends.base import trainables_to_float32
from detector.inference import Detector
from detector.losses import detection_loss
from detector.model import (
    DetectorConfig,
    DetectorModel,
    build_model,
    load_model,
    read_config,
    resolve_device,
    save_model,
)
from pipeline.atomic import atomic_path, atomic_write_text
from pipeline.conditions import apply_conditions, draw_history
from pipeline.hashing import config_hash
from pipeline.manifest import ClipRecord

STATE_FILE = "train_state.pt"
METRICS_FILE = "metrics.json"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device), and ask cuDNN for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False


def amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """Mixed precision: float16 autocast with a GradScaler on CUDA when ``cfg.amp``; none elsewhere."""
    return torch.float16 if cfg.amp and device.type == "cuda" else None


def read_train_state(path: Path) -> dict[str, Any]:
    """``train_state.pt`` loaded onto the CPU: RNG states must stay CPU ByteTensors (``map_location=cuda``
    would move them and ``torch.set_rng_state`` raises); model and optimiser states are copied onto the
    parameters' device by ``load_state_dict``."""
    try:  # tensors and plain containers only: a crafted state file cannot run code on load
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path}: holds Python objects beyond tensors and plain values; not unpickled "
                         f"(delete it to start afresh): {str(err).splitlines()[0][:160]}") from None


def rng_states(device: torch.device) -> dict[str, torch.Tensor | None]:
    """The CPU generator's state and, when training on CUDA, that device's (dropout draws from it)."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}


def restore_rng_states(state: dict[str, Any], device: torch.device) -> None:
    """Inverse of :func:`rng_states` (a state saved without ``cuda_rng`` restores the CPU generator only)."""
    torch.set_rng_state(state["torch_rng"])
    if device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def train_val_records(
    records: list[ClipRecord], holdout: str | None, val_fraction: float, seed: int
) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """The train and val splits (held-out manipulation removed); without a val split, a seeded share of
    training *sources* is moved to validation so a source's real clip and its fakes stay together."""
    train, val = split_records(records, "train", holdout), split_records(records, "val", holdout)
    if not train:
        raise ValueError("corpus has no training clips (split 'train')")
    if val:
        return train, val
    sources = sorted({r.source_id for r in train})
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(sources)[: max(1, round(val_fraction * len(sources)))].tolist())
    return [r for r in train if r.source_id not in held], [r for r in train if r.source_id in held]


def make_scheduler(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to zero."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Every parameter that requires grad: front-end (unless frozen), back-end and both heads."""
    return [p for p in model.parameters() if p.requires_grad]


def train_step(
    model: DetectorModel, batch, optimizer, scaler, cfg: TrainConfig, device: torch.device
) -> dict[str, float]:
    """One optimisation step on ``batch``; returns the loss terms."""
    dtype = amp_dtype(cfg, device)
    with torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        inputs = batch.wave.to(device)
        frame_logits, clip_logits = model.forward_features(inputs) if batch.features else model(inputs)
    loss, terms = detection_loss(
        frame_logits, clip_logits, batch.frame_labels.to(device), batch.frame_mask.to(device),
        batch.clip_labels.to(device), cfg.clip_loss_weight, cfg.boundary_weight, cfg.boundary_frames,
    )
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return {"loss": float(loss.detach()), **terms}


def validate(
    model: DetectorModel, records: list[ClipRecord], root: Path, cfg: TrainConfig, device
) -> tuple[dict, list]:
    """Validation metrics and the predictions they came from (the stored threshold is chosen on them)."""
    detector = Detector(model, cfg.threshold, device)
    preds, errors = predict_records(detector, records, root)
    if errors:
        raise ValueError(f"validation audio unreadable: {errors[0]}")
    return compute_metrics(preds, cfg.threshold, n_boot=0), preds


def history_reals(
    model: DetectorModel, records: list[ClipRecord], root: Path, cfg: TrainConfig, device
) -> list:
    """Predictions for the real validation clips, each through ``cfg.threshold_histories`` web histories (a
    :func:`pipeline.conditions.draw_history` with level treatments, then a level from -20 to +6 dB, clipped at
    full scale as a file would be), seeded by the training seed, the variant and the clip id."""
    reals = [r for r in records if r.label == 0]
    detector, preds = Detector(model, cfg.threshold, device), []
    for variant in range(cfg.threshold_histories):
        def transform(wave: np.ndarray, rate: int, clip_id: str, variant: int = variant) -> np.ndarray:
            rng = np.random.default_rng([cfg.seed, variant, zlib.crc32(clip_id.encode())])
            shaped = apply_conditions(wave, rate, draw_history(rng, rate, levels=True), rng)
            return np.clip(shaped * np.float32(10 ** (rng.uniform(-20.0, 6.0) / 20)), -1.0, 1.0)

        variant_preds, errors = predict_records(detector, reals, root, transform=transform)
        if errors:
            raise ValueError(f"validation audio unreadable: {errors[0]}")
        preds += variant_preds
    return preds


def uses_cached_features(model: DetectorModel, cfg: TrainConfig) -> bool:
    """Cached features are exact for a :class:`CachableFrontend` with gain/noise-only augmentation."""
    return (
        cfg.cache_features and isinstance(model.frontend, CachableFrontend) and not model.config.freeze_frontend
        and (cfg.augment is None or cfg.augment.feature_space_only())
    )


def make_dataset(
    model: DetectorModel, det_cfg: DetectorConfig, cfg: TrainConfig, records: list[ClipRecord], root: Path
) -> torch.utils.data.Dataset:
    """Cached-feature crops when :func:`uses_cached_features`, else waveform crops."""
    if uses_cached_features(model, cfg):
        return FeatureDataset(
            records, root, model.frontend, det_cfg.window_s, cfg.augment, cfg.seed, level_norm=det_cfg.level_norm
        )
    return CropDataset(
        records, root, model.sample_rate, model.frame_s, model.num_frames, det_cfg.window_s, cfg.augment, cfg.seed
    )


def _run_hash(det_cfg: DetectorConfig, cfg: TrainConfig, corpus_dir: Path) -> str:
    """What the weights depend on: the decision settings (``threshold_rule``, ``threshold_histories``) are left out, so
    a finished run resumed with other ones keeps its weights and only chooses its threshold again."""
    skip = ("epochs", "progress", "device", "cache_features", "threshold_rule", "threshold_histories")
    keep = {k: v for k, v in cfg.to_dict().items() if k not in skip}
    return config_hash({"detector": det_cfg.to_dict(), "train": keep, "corpus": str(corpus_dir.resolve())})


def train(
    corpus_dir: str | Path,
    out_dir: str | Path,
    detector_config: DetectorConfig | None = None,
    train_config: TrainConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train on a corpus folder's train split, select on its val split, write ``out_dir``; returns metrics."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    det_cfg, cfg = detector_config or DetectorConfig(), train_config or TrainConfig()
    device = resolve_device(cfg.device)
    train_recs, val_recs = train_val_records(
        load_corpus(corpus_dir), cfg.holdout_manipulation, cfg.val_fraction, cfg.seed
    )
    run_hash = _run_hash(det_cfg, cfg, corpus_dir)

    seed_everything(cfg.seed)
    model = trainables_to_float32(build_model(det_cfg).to(device))
    params = trainable_parameters(model)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(train_recs) / cfg.batch_size)  # one item per training clip
    scheduler = make_scheduler(optimizer, cfg.warmup_steps, cfg.epochs * steps_per_epoch)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype(cfg, device) == torch.float16)
    start_epoch, best, history, elapsed = 0, -math.inf, [], 0.0
    best_val: dict[str, Any] = {}

    state_path = out_dir / STATE_FILE
    if resume and state_path.is_file():
        state = read_train_state(state_path)
        if state["run_hash"] != run_hash:
            raise ValueError(f"{out_dir}: cannot resume, the checkpoint was trained with another config or corpus")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, best, history, elapsed = state["epoch"], state["best"], state["history"], state["elapsed_s"]
        best_val = state.get("best_val", {})
        restore_rng_states(state, device)

    extra = {"train": cfg.to_dict(), "corpus": str(corpus_dir), "n_train": len(train_recs), "n_val": len(val_recs)}
    # built only when an epoch is left: caching features costs minutes, and a finished run resumed (a new decision
    # rule, a benchmark rerun) trains nothing
    dataset = make_dataset(model, det_cfg, cfg, train_recs, corpus_dir) if start_epoch < cfg.epochs else None
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        dataset.epoch = epoch
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=cfg.batch_size, shuffle=True, collate_fn=collate,
            generator=torch.Generator().manual_seed(cfg.seed * 100003 + epoch),
        )
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not cfg.progress, leave=False)
        for batch in bar:
            terms = train_step(model, batch, optimizer, scaler, cfg, device)
            scheduler.step()
            losses.append(terms["loss"])
            bar.set_postfix(loss=f"{terms['loss']:.3f}")
        val, val_preds = validate(model, val_recs, corpus_dir, cfg, device)
        score = selection_score(val)
        elapsed += time.perf_counter() - t0
        row = {
            "epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_eer": val["eer"]["value"],
            "val_seg_f1_1s": val["seg_f1_1s"]["value"], "val_seg_f1_20ms": val["seg_f1_20ms"]["value"],
            "val_score": score, "elapsed_s": round(elapsed, 2),
        }
        history.append(row)
        if cfg.progress:
            tqdm.write(json.dumps(json_safe(row)))
        if score > best:
            decision = {**decide_threshold(val_preds, cfg.threshold_rule), "histories": 0}
            best, best_val = score, {**row, "metrics": val, "decision": decision}
            save_model(model, out_dir, {**extra, "decision": decision})
        with atomic_path(state_path) as tmp:
            torch.save(
                {
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch + 1,
                    "best": best, "best_val": best_val, "history": history, "elapsed_s": elapsed,
                    **rng_states(device), "run_hash": run_hash,
                },
                tmp,
            )
        summary = {"best_epoch": best_val.get("epoch"), "best_val": best_val, "history": history,
                   "train_seconds": round(elapsed, 2), "epochs_done": epoch + 1, **extra}
        atomic_write_text(out_dir / METRICS_FILE, json.dumps(json_safe(summary), indent=2, default=float))
    if _needs_new_decision(out_dir, cfg):  # after any epoch that saved a new best, or a changed decision setting
        calibrate_threshold(out_dir, val_recs, corpus_dir, cfg, device)
    return json.loads((out_dir / METRICS_FILE).read_text()) if (out_dir / METRICS_FILE).exists() else {}


def _needs_new_decision(out_dir: Path, cfg: TrainConfig) -> bool:
    if not (out_dir / "config.json").is_file():
        return False
    decision = read_config(out_dir).get("decision") or {}
    return (decision.get("histories", 0) != cfg.threshold_histories or decision.get("rule") != cfg.threshold_rule
            or "tail_scale" not in decision)


def calibrate_threshold(out_dir: Path, val_recs: list[ClipRecord], corpus_dir: Path, cfg: TrainConfig, device) -> None:
    """Choose the stored threshold again for the selected checkpoint, on the clean validation clips plus
    ``cfg.threshold_histories`` web-history variants of each validation real (:func:`history_reals`); once, after
    training, so the epochs do not pay for it. Rewrites ``config.json`` and the best epoch in ``metrics.json``."""
    model = load_model(out_dir, device)
    preds = validate(model, val_recs, corpus_dir, cfg, device)[1] + history_reals(model, val_recs, corpus_dir, cfg,
                                                                                   device)
    decision = {**decide_threshold(preds, cfg.threshold_rule), "histories": cfg.threshold_histories}
    config = read_config(out_dir)
    save_model(model, out_dir, {**{k: v for k, v in config.items() if k != "detector"}, "decision": decision})
    metrics_path = out_dir / METRICS_FILE
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        metrics.setdefault("best_val", {})["decision"] = decision
        atomic_write_text(metrics_path, json.dumps(json_safe(metrics), indent=2, default=float))


def load_train_config(ckpt_dir: str | Path) -> TrainConfig:
    """The training config stored beside a checkpoint."""
    return TrainConfig.from_dict(read_config(ckpt_dir).get("train", {}))
