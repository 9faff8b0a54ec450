"""``fakesound demo`` and ``fakesound build``: options are BuildRequest's fields (``import-sources`` is in
:mod:`flows.cli_sources`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flows.build import build, thread_executor
from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from listen.config import listen_command
from pipeline.corpus import format_summary
from pipeline.engine import BuildIncomplete
from pipeline.errors import Rejection
from pipeline.requests import BuildRequest
from regenerate.recipes import RECIPES

#: Exit status when some clip jobs failed (the corpus holds the others; rerunning retries the failed ones).
EXIT_INCOMPLETE = 3


def _report(out: Path, records: list, rejections: list[Rejection], started: float) -> int:
    for rejection in rejections:
        print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)
    print(format_summary(records, rejections))
    print(f"corpus written to {out} in {time.perf_counter() - started:.1f} s")
    print(f"inspect it and run a listening test: {listen_command(out)}")
    return 0


def _run(args: argparse.Namespace, command: str, **fixed: object) -> int:
    started = time.perf_counter()
    request = request_from_args(BuildRequest, args, command, **fixed)
    try:
        records, rejections = build(request, thread_executor(request.workers, progress=not args.quiet))
    except BuildIncomplete as err:  # the corpus holds every clip that could be made: report it, then the failures
        _report(Path(request.out), err.records, err.rejections, started)
        for failure in err.failures:
            print(f"failed: {failure.source_id}: {failure.reason}", file=sys.stderr)
        print(f"fakesound {command}: error: {err}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return _report(Path(request.out), records, rejections, started)


def _demo(args: argparse.Namespace) -> int:
    return _run(args, "demo", demo=True)


def _build(args: argparse.Namespace) -> int:
    return _run(args, "build")




def register(sub: argparse._SubParsersAction) -> None:
    formatter = HelpFormatter
    choices = {"recipe": sorted(RECIPES)}
    demo = sub.add_parser("demo", help="build the offline demo corpus from the bundled real recordings",
                          formatter_class=formatter)
    add_request_options(demo, BuildRequest, "demo", choices)
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_demo)

    build_parser = sub.add_parser("build", help="build a corpus from a source manifest", formatter_class=formatter)
    add_request_options(build_parser, BuildRequest, "build", choices, required=("sources",))
    build_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    build_parser.set_defaults(handler=_build)
