"""``fakesound train | detect | benchmark``: options are the requests' fields (:mod:`detector.config`).

Building the parser imports neither torch nor the detector's models: settings and names live in
``detector.config``, which is light.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detector.config import BenchmarkRequest, TrainRequest
from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from pipeline.errors import outcome_exit_code

FORMATTER = HelpFormatter


def _train(args: argparse.Namespace) -> int:
    from detector.jobs import train_job

    metrics = train_job(request_from_args(TrainRequest, args, "train"))
    best = metrics.get("best_val", {})
    print(json.dumps({k: best.get(k) for k in ("epoch", "val_eer", "val_seg_f1_1s", "val_seg_f1_20ms")}))
    return 0


def _detect(args: argparse.Namespace) -> int:
    from detector import run_detect

    return run_detect(args.files, args.checkpoint, threshold=args.threshold, as_json=args.json, device=args.device)


def _benchmark(args: argparse.Namespace) -> int:
    from detector.jobs import benchmark_job

    request = request_from_args(BenchmarkRequest, args, "benchmark")
    results = benchmark_job(request)
    print((Path(request.out) / "results.md").read_text())
    for error in results["errors"]:
        print(f"error: {error}", file=sys.stderr)
    return outcome_exit_code(len(results["rows"]), len(results["errors"]))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the detector sub-commands to the ``fakesound`` CLI."""
    p = subparsers.add_parser("train", help="train a detector on a corpus folder (manifest.jsonl + audio)",
                              formatter_class=FORMATTER)
    add_request_options(p, TrainRequest, "train")
    p.set_defaults(handler=_train)

    p = subparsers.add_parser("detect", help="say whether and where audio files were manipulated",
                              formatter_class=FORMATTER)
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (any format soundfile reads, any rate)")
    p.add_argument("--checkpoint", required=True, help="CKPT_DIR written by `fakesound train`")
    p.add_argument("--json", action="store_true", help="print JSON (one object per file)")
    p.add_argument("--threshold", type=float, default=BenchmarkRequest.threshold,
                   help="clip decision threshold (unset: the one chosen on validation and stored in the checkpoint)")
    p.add_argument("--device", default=BenchmarkRequest.device, help="auto, cpu, cuda, cuda:1")
    p.set_defaults(handler=_detect)

    p = subparsers.add_parser("benchmark", help="evaluate checkpoints on test manifests", formatter_class=FORMATTER)
    add_request_options(p, BenchmarkRequest, "benchmark")
    p.set_defaults(handler=_benchmark)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (the ``fakesound`` CLI calls :func:`register`)."""
    parser = argparse.ArgumentParser(prog="fakesound")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
