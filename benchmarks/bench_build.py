"""Benchmark the non-model build path: compose + ground/select + weight-free manipulation + splice + encode + manifest.

Each size runs in a fresh subprocess on one worker thread, so clips/s is per core and the peak
RSS is that build's own. Usage: ``python benchmarks/bench_build.py [--sizes 100 1000] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _one(clips: int, seed: int) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from flows.build import build_demo, thread_executor

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        records, rejections = build_demo(out, clips, seed, executor=thread_executor(1, progress=False))
        elapsed = time.perf_counter() - started
    by_type: dict[str, int] = {}
    for r in records:
        by_type[r.manipulation] = by_type.get(r.manipulation, 0) + 1
    return {
        "clips": len(records), "seconds": elapsed, "clips_per_s_per_core": len(records) / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rejected": len(rejections),
        "by_manipulation": by_type,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="only 40 clips")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.seed)))
        return
    sizes = [40] if args.quick else args.sizes
    rows = []
    for size in sizes:
        done = subprocess.run([sys.executable, __file__, "--child", str(size), "--seed", str(args.seed)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| clips | seconds | clips/s per core | peak RSS (MB) | rejected | manipulations |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in rows:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["by_manipulation"].items()))
        print(f"| {r['clips']} | {r['seconds']:.1f} | {r['clips_per_s_per_core']:.1f} | {r['peak_rss_mb']:.0f} "
              f"| {r['rejected']} | {kinds} |")
    if len(rows) > 1:
        print(f"throughput ratio {rows[-1]['clips']}/{rows[0]['clips']} clips: "
              f"{rows[-1]['clips_per_s_per_core'] / rows[0]['clips_per_s_per_core']:.2f}; "
              f"peak memory ratio {rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
