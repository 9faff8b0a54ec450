"""Benchmark the EAT front-end: real-size EAT-base (random weights) on a 10 s clip, CPU.

Each thread count runs in a fresh subprocess, so the peak RSS is that run's own. Reported per clip:
fbank time, encoder time, total, real-time factor, peak RSS, and (full run) one fine-tuning
forward+backward. Usage: ``python benchmarks/bench_eat.py [--threads 1 2] [--repeats 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _one(threads: int, repeats: int, clip_s: float, train: bool) -> dict:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from detector.frontends.eat import EATConfig, EATFrontend, kaldi_fbank

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.manual_seed(0)
    frontend = EATFrontend(EATConfig.base())  # frozen, fp32, 1024-frame windows as in EAT's training
    params = sum(p.numel() for p in frontend.parameters())
    wave = 0.1 * torch.randn(1, int(clip_s * 16000), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        frontend(wave)  # warm-up
        fbank_s, total_s = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            kaldi_fbank(wave)
            t1 = time.perf_counter()
            out = frontend(wave)
            t2 = time.perf_counter()
            fbank_s.append(t1 - t0)
            total_s.append(t2 - t1)
    result = {
        "threads": threads,
        "clip_s": clip_s,
        "frames": tuple(out.shape),
        "params_m": params / 1e6,
        "fbank_s": min(fbank_s),
        "total_s": min(total_s),
        "rtf": min(total_s) / clip_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_model_mb": rss_start,
    }
    if train:
        frontend.unfreeze()
        frontend.train()
        t0 = time.perf_counter()
        frontend(wave).pow(2).mean().backward()
        result["finetune_step_s"] = time.perf_counter() - t0
        result["peak_rss_after_finetune_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip-s", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="1 repeat, no fine-tuning step")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--train", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.child, args.repeats, args.clip_s, args.train)))
        return
    repeats = 1 if args.quick else args.repeats
    rows = []
    for threads in args.threads:
        cmd = [sys.executable, __file__, "--child", str(threads), "--repeats", str(repeats)]
        cmd += ["--clip-s", str(args.clip_s)]
        if not args.quick:
            cmd.append("--train")
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"EAT-base (random weights, {rows[0]['params_m']:.1f} M params), {args.clip_s:g} s clip, CPU, fp32, frozen")
    header = ("threads", "frames", "fbank s", "total s", "RTF", "peak RSS MB", "ft step s")
    print(" ".join(f"{h:>{w}}" for h, w in zip(header, (7, 12, 8, 8, 6, 11, 9), strict=True)))
    for r in rows:
        ft = f"{r['finetune_step_s']:.2f}" if "finetune_step_s" in r else "-"
        print(
            f"{r['threads']:>7} {r['frames']!s:>12} {r['fbank_s']:>8.3f} {r['total_s']:>8.2f} {r['rtf']:>6.3f} "
            f"{r['peak_rss_mb']:>11.0f} {ft:>9}"
        )
    if len(rows) > 1:
        ratio = rows[0]["total_s"] / rows[-1]["total_s"]
        print(f"speed-up {rows[-1]['threads']} vs {rows[0]['threads']} threads: {ratio:.2f}x")
    for r in rows:
        if "peak_rss_after_finetune_mb" in r:
            mb = r["peak_rss_after_finetune_mb"]
            print(f"peak RSS incl. one fine-tuning step ({r['threads']} threads): {mb:.0f} MB")


if __name__ == "__main__":
    main()
