"""The ``fakesound`` command line: thin argument parsing over the flows and stages.

Errors: a project error (:class:`pipeline.errors.FakesoundError`) or bad input (a file that cannot be read:
``OSError``) prints one line, ``fakesound <command>: error: <what>``, and exits 2; anything else is a bug and
keeps its traceback (exit 1). ``--debug`` shows the traceback always.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from flows import cli_build, cli_detector, cli_ground, cli_hub, cli_listen, cli_serve, cli_sources
from flows.cli_args import HelpFormatter
from pipeline.errors import FakesoundError

COMMAND_MODULES = (cli_sources, cli_build, cli_ground, cli_detector, cli_serve, cli_hub, cli_listen)
#: Errors that are the user's input or environment, not a bug: one line, exit 2.
USER_ERRORS = (FakesoundError, OSError)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("fakesound")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakesound", description="Deepfake general-audio corpora and detectors.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"fakesound {version()}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of every error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except USER_ERRORS as err:
        if args.debug:
            traceback.print_exc()
        print(f"fakesound {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
