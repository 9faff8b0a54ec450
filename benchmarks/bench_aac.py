"""Reals called fake after an AAC round trip (YouTube's codec: AudioCaps clips are decoded AAC), side by side with
the clean clips, at a checkpoint's stored threshold.

libsndfile has no AAC encoder, so this is not a ``--conditions`` kind: it runs ffmpeg's native ``aac`` encoder
(Debian: ``apt-get install ffmpeg``) on every real clip of the given manifests (a ``manifest.jsonl``'s ``--split``,
default ``test``; the wild set's ``manifest.jsonl`` keeps its ``clean`` version) and scores the decoded audio.

    PYTHONPATH=. python benchmarks/bench_aac.py --checkpoint runs/default \\
        --manifest demo1600/manifest.jsonl /tmp/wild_out2/wild/manifest.jsonl
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from detector.benchmark import read_test_manifest
from detector.evaluate import predict_records
from detector.inference import Detector

#: (kbps, encoder rate): a YouTube-like stream, a medium and two low-rate uploads.
SETTINGS = ((128, 44100), (64, 44100), (32, 22050), (24, 16000))


def aac_round_trip(audio: np.ndarray, rate: int, kbps: int, encode_at: int, folder: Path) -> np.ndarray:
    """``audio`` through ffmpeg's AAC encoder at ``kbps`` and ``encode_at`` Hz, decoded back to ``rate``."""
    src, enc, out = folder / "in.wav", folder / "enc.m4a", folder / "out.wav"
    sf.write(src, audio, rate)
    for args in (["-i", src, "-ar", str(encode_at), "-c:a", "aac", "-b:a", f"{kbps}k", enc],
                 ["-i", enc, "-ar", str(rate), out]):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True)
    decoded, _ = sf.read(out, dtype="float32")
    return decoded[: len(audio)] if decoded.ndim == 1 else decoded.mean(axis=1)[: len(audio)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--manifest", nargs="+", required=True)
    ap.add_argument("--split", default="test")
    args = ap.parse_args()
    if shutil.which("ffmpeg") is None:
        print("ffmpeg not found: install it (Debian: apt-get install ffmpeg)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    detector = Detector.from_checkpoint(args.checkpoint, device="cpu")
    print("| manifest | reals | clean | " + " | ".join(f"AAC {k} kbps @ {r / 1000:g} kHz" for k, r in SETTINGS) + " |")
    print("|---|---|---|" + "---|" * len(SETTINGS))
    with tempfile.TemporaryDirectory() as tmp:
        versions = [None] + [
            lambda wave, rate, _id, k=kbps, at=encode_at: aac_round_trip(wave, rate, k, at, Path(tmp))
            for kbps, encode_at in SETTINGS
        ]
        for manifest in args.manifest:
            reals = [r for r in read_test_manifest(manifest, args.split) if r.label == 0
                     and (r.extra or {}).get("variant", "clean") == "clean"]
            cells = []
            for transform in versions:  # the same scoring as `benchmark --conditions`, AAC as the transform
                preds, errors = predict_records(detector, reals, Path(manifest).parent, transform=transform)
                for error in errors:
                    print(error, file=sys.stderr)
                cells.append(f"{100 * np.mean([p.score >= detector.threshold for p in preds]):.1f} %")
            print(f"| {manifest} | {len(reals)} | {' | '.join(cells)} |", flush=True)
    print(f"\nreals called fake at the stored threshold {detector.threshold:.3f} ({args.checkpoint})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
