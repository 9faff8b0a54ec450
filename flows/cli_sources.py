"""``fakesound import-sources`` (a ``datasets`` dataset, or a folder + captions CSV) and ``fakesound restore-reals``.
Options are the fields of :class:`pipeline.requests.ImportRequest` and
:class:`pipeline.fakesound_reals.RestoreRealsRequest`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from pipeline import corpus
from pipeline.errors import Rejection
from pipeline.fakesound_reals import RestoreRealsRequest
from pipeline.requests import ImportRequest


def _print_rejections(rejections: list[Rejection]) -> None:
    for rejection in rejections:
        print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)


def _import_sources(args: argparse.Namespace) -> int:
    from pipeline.sources import import_job

    started = time.perf_counter()
    request = request_from_args(ImportRequest, args, "import-sources")
    result = import_job(request)
    _print_rejections(result.rejected)
    seconds = time.perf_counter() - started
    print(f"{len(result.records)} sources written to {Path(request.out) / corpus.MANIFEST}, "
          f"{len(result.rejected)} rejected ({len(result.records) / max(seconds, 1e-9):.1f} clips/s)")
    return 0


def _restore_reals(args: argparse.Namespace) -> int:
    from pipeline.fakesound_reals import restore_reals

    request = request_from_args(RestoreRealsRequest, args, "restore-reals")
    records, rejections = restore_reals(request)
    _print_rejections(rejections)
    print(corpus.format_summary(records, rejections))
    print(f"paired corpus written to {request.out} (rejected.jsonl lists fakes without a matching real)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import-sources", help="real source clips: a Hub/local `datasets` dataset, or audio + CSV",
                         formatter_class=HelpFormatter)
    add_request_options(imp, ImportRequest, "import-sources")
    imp.set_defaults(handler=_import_sources)

    rr = sub.add_parser("restore-reals", help="rebuild FakeSound's unpublished reals from AudioCaps sources",
                        formatter_class=HelpFormatter)
    add_request_options(rr, RestoreRealsRequest, "restore-reals")
    rr.set_defaults(handler=_restore_reals)
