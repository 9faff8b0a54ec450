"""``fakesound serve``: serve every deployment (build, train, benchmark, push) from this process."""

from __future__ import annotations

import argparse

from flows.cli_args import HelpFormatter


def _serve(args: argparse.Namespace) -> int:
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    from flows.deployments import deployment_specs

    specs = deployment_specs(args.only)
    api = PREFECT_API_URL.value()
    if not api:
        print("note: PREFECT_API_URL is not set; runs go to a temporary local server that dies with this process."
              " Start one with `prefect server start` and `export PREFECT_API_URL=http://127.0.0.1:4200/api`.")
    print("serving: " + ", ".join(s.full_name for s in specs))
    if PREFECT_UI_URL.value():
        print(f"UI: {PREFECT_UI_URL.value()}")
    serve(*[s.to_deployment() for s in specs], limit=args.limit, print_starting_message=False)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve the Prefect deployments (build-fakesound/demo, ...) until stopped",
                           formatter_class=HelpFormatter)
    serve.add_argument("--only", nargs="+", default=None, metavar="FLOW/NAME",
                       help="serve only these deployments (unset: all)")
    serve.add_argument("--limit", type=int, default=None, help="most flow runs at once (unset: no limit)")
    serve.set_defaults(handler=_serve)
