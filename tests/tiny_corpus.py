"""A tiny corpus folder written with the core's own writers (for publishing tests; no build needed), and the check
every built corpus must pass: fakes are hard splices of their reals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.audio_io import read_audio, write_audio
from pipeline.hashing import sha256_file
from pipeline.manifest import ClipRecord, write_manifest
from pipeline.timemath import segment_to_samples

SAMPLE_RATE = 16000
SPLITS = {"train": 3, "val": 1, "test": 1}
LICENSES_TEXT = """# Licences and attribution

* 2 files: **CC BY-SA 3.0** (Example Game, Example Studio).
* 1 file: **CC BY 3.0** (Example Mod).

## Attribution text to reproduce

> Sounds from Example Game by Example Studio, licensed under CC BY-SA 3.0. All sounds were modified.
"""


def make_tiny_corpus(root: Path, seed: int = 0) -> list[ClipRecord]:
    """Per split, N sources: a real clip and one fake (a splice over 0.2-0.4 s; train's third one leaves
    0.28-0.32 s real, so it has two segments). Returns the records."""
    rng = np.random.default_rng(seed)
    records = []
    for split, n in SPLITS.items():
        for i in range(n):
            source = f"{split}src{i}"
            real = (0.1 * rng.standard_normal(SAMPLE_RATE // 2)).astype(np.float32)
            fake = real.copy()
            fake[int(0.2 * SAMPLE_RATE):int(0.4 * SAMPLE_RATE)] = 0.3 * np.sin(np.arange(int(0.2 * SAMPLE_RATE)) / 7)
            segments = [(0.2, 0.4)]
            if split == "train" and i == 2:  # 0.28-0.32 s left real (a silent gap in what was added): two segments
                gap = slice(int(0.28 * SAMPLE_RATE), int(0.32 * SAMPLE_RATE))
                fake[gap] = real[gap]
                segments = [(0.2, 0.28), (0.32, 0.4)]
            for label, clip_id, audio in ((0, source, real), (1, f"{source}_0.2_0.4", fake)):
                rel = f"audio/{split}/{clip_id}.wav"
                write_audio(root / rel, audio, SAMPLE_RATE)
                records.append(ClipRecord(
                    id=clip_id, label=label, audio_path=rel, source_id=source, split=split,
                    segments=segments if label else [],
                    manipulation=("splice" if i % 2 == 0 else "addition") if label else "real",
                    generator=("donor-splice" if i % 2 == 0 else "donor-mix") if label else "",
                    caption=f"a river flows, take {i}", sample_rate=SAMPLE_RATE, num_samples=len(audio),
                    duration=len(audio) / SAMPLE_RATE, sha256=sha256_file(root / rel), seed=1000 + i if label else None,
                    extra={"donor": f"donor{i}", "snr_db": 3.5} if label else {},
                ))
    write_manifest(root / "manifest.jsonl", records)
    (root / "LICENSES.md").write_text(LICENSES_TEXT, encoding="utf-8")
    (root / "summary.json").write_text(json.dumps({"recipe": {"name": "weight-free", "backends": ["splice"]},
                                                    "seed": seed, "clips": len(records)}), encoding="utf-8")
    return records


def assert_fakes_are_hard_splices(corpus: Path, records: list[ClipRecord], rate: int) -> list[ClipRecord]:
    """One fake per real; each fake equals its real outside its segments, sample for sample, and differs in each.
    Returns the fakes."""
    by_id = {r.id: r for r in records}
    fakes = [r for r in records if r.label == 1]
    assert fakes and len(fakes) * 2 == len(records)
    for fake in fakes:
        real, _ = read_audio(corpus / by_id[fake.source_id].audio_path)
        made, got_rate = read_audio(corpus / fake.audio_path)
        assert got_rate == rate == fake.sample_rate and made.shape == real.shape
        inside = np.zeros(len(real), dtype=bool)
        for segment in fake.segments:
            start, stop = segment_to_samples(segment, rate)
            inside[start:stop] = True
            assert not np.array_equal(real[start:stop], made[start:stop])
        assert np.array_equal(real[~inside], made[~inside])
    return fakes
