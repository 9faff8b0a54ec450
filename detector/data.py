"""Corpus loading for training: records -> decoded waves (cached) -> fixed-length crops with frame labels,
or, for a :class:`~detector.frontends.CachableFrontend`, records -> cached front-end features -> crops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from detector.augment import AugmentConfig, add_noise, augment_wave, recording_history
from detector.level import normalise_level
from pipeline.audio_io import decode_audio, read_audio
from pipeline.containment import audio_inside
from pipeline.corpus import MANIFEST
from pipeline.errors import RejectedInput
from pipeline.manifest import ClipRecord, read_manifest
from pipeline.timemath import segments_to_frame_labels


def load_corpus(corpus_dir: str | Path) -> list[ClipRecord]:
    """Records of a corpus folder (``manifest.jsonl`` inside it), every clip checked before training starts: an
    audio path leaving the folder, a duplicate id, or audio that does not decode (missing, corrupt, truncated,
    NaN/Inf) refuses the corpus in one line naming the file (a corpus is a fixed dataset: training on what is left
    would give results no one can compare)."""
    path = Path(corpus_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{corpus_dir}: no {MANIFEST} (not a corpus folder)")
    records = read_manifest(path)
    check_corpus_audio(corpus_dir, records, path)
    return records


def check_corpus_audio(corpus_dir: str | Path, records: Sequence[ClipRecord], manifest: Path) -> None:
    """Raise ``RejectedInput`` for the first clip that cannot be trained on (see :func:`load_corpus`)."""
    seen: set[str] = set()
    for record in records:
        if record.id in seen:
            raise RejectedInput(str(manifest), f"duplicate clip id {record.id!r}")
        seen.add(record.id)
        decode_audio(audio_inside(corpus_dir, record.audio_path, record.id))


def split_records(
    records: Sequence[ClipRecord], split: str, holdout_manipulation: str | None = None
) -> list[ClipRecord]:
    """Records of ``split``, without fakes of ``holdout_manipulation`` (kept out of training/validation)."""
    return [
        r for r in records
        if r.split == split and not (holdout_manipulation and r.manipulation == holdout_manipulation)
    ]


def frame_targets(record: ClipRecord, num_samples: int, sample_rate: int, frame_s: float, frames: int) -> np.ndarray:
    """Frame labels at the front-end's own resolution, exactly ``frames`` long."""
    labels = segments_to_frame_labels(record.segments, num_samples / sample_rate, frame_s=frame_s)
    out = np.zeros(frames, dtype=np.float32)
    out[: min(frames, len(labels))] = labels[:frames]
    return out


@dataclass
class Batch:
    """Waves ``(B, samples)`` (or cached features ``(B, frames, dim)`` when ``features``), frame labels and
    validity mask ``(B, frames)``, clip labels ``(B,)``."""

    wave: torch.Tensor
    frame_labels: torch.Tensor
    frame_mask: torch.Tensor
    clip_labels: torch.Tensor
    features: bool = False


