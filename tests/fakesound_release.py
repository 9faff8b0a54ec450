"""A FakeSound release in miniature: real metadata entries, synthetic audio standing in for AudioCaps.

The hidden "FakeSound real" of each clip is what FakeSound would have had (the original at the release rate,
16-bit); its fake is a hard splice of it, written where the metadata's ``filepath`` says. Sources are 32 kHz FLACs
with a source manifest, as ``import-sources`` writes them; one source is offset by 0.3 s, one holds the wrong
clip, one is missing, and one fake file is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.audio_io import quantize_pcm16, resample, write_audio
from pipeline.manifest import write_manifest
from pipeline.sources import source_record
from pipeline.timemath import segment_to_samples

ORIGINAL_RATE = 48000


def original_clip(seed: int, seconds: float = 10.0) -> np.ndarray:
    """A 48 kHz stand-in for an AudioCaps clip: tones and filtered noise with a changing envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * ORIGINAL_RATE)) / ORIGINAL_RATE
    tones = sum(rng.uniform(0.02, 0.08) * np.sin(2 * np.pi * rng.uniform(100, 3000) * t + rng.uniform(0, 6))
                for _ in range(4))
    noise = np.convolve(rng.standard_normal(len(t)), np.ones(8) / 8, mode="same") * 0.05
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    return ((tones + noise) * envelope).astype(np.float32)


def _subset(fixtures_dir, split: str, n_pairs: int) -> dict:
    entries = json.loads((fixtures_dir / "fakesound_meta" / f"{split}.json").read_text())["audios"]
    return {"audios": entries[: 2 * n_pairs]}  # the release lists each fake followed by its real


def make_release(root: Path, fixtures_dir: Path):
    """Metadata (5 easy pairs, 2 zeroshot pairs), the unpacked fakes, the sources, and the hidden reals."""
    meta = {"easy": _subset(fixtures_dir, "easy", 5), "zeroshot": _subset(fixtures_dir, "zeroshot", 2)}
    rates = {"easy": 32000, "zeroshot": 16000}
    hidden, originals = {}, {}
    for split, data in meta.items():
        (root / "meta").mkdir(parents=True, exist_ok=True)
        (root / "meta" / f"{split}.json").write_text(json.dumps(data, indent=4))
        for i, entry in enumerate(data["audios"]):
            if entry["label"] == 0:
                continue
            source_id = entry["audio_id"][: -len(entry["onset_offset"]) - 1]
            original = originals.setdefault(source_id, original_clip(len(originals)))
            real = quantize_pcm16(resample(original, ORIGINAL_RATE, rates[split]))
            hidden[split, source_id] = real
            start, stop = segment_to_samples(tuple(map(float, entry["onset_offset"].split("_"))), rates[split])
            fake = real.copy()
            fake[start:stop] = quantize_pcm16(np.random.default_rng(100 + i).uniform(-0.2, 0.2, stop - start))
            write_audio(root / "unpacked" / entry["filepath"], fake, rates[split])
    easy_sources = [e["audio_id"] for e in meta["easy"]["audios"] if e["label"] == 0]
    shifted, wrong, missing, no_fake = easy_sources[1:5]
    (root / "unpacked" / next(e["filepath"] for e in meta["easy"]["audios"]
                              if e["label"] == 1 and e["audio_id"].startswith(no_fake))).unlink()
    records = []
    for n, (source_id, original) in enumerate(sorted(originals.items())):
        if source_id == missing:
            continue
        audio = original
        if source_id == shifted:  # this mirror's clip starts 0.3 s earlier than FakeSound's
            audio = np.concatenate([original_clip(99, 0.3), original])
        if source_id == wrong:  # this mirror holds another clip under the same id
            audio = original_clip(77)
        path = write_audio(root / "sources" / "audio" / f"{source_id}_{n}.flac",
                           resample(audio, ORIGINAL_RATE, 32000), 32000)
        records.append(source_record(path, f"{source_id}_{n}", f"caption of {source_id}", root / "sources",
                                     {"youtube_id": source_id, "start_time": str(n)}))
    write_manifest(root / "sources" / "manifest.jsonl", records)
    cases = {"shifted": shifted, "wrong": wrong, "missing": missing, "no_fake": no_fake}
    return root, hidden, cases, easy_sources
