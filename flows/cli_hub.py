"""``fakesound push``: publish a built corpus to the Hugging Face Hub (or write the repo folder: ``--dry-run``).

Options are :class:`pipeline.requests.PushRequest`'s fields, plus ``--token`` (a secret, never part of a request).
"""

from __future__ import annotations

import argparse

from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from pipeline.requests import PushRequest


def _push(args: argparse.Namespace) -> int:
    from flows.hub import run_push

    request = request_from_args(PushRequest, args, "push")
    result = run_push(request, token=args.token)
    if request.dry_run:
        rows = ", ".join(f"{s}: {n}" for s, n in result["rows"].items())
        print(f"dry run: {request.repo_id} would get {len(result['files'])} files ({rows}); "
              f"written to {result['dry_run']}")
        return 0
    state = "new commit" if result["new_commit"] else "unchanged, no new commit"
    print(f"{result['repo_id']}: {len(result['files'])} files at {result['commit']} ({state})\n{result['commit_url']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    push = sub.add_parser("push", help="publish a corpus to the Hugging Face Hub as a parquet dataset (one commit)",
                          formatter_class=HelpFormatter)
    add_request_options(push, PushRequest, "push")
    push.add_argument("--token", default=None, help="Hub token (unset: HF_TOKEN or `hf auth login`)")
    push.set_defaults(handler=_push)
