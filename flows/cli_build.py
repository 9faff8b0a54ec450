"""``fakesound demo``, ``fakesound import-sources`` and ``fakesound build``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flows.build import build_demo, load_sources, run_build, source_donors, thread_executor
from pipeline.corpus import format_summary
from pipeline.errors import Rejection
from pipeline.manifest import write_manifest
from pipeline.sources import import_sources
from regenerate.recipes import DEFAULT_RECIPE, RECIPES, get_recipe


def _report(out: Path, records: list, rejections: list[Rejection], started: float) -> int:
    for rejection in rejections:
        print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)
    print(format_summary(records, rejections))
    print(f"corpus written to {out} in {time.perf_counter() - started:.1f} s")
    return 0


def _demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    records, rejections = build_demo(args.out, args.clips, args.seed, args.kit,
                                     executor=thread_executor(args.workers, progress=not args.quiet))
    return _report(Path(args.out), records, rejections, started)


def _import_sources(args: argparse.Namespace) -> int:
    out = Path(args.out)
    result = import_sources(args.audio, args.captions, out.parent)
    write_manifest(out, result.records)
    for rejection in result.rejected:
        print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)
    print(f"{len(result.records)} sources written to {out}, {len(result.rejected)} rejected")
    return 0


def _build(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    sources, root = load_sources(args.sources)
    recipe = get_recipe(args.recipe, steps=args.steps, guidance=args.guidance, checkpoint=args.checkpoint,
                        audiosr=args.audiosr, audiosr_steps=args.audiosr_steps, n_candidates=args.n_candidates,
                        clap=args.clap)
    records, rejections = run_build(
        args.out, sources, root, recipe, args.seed, args.grounding, source_donors(sources, root, seed=args.seed),
        device=args.device, executor=thread_executor(args.workers, progress=not args.quiet), batch_size=args.batch_size,
    )
    return _report(Path(args.out), records, rejections, started)


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="build the offline demo corpus from the bundled real recordings")
    demo.add_argument("--out", required=True, help="corpus folder to write")
    demo.add_argument("--clips", type=int, default=300, help="clips in the corpus (half real, half fake)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--kit", default=None, help="demo kit folder (default: the project's data/demo_kit)")
    demo.add_argument("--workers", type=int, default=2)
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_demo)

    imp = sub.add_parser("import-sources", help="audio folder + AudioCaps-style captions CSV -> source manifest")
    imp.add_argument("--audio", required=True, help="folder of source audio")
    imp.add_argument("--captions", required=True, help="CSV: audiocap_id,youtube_id,start_time,caption")
    imp.add_argument("--out", required=True, help="source manifest (JSONL) to write")
    imp.set_defaults(handler=_import_sources)

    build = sub.add_parser("build", help="build a corpus from a source manifest")
    build.add_argument("--sources", required=True, help="source manifest (JSONL)")
    build.add_argument("--out", required=True, help="corpus folder to write")
    build.add_argument("--recipe", default=DEFAULT_RECIPE, choices=sorted(RECIPES))
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--grounding", default=None, help="grounding results JSON (else energy-based fallback)")
    build.add_argument("--steps", type=int, default=None, help="override the recipe's diffusion steps")
    build.add_argument("--guidance", type=float, default=None, help="override the recipe's guidance scale")
    build.add_argument("--checkpoint", default=None, help="generator checkpoint: hub id or local folder")
    build.add_argument("--audiosr", default=None, help="AudioSR checkpoint: hub id, folder or pytorch_model.bin")
    build.add_argument("--audiosr-steps", type=int, default=None, help="override the recipe's AudioSR steps")
    build.add_argument("--batch-size", type=int, default=None, help="clips per generator call")
    build.add_argument("--n-candidates", type=int, default=None, help="candidates per clip, best by CLAP (default 3)")
    build.add_argument("--clap", default=None,
                       help="CLAP checkpoint for best-of-N (AudioLDM default: laion/clap-htsat-unfused)")
    build.add_argument("--device", default="auto")
    build.add_argument("--workers", type=int, default=2)
    build.add_argument("--quiet", action="store_true")
    build.set_defaults(handler=_build)
