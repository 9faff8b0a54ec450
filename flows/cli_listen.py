"""``fakesound listen``: serve the corpus inspector and the blind listening test (work done by :mod:`listen`).

Its options are the fields of :class:`listen.config.ListenRequest` (one place for names, help and defaults). It is
a long-running local server, not a batch job, so it has no Prefect flow.
"""

from __future__ import annotations

import argparse

from flows.cli_args import HelpFormatter, add_request_options, request_from_args
from listen.config import ListenRequest


def _listen(args: argparse.Namespace) -> int:
    request = request_from_args(ListenRequest, args, "listen")
    if request.export_csv:
        from detector.human import read_human_answers, write_answers_csv

        rows = read_human_answers(request.answers_path())
        write_answers_csv(rows, request.export_csv)
        print(f"{len(rows)} answers written to {request.export_csv}")
        return 0
    from listen.server import serve

    serve(request.server_settings(), admin_key=request.inspector_key)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("listen", help="inspect a corpus and run a blind listening test in the browser",
                       formatter_class=HelpFormatter)
    add_request_options(p, ListenRequest, "listen")
    p.set_defaults(handler=_listen)
