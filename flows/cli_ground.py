"""``fakesound ground``: ground a source manifest's captions (TAG model or energy fallback); score against labels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import grounding
from pipeline.atomic import atomic_write_text


def _ground(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.sources:
        settings = {k: v for k, v in (("backend", args.backend), ("model", args.model), ("threshold", args.threshold),
                                      ("median_window", args.median_window), ("device", args.device)) if v is not None}
        config = grounding.GroundConfig(**settings)
        # scored runs ask the model for the labels' own phrases (the TAG protocol); clips without labels use captions
        queries = grounding.reference_queries(args.eval) if args.eval and config.backend == "tag" else None
        outcome = grounding.ground_sources(args.sources, out, config, queries=queries)
        for rejection in outcome.rejected:
            print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)
        speed = outcome.audio_seconds / outcome.wall_seconds if outcome.wall_seconds else float("nan")
        print(f"{outcome.clips} clips grounded into {out} ({len(outcome.rejected)} rejected), "
              f"{outcome.audio_seconds:.0f} s of audio in {outcome.wall_seconds:.1f} s ({speed:.1f}x real time)")
    elif not args.eval:
        raise ValueError("give --sources to ground, or --eval LABELS to score an existing --out")
    if args.eval:
        report = grounding.evaluate_grounding(args.eval, out)
        atomic_write_text(out.with_name(out.stem + ".eval.json"), json.dumps(report, indent=2))
        print(grounding.format_evaluation(report))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    defaults = grounding.GroundConfig()
    ground = sub.add_parser("ground", help="ground each source caption's phrases in its audio; score with --eval")
    ground.add_argument("--sources", default=None, help="source manifest (JSONL) to ground")
    ground.add_argument("--out", required=True, help="grounding results JSON to write (or, with --eval only, to score)")
    ground.add_argument("--backend", choices=["tag", "energy"], default=None, help=f"default: {defaults.backend}")
    ground.add_argument("--model", default=None, help=f"TAG checkpoint: hub id or local folder ({defaults.model})")
    ground.add_argument("--threshold", type=float, default=None,
                        help=f"frame probability threshold (default {defaults.threshold})")
    ground.add_argument("--median-window", type=int, default=None,
                        help=f"median filter length, odd, in 40 ms frames (default {defaults.median_window})")
    ground.add_argument("--device", default=None, help=f"auto, cpu, cuda, ... (default {defaults.device})")
    ground.add_argument("--eval", default=None, metavar="LABELS",
                        help="score against AudioGrounding v2 labels or a known-events grounding JSON; with "
                             "--sources and the TAG model, the labels' phrases are the ones grounded")
    ground.set_defaults(handler=_ground)
