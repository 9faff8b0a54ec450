"""Throughput of the weight-free backends and the energy grounder, on one core, side by side.

Regions of ``--region-s`` (default 2 s) at 32 kHz cut from a real demo-kit recording; every
backend gets the same regions and seeds. Rates are per CPU second of this process (robust on a
shared machine); wall-clock rates are printed alongside. Usage:
``python benchmarks/bench_weightfree.py [--regions 100] [--quick]`` (pin a core with ``taskset -c 0``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from grounding import RegionPolicy, energy_regions, select_region  # noqa: E402
from pipeline.audio_io import read_audio  # noqa: E402
from pipeline.errors import RejectedInput  # noqa: E402
from regenerate.base import Donor, RegionRequest  # noqa: E402
from regenerate.configs import VocoderConfig  # noqa: E402
from regenerate.weightfree import AdditionRegenerator, GenuineSpliceRegenerator, GriffinLimRegenerator  # noqa: E402

RATE = 32000


def kit_donors(kit: Path) -> list[Donor]:
    donors = []
    for path in sorted(kit.glob("*.flac")):
        audio, sr = read_audio(path, RATE)
        donors.append(Donor(path.stem, audio, sr, path.stem.split("_", 1)[1].replace("_", " ")))
    return donors


def requests(clip: np.ndarray, count: int, region_s: float) -> list[RegionRequest]:
    rng = np.random.default_rng(0)
    starts = np.round(rng.uniform(0, len(clip) / RATE - region_s, count) / 0.04) * 0.04
    return [RegionRequest("bench", clip, RATE, (float(s), float(s) + region_s), "", i) for i, s in enumerate(starts)]


def throughput(backend, reqs: list[RegionRequest]) -> tuple[float, float]:
    """(regions per CPU second, regions per wall second); CPU time is robust to a shared machine."""
    backend.regenerate(reqs[0])  # warm caches (resampled donors, filterbanks)
    cpu, wall = time.process_time(), time.perf_counter()
    for req in reqs:
        backend.regenerate(req)
    return len(reqs) / (time.process_time() - cpu), len(reqs) / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=100)
    parser.add_argument("--region-s", type=float, default=2.0)
    parser.add_argument("--kit", type=Path, default=Path(__file__).resolve().parents[1] / "pipeline" / "demo_kit")
    parser.add_argument("--quick", action="store_true", help="10 regions, fewer variants")
    args = parser.parse_args()
    count = 10 if args.quick else args.regions
    donors = kit_donors(args.kit)
    clip = next(d.audio for d in donors if d.id == "bg_farmyard")
    reqs = requests(clip, count, args.region_s)
    backends = {
        "splice": GenuineSpliceRegenerator(donors),
        "addition": AdditionRegenerator(donors),
    }
    for iters in (32,) if args.quick else (8, 16, 32, 64):
        backends[f"vocoder (griffin-lim, {iters} iters)"] = GriffinLimRegenerator(VocoderConfig(iters=iters))
    threads = os.environ["OMP_NUM_THREADS"]
    print(f"{count} regions of {args.region_s} s at {RATE} Hz, OMP_NUM_THREADS={threads}")
    base = None
    for name, backend in backends.items():
        rate, wall_rate = throughput(backend, reqs)
        base = base or rate
        print(f"  {name:34s} {rate:9.1f} regions/s  {1000 / rate:8.2f} ms/region  "
              f"{rate * args.region_s:9.0f}x real time  ({rate / base:.4f} of splice; wall {wall_rate:.1f}/s)")
    clips = [d for d in donors if d.id.startswith("bg_")]
    started = time.process_time()
    for d in clips:
        energy_regions(d.audio, RATE)
    per_clip = (time.process_time() - started) / len(clips)
    print(f"  energy grounder (10 s clips)       {1 / per_clip:9.1f} clips/s    {1000 * per_clip:8.2f} ms/clip")
    started, rejected = time.process_time(), 0
    for i, d in enumerate(clips):
        try:
            select_region(d.id, 10.0, None, RegionPolicy(), i, d.audio, RATE)
        except RejectedInput:
            rejected += 1  # steady backgrounds: nothing stands out
    rate = len(clips) / (time.process_time() - started)
    print(f"  select_region (energy fallback)    {rate:9.1f} clips/s    ({rejected}/{len(clips)}: no event stands out)")


if __name__ == "__main__":
    main()
