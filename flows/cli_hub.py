"""``fakesound push``: publish a built corpus to the Hugging Face Hub (or write the repo folder: ``--dry-run``)."""

from __future__ import annotations

import argparse

from pipeline.publish import export_hub_folder, push_corpus


def _push(args: argparse.Namespace) -> int:
    splits = [s for s in args.splits.split(",") if s] if args.splits else None
    if args.dry_run:
        folder = export_hub_folder(args.corpus, args.dry_run, splits=splits, license=args.license,
                                   pretty_name=args.name, repo_id=args.repo_id)
        rows = ", ".join(f"{s}: {n}" for s, n in folder.num_rows.items())
        print(f"dry run: {args.repo_id} would get {len(folder.files)} files ({rows}); written to {folder.path}")
        return 0
    result = push_corpus(args.corpus, args.repo_id, private=args.private, token=args.token, endpoint=args.endpoint,
                         splits=splits, license=args.license, pretty_name=args.name)
    state = "new commit" if result.new_commit else "unchanged, no new commit"
    print(f"{result.repo_id}: {len(result.files)} files at {result.commit_oid} ({state})\n{result.commit_url}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    push = sub.add_parser("push", help="publish a corpus to the Hugging Face Hub as a parquet dataset (one commit)")
    push.add_argument("--corpus", required=True, help="corpus folder (with manifest.jsonl)")
    push.add_argument("--repo-id", required=True, help="dataset repo, e.g. my-org/fakesound-demo")
    push.add_argument("--private", action="store_true", help="create the repo private (ignored if it exists)")
    push.add_argument("--dry-run", metavar="OUT", default=None,
                      help="write the repo folder (README.md + parquet) to OUT instead of pushing")
    push.add_argument("--splits", default=None, help="comma-separated splits to publish (default: all)")
    push.add_argument("--license", default=None, help="Hub licence id (default: detected from LICENSES.md)")
    push.add_argument("--name", default=None, help="pretty name for the dataset card")
    push.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or `hf auth login`)")
    push.add_argument("--endpoint", default=None, help="Hub endpoint (default: HF_ENDPOINT or huggingface.co)")
    push.set_defaults(handler=_push)
