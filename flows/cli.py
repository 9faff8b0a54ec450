"""The ``fakesound`` command line: thin argument parsing over the flows and stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flows import cli_build, cli_detector, cli_ground, cli_hub, cli_serve

COMMAND_MODULES = (cli_build, cli_ground, cli_detector, cli_serve, cli_hub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fakesound", description="Deepfake general-audio corpora and detectors.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        print(f"fakesound {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
