"""Import speed of ``import_hf_sources`` in clips per second, on AudioCaps-sized rows.

    python benchmarks/bench_import.py [--clips N] [--workers 1,2] [--format FLAC|WAV] [--channels 1|2]

Writes a parquet dataset of ``--clips`` random 10 s clips at 48 kHz (jp1924/AudioCaps's rate) with AudioCaps
columns, then imports it (decode -> mono -> soxr to 32 kHz -> 16-bit FLAC + hash) from scratch, per worker
count, from the parquet file and streamed. Prints clips/s and the rerun time (every clip already done).
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.hf_sources import import_hf_sources
from pipeline.requests import ImportRequest

RATE = 48000


def make_dataset(path: Path, clips: int, fmt: str, channels: int) -> Path:
    from datasets import Audio, Dataset

    rng = np.random.default_rng(0)
    rows = []
    for i in range(clips):
        audio = np.cumsum(rng.standard_normal((10 * RATE, channels)), axis=0)  # brown noise: compresses like audio
        audio = 0.3 * audio / np.max(np.abs(audio))
        buf = io.BytesIO()
        sf.write(buf, audio, RATE, format=fmt, subtype="PCM_16")
        rows.append({"audiocap_id": i, "youtube_id": f"clip{i:05d}", "start_time": 30, "caption": "noise",
                     "audio": {"bytes": buf.getvalue(), "path": None}})
    Dataset.from_list(rows).cast_column("audio", Audio(sampling_rate=RATE)).to_parquet(str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--format", default="FLAC", choices=("FLAC", "WAV"))
    parser.add_argument("--channels", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp) / "train-00000-of-00001.parquet", args.clips, args.format, args.channels)
        print(f"{args.clips} clips, 10 s, {RATE} Hz, {args.channels} ch, {args.format}")
        for streaming in (False, True):
            for workers in (int(w) for w in args.workers.split(",")):
                out = Path(tmp) / "out"
                request = ImportRequest(hf_dataset=str(data), out=str(out), streaming=streaming, workers=workers)
                started = time.perf_counter()
                result = import_hf_sources(request)
                seconds = time.perf_counter() - started
                started = time.perf_counter()
                import_hf_sources(request)
                rerun = time.perf_counter() - started
                assert len(result.records) == args.clips and not result.rejected
                print(f"streaming={streaming!s:5} workers={workers}: {args.clips / seconds:6.1f} clips/s "
                      f"({seconds:.1f} s), rerun {rerun:.1f} s")
                shutil.rmtree(out)


if __name__ == "__main__":
    main()
