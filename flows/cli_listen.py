"""``fakesound listen``: serve the corpus inspector and the blind listening test (work done by :mod:`listen`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

ANSWERS_FILE = "answers.sqlite"


def listen_command(corpus: str | Path) -> str:
    """The command that opens a corpus in the inspector and listening test (printed after a build)."""
    return f"fakesound listen --corpus {shlex.quote(str(corpus))}"


def _csv_list(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(s for s in text.split(",") if s)


def _listen(args: argparse.Namespace) -> int:
    if args.export_csv:
        from detector.human import read_human_answers, write_answers_csv

        answers = Path(args.answers or Path(args.corpus or ".") / ANSWERS_FILE)
        rows = read_human_answers(answers)
        write_answers_csv(rows, args.export_csv)
        print(f"{len(rows)} answers written to {args.export_csv}")
        return 0
    if not args.corpus:
        raise ValueError("--corpus is required (unless --export-csv)")
    from listen.config import DEFAULT_HOST, ServerSettings, SessionConfig, load_session_config
    from listen.server import serve

    session = load_session_config(args.config) if args.config else SessionConfig()
    session = session.updated(trials=args.trials, seed=args.seed, splits=_csv_list(args.splits),
                              manipulations=_csv_list(args.manipulations))
    corpus = Path(args.corpus)
    settings = ServerSettings(
        corpus=corpus, answers=Path(args.answers) if args.answers else corpus / ANSWERS_FILE, session=session,
        manifest=args.manifest,
        checkpoint=Path(args.checkpoint) if args.checkpoint else None, host=args.host or DEFAULT_HOST,
        port=args.port, cache_dir=Path(args.cache) if args.cache else None,
    )
    serve(settings, admin_key=args.inspector_key)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from listen.config import DEFAULT_HOST, DEFAULT_PORT
    from pipeline.corpus import MANIFEST

    p = sub.add_parser("listen", help="inspect a corpus and run a blind listening test in the browser")
    p.add_argument("--corpus", help="corpus folder (manifest.jsonl + audio)")
    p.add_argument("--manifest", default=MANIFEST,
                   help="manifest.jsonl or a FakeSound JSON (split = its stem), relative to CORPUS; audio paths "
                        "relative to CORPUS")
    p.add_argument("--checkpoint", default=None, help="detector CKPT_DIR: overlay its frame scores in the inspector")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--answers", default=None, help=f"answers SQLite file (default CORPUS/{ANSWERS_FILE})")
    p.add_argument("--config", default=None, help="session TOML ([session] trials, splits, manipulations, seed)")
    p.add_argument("--trials", type=int, default=None, help="trials per participant (default 20)")
    p.add_argument("--splits", default=None, help="comma-separated splits to draw from (default test)")
    p.add_argument("--manipulations", default=None, help="comma-separated manipulations of the fakes (default all)")
    p.add_argument("--seed", type=int, default=None, help="session seed (participant n gets seed, n)")
    p.add_argument("--cache", default=None, help="detector score cache folder (default CORPUS/.cache/listen)")
    p.add_argument("--inspector-key", default=None, help="fixed inspector key (default: random, printed)")
    p.add_argument("--export-csv", default=None, metavar="CSV", help="write the answers as CSV and exit")
    p.set_defaults(handler=_listen)
