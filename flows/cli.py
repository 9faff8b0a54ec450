"""The ``fakesound`` command line: thin argument parsing over the flows and stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flows import cli_build, cli_detector, cli_hub, cli_serve

COMMAND_MODULES = (cli_build, cli_detector, cli_serve, cli_hub)


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
    except (OSError, ValueError, KeyError, RuntimeError) as err:  # OSError: missing files, a full disk (DiskFull)
        print(f"fakesound {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fakesound {args.command}: interrupted; nothing partial was kept, run the same command again to "
              "continue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
