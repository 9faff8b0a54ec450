"""A small synthetic splice corpus from real recordings, for tests and benchmarks without a built corpus.

Real clips are a background excerpt with one or two foreground events. Fakes replace one region
(40 ms grid) of such a clip, outside of which they stay bit-identical after 16-bit encoding:
``splice`` (the span from a different real mixture), ``addition`` (an extra event mixed in) and
``vocoder`` (the span resynthesised from its STFT magnitude with Griffin-Lim phase).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import signal

from pipeline.audio_io import quantize_pcm16, read_audio, write_audio
from pipeline.manifest import FAKE, REAL, ClipRecord, write_manifest
from pipeline.splice import fit_length, splice
from pipeline.timemath import segment_to_samples, snap_segment

MANIPULATIONS = ("splice", "addition", "vocoder")


def _griffin_lim(x: np.ndarray, sr: int, rng: np.random.Generator, iters: int = 4) -> np.ndarray:
    nperseg = max(64, int(0.032 * sr))
    _, _, spec = signal.stft(x, fs=sr, nperseg=nperseg)
    mag = np.abs(spec)
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    y = x
    for _ in range(iters):
        _, y = signal.istft(mag * phase, fs=sr, nperseg=nperseg)
        _, _, est = signal.stft(fit_length(y, len(x)), fs=sr, nperseg=nperseg)
        phase = np.exp(1j * np.angle(est))
    return fit_length(np.asarray(y, dtype=np.float32), len(x))


class _Kit:
    def __init__(self, kit_dir: Path, sample_rate: int):
        self.backgrounds = [read_audio(p, sample_rate)[0] for p in sorted(kit_dir.glob("bg_*.flac"))]
        self.events = [read_audio(p, sample_rate)[0] for p in sorted(kit_dir.glob("ev_*.flac"))]
        if not self.backgrounds or not self.events:
            raise FileNotFoundError(f"{kit_dir}: no bg_*.flac / ev_*.flac demo-kit recordings")

    def mixture(self, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
        bg = self.backgrounds[rng.integers(len(self.backgrounds))]
        bg = np.roll(np.tile(bg, int(np.ceil(n / len(bg)))), -int(rng.integers(len(bg))))[:n].copy()
        for _ in range(int(rng.integers(1, 3))):
            self.add_event(bg, 0, n, sr, rng)
        return bg

    def add_event(self, out: np.ndarray, start: int, stop: int, sr: int, rng: np.random.Generator) -> None:
        event = self.events[rng.integers(len(self.events))][: stop - start]
        onset = start + int(rng.integers(0, max(1, stop - start - len(event) + 1)))
        gain = 10 ** (rng.uniform(-12, -3) / 20)
        out[onset : onset + len(event)] += gain * event[: len(out) - onset]


def make_synthetic_corpus(
    out_dir: str | Path,
    kit_dir: str | Path,
    counts: dict[str, int] | None = None,
    duration_s: float = 10.0,
    sample_rate: int = 16000,
    seed: int = 0,
    manipulations: tuple[str, ...] = MANIPULATIONS,
) -> Path:
    """Write ``audio/*.wav`` and ``manifest.jsonl`` under ``out_dir``; half of each split is fake.

    ``counts`` maps split -> number of clips (default train 120, val 30, test 60); manipulation
    types cycle over the fakes. Returns the manifest path.
    """
    out_dir, rng = Path(out_dir), np.random.default_rng(seed)
    counts = counts or {"train": 120, "val": 30, "test": 60}
    kit = _Kit(Path(kit_dir), sample_rate)
    n = round(duration_s * sample_rate)
    records, k = [], 0
    for split, count in counts.items():
        for i in range(count):
            clip_id = f"{split}_{i:04d}"
            audio = kit.mixture(n, sample_rate, rng)
            label, segments, manipulation = REAL, [], "real"
            if i % 2 == 1:
                manipulation = manipulations[k % len(manipulations)]
                k += 1
                length = rng.uniform(0.1, 0.4) * duration_s
                onset = rng.uniform(0.05 * duration_s, duration_s - length - 0.05 * duration_s)
                segment = snap_segment((onset, onset + length))
                audio = quantize_pcm16(audio)
                start, stop = segment_to_samples(segment, sample_rate)
                if manipulation == "splice":
                    insert = kit.mixture(n, sample_rate, rng)[start:stop]
                elif manipulation == "addition":
                    insert = audio[start:stop].copy()
                    kit.add_event(insert, 0, len(insert), sample_rate, rng)
                elif manipulation == "vocoder":
                    insert = _griffin_lim(audio[start:stop], sample_rate, rng)
                else:
                    raise ValueError(f"unknown synthetic manipulation {manipulation!r}")
                audio = splice(audio, fit_length(insert, stop - start), segment, sample_rate)
                label, segments = FAKE, [segment]
            rel = f"audio/{clip_id}.wav"
            write_audio(out_dir / rel, np.clip(audio, -1, 1), sample_rate)
            records.append(
                ClipRecord(
                    id=clip_id, label=label, audio_path=rel, split=split, segments=segments,
                    manipulation=manipulation, generator="synthetic" if label == FAKE else "",
                    sample_rate=sample_rate, num_samples=n, duration=n / sample_rate, seed=seed,
                )
            )
    return write_manifest(out_dir / "manifest.jsonl", records)
