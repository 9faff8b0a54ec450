"""``fakesound ground``: ground a source manifest's captions (TAG model or energy fallback); score with ``--eval``.
Options are :class:`grounding.GroundRequest`'s fields."""

from __future__ import annotations

import argparse
import sys

from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from grounding.job import GroundRequest
from pipeline.errors import EXIT_OK, outcome_exit_code


def _ground(args: argparse.Namespace) -> int:
    from grounding import format_evaluation, ground_job

    request = request_from_args(GroundRequest, args, "ground")
    summary = ground_job(request)
    for rejection in summary["rejected"]:
        print(f"rejected: {rejection['item']}: {rejection['reason']}", file=sys.stderr)
    if request.sources is not None:
        seconds, wall = summary["audio_seconds"], summary["wall_seconds"]
        speed = seconds / wall if wall else float("nan")
        print(f"{summary['clips']} clips grounded into {request.out} ({len(summary['rejected'])} rejected), "
              f"{seconds:.0f} s of audio in {wall:.1f} s ({speed:.1f}x real time)")
    if summary["evaluation"] is not None:
        print(format_evaluation(summary["evaluation"]))
    if request.sources is None:
        return EXIT_OK
    return outcome_exit_code(summary["clips"], len(summary["rejected"]))


def register(sub: argparse._SubParsersAction) -> None:
    ground = sub.add_parser("ground", help="ground each source caption's phrases in its audio; score with --eval",
                            formatter_class=HelpFormatter)
    add_request_options(ground, GroundRequest, "ground")
    ground.set_defaults(handler=_ground)