class CropDataset(torch.utils.data.Dataset):
    """Training clips as ``window_s`` crops (random offset when longer, zero-padded and masked when shorter).

    Waves are decoded once at ``sample_rate`` and kept in memory; crop offsets and augmentation are
    drawn from ``(seed, epoch, index)`` so a resumed run sees the same data.
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        root: str | Path,
        sample_rate: int,
        frame_s: float,
        num_frames,
        window_s: float,
        augment: AugmentConfig | None = None,
        seed: int = 0,
    ):
        self.records = list(records)
        self.waves = [read_audio(r.resolve_audio(root), sample_rate)[0] for r in self.records]
        self.sample_rate, self.frame_s, self.num_frames = sample_rate, frame_s, num_frames
        hop = round(frame_s * sample_rate)
        self.window = max(hop, round(window_s * sample_rate) // hop * hop)
        self.augment, self.seed, self.epoch = augment, seed, 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        wave, record = self.waves[i], self.records[i]
        frames_total = self.num_frames(len(wave))
        labels = frame_targets(record, len(wave), self.sample_rate, self.frame_s, frames_total)
        hop = round(self.frame_s * self.sample_rate)
        start_frame = int(rng.integers(0, (len(wave) - self.window) // hop + 1)) if len(wave) > self.window else 0
        crop = wave[start_frame * hop : start_frame * hop + self.window]
        if self.augment is not None:
            crop = augment_wave(crop, self.sample_rate, rng, self.augment)
        n_frames = self.num_frames(self.window)
        valid = min(n_frames, self.num_frames(len(crop)))
        out_labels = np.zeros(n_frames, dtype=np.float32)
        out_labels[:valid] = labels[start_frame : start_frame + valid]
        mask = np.zeros(n_frames, dtype=np.float32)
        mask[:valid] = 1.0
        padded = np.zeros(self.window, dtype=np.float32)
        padded[: len(crop)] = crop
        return padded, out_labels, mask


class FeatureDataset(torch.utils.data.Dataset):
    """Training clips as cached front-end features (:class:`CachableFrontend`), computed once per clip.

    With ``level_norm`` (the model's ``config.level_norm``) each clip and variant is level-normalised as
    :meth:`detector.model.DetectorModel.prepare` does per window, and gain augmentation is skipped (it
    would be normalised away). Augmentation matches :class:`CropDataset` for what it supports: gain is
    exact in feature space;
    additive noise is drawn once per clip (seeded) and its features cached beside the clean ones, so
    each epoch picks the noisy variant with probability ``p_noise`` (with the same SNR that epoch would
    get from the wave path only in distribution); likewise ``cached_histories`` recording histories per
    clip, one of which is picked with probability ``p_history``. Crops are taken on the frame grid.
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        root: str | Path,
        frontend,
        window_s: float,
        augment: AugmentConfig | None = None,
        seed: int = 0,
        level_norm: bool = False,
    ):
        self.records = list(records)
        self.frontend, self.augment, self.seed, self.epoch = frontend, augment, seed, 0
        self.level_norm = level_norm
        sr, self.frame_s = frontend.sample_rate, frontend.frame_s
        self.window = max(1, frontend.num_frames(round(window_s * sr)))
        self.feats, self.noisy, self.labels = [], [], []
        self.histories: list[list[torch.Tensor]] = []
        use_noise = augment is not None and augment.p_noise > 0
        n_histories = augment.cached_histories if augment is not None and augment.p_history > 0 else 0
        device = next(iter(frontend.buffers()), torch.empty(0)).device

        def features(audio: np.ndarray) -> torch.Tensor:
            x = torch.from_numpy(audio)[None].to(device)
            return frontend.features(normalise_level(x, sr) if level_norm else x)[0].cpu()

        with torch.no_grad():
            for i, r in enumerate(self.records):
                wave = read_audio(r.resolve_audio(root), sr)[0]
                frames = frontend.num_frames(len(wave))
                self.labels.append(frame_targets(r, len(wave), sr, self.frame_s, frames))
                self.feats.append(features(wave))
                if use_noise:
                    rng = np.random.default_rng([seed, i, 7919])
                    noisy = add_noise(wave, rng, augment.snr_db)
                    self.noisy.append(features(noisy))
                variants = []
                for v in range(n_histories):
                    shaped = recording_history(wave, sr, np.random.default_rng([seed, i, 7927, v]))
                    variants.append(features(shaped))
                self.histories.append(variants)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch, i])
        feats, labels, aug = self.feats[i], self.labels[i], self.augment
        start = int(rng.integers(0, len(feats) - self.window + 1)) if len(feats) > self.window else 0
        if aug is not None and self.noisy and rng.random() < aug.p_noise:
            feats = self.noisy[i]
        elif aug is not None and self.histories[i] and rng.random() < aug.p_history:
            feats = self.histories[i][int(rng.integers(len(self.histories[i])))]
        feats = feats[start : start + self.window]
        if aug is not None and rng.random() < aug.p_gain and not self.level_norm:  # a gain is normalised away
            feats = self.frontend.apply_gain(feats, float(rng.uniform(-aug.gain_db, aug.gain_db)))
        valid = len(feats)
        out = np.zeros((self.window, feats.shape[1]), dtype=np.float32)
        out[:valid] = feats.numpy()
        out_labels = np.zeros(self.window, dtype=np.float32)
        out_labels[:valid] = labels[start : start + valid]
        mask = np.zeros(self.window, dtype=np.float32)
        mask[:valid] = 1.0
        return out, out_labels, mask


def collate(items: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Batch:
    waves, labels, masks = (torch.from_numpy(np.stack(x)) for x in zip(*items, strict=True))
    clip = (labels * masks).amax(dim=1)
    return Batch(wave=waves, frame_labels=labels, frame_mask=masks, clip_labels=clip, features=waves.ndim == 3)
