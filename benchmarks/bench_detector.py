"""Detector benchmark: train the default model and the FakeSound reference identically, compare them.

Prints, for the test split: clip EER, AUC, FakeSound accuracy, segment F1 at 1 s / 20 ms and event F1
with 95 % bootstrap CIs; the same with one manipulation type held out of training; training time;
and inference speed (x real time on one CPU thread) of both models side by side.

    python benchmarks/bench_detector.py --corpus DEMO_DIR            # e.g. built by `fakesound demo`
    python benchmarks/bench_detector.py --quick                      # tiny synthetic corpus, smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from detector.benchmark import json_safe, results_markdown
from detector.data import load_corpus
from detector.evaluate import metrics_by_group, predict_records
from detector.inference import Detector
from detector.model import DetectorConfig, build_model
from detector.synthetic import make_synthetic_corpus
from detector.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mrtcn", "fakesound-ref")


def rtf_one_thread(model_name: str, seconds: float = 10.0, repeats: int = 7) -> float:
    """x real time of a fresh model (front-end included) on one thread: median over ``repeats`` runs."""
    torch.set_num_threads(1)
    det = Detector(build_model(DetectorConfig(model=model_name)), device="cpu")
    wave = np.random.default_rng(0).standard_normal(int(seconds * det.sample_rate)).astype(np.float32) * 0.1
    det.predict_wave(wave)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        det.predict_wave(wave)
        times.append(time.perf_counter() - t)
    return seconds / statistics.median(times)


def evaluate(ckpt: Path, corpus: Path, split: str, n_boot: int) -> dict:
    records = [r for r in load_corpus(corpus) if r.split == split]
    preds, errors = predict_records(Detector.from_checkpoint(ckpt, device="cpu"), records, corpus)
    if errors:
        raise RuntimeError(errors[0])
    return metrics_by_group(preds, n_boot=n_boot)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="corpus folder (manifest.jsonl); default: a synthetic one")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "bench_detector")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="torch threads for training (the target is 2 cores)")
    ap.add_argument("--holdout", default="vocoder", help="manipulation held out of training ('' to skip)")
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="tiny synthetic corpus, 2 epochs, 100 resamples")
    args = ap.parse_args()
    if args.quick:
        args.epochs, args.n_boot = 2, 100
    work = args.work
    corpus = args.corpus
    if corpus is None:
        corpus = work / "synthetic_corpus"
        counts = {"train": 16, "val": 8, "test": 12} if args.quick else {"train": 200, "val": 40, "test": 80}
        if not (corpus / "manifest.jsonl").exists():
            make_synthetic_corpus(corpus, ROOT / "data" / "demo_kit", counts=counts,
                                  duration_s=4.0 if args.quick else 10.0, sample_rate=32000)
        print(f"corpus: synthetic ({sum(counts.values())} clips) at {corpus}")
    report: dict = {"corpus": str(corpus), "epochs": args.epochs, "threads": args.threads, "runs": {}}
    runs = [("all", None)] + ([("holdout", args.holdout)] if args.holdout else [])
    rows = []
    for run, holdout in runs:
        for name in args.models:
            torch.set_num_threads(args.threads)
            ckpt = work / f"{name}_{run}"
            cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, holdout_manipulation=holdout,
                              progress=False, seed=0)
            t0 = time.perf_counter()
            metrics = train(corpus, ckpt, DetectorConfig(model=name), cfg, resume=True)
            wall = time.perf_counter() - t0
            groups = evaluate(ckpt, corpus, "test", args.n_boot)
            report["runs"][f"{name}/{run}"] = {"train_seconds_total": metrics["train_seconds"],
                                               "train_wall_this_call": round(wall, 1),
                                               "best_epoch": metrics["best_epoch"], "test": groups}
            print(f"{name:14s} {run:8s} trained in {metrics['train_seconds']:.0f} s "
                  f"(best epoch {metrics['best_epoch']}/{args.epochs})")
            for group, m in groups.items():
                if run == "all" or group in ("all", holdout):
                    rows.append({"checkpoint": name, "manifest": run if not holdout else f"holdout:{holdout}",
                                 "split": "test", "group": group, "metrics": m})
    speed = {name: rtf_one_thread(name) for name in args.models}
    report["rtf_one_thread"] = speed
    print("\n" + results_markdown(rows))
    for name, rtf in speed.items():
        print(f"inference {name:14s}: {rtf:8.0f} x real time on 1 thread (10 s clip, front-end included)")
    if len(speed) == 2:
        a, b = (speed[m] for m in args.models)
        print(f"speed ratio {args.models[0]} / {args.models[1]}: {a / b:.1f}x")
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench_detector.json").write_text(json.dumps(json_safe(report), indent=2, default=float))
    (work / "results.md").write_text(results_markdown(rows))
    print(f"\nwritten: {work / 'bench_detector.json'}, {work / 'results.md'}")


if __name__ == "__main__":
    main()
