"""``fakesound import-sources`` (a folder + captions CSV, or a ``datasets`` dataset) and ``fakesound restore-reals``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flows.cli_args import HelpFormatter
from pipeline.errors import ConfigError, Rejection
from pipeline.fakesound_reals import RealsCheck

_CHECK = RealsCheck()


def _print_rejections(rejections: list[Rejection]) -> None:
    for rejection in rejections:
        print(f"rejected: {rejection.item}: {rejection.reason}", file=sys.stderr)


def _import_sources(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    if args.hf_dataset:
        from pipeline.hf_sources import HFSourceRequest, import_hf_sources

        request = HFSourceRequest(
            dataset=args.hf_dataset, out=args.out, config=args.config, split=args.split, revision=args.revision,
            audio_column=args.audio_column, caption_column=args.caption_column, id_column=args.id_column,
            preset=args.preset, limit=args.limit, streaming=args.streaming, workers=args.workers,
            **({"sample_rate": None if args.sample_rate == 0 else args.sample_rate} if args.sample_rate is not None
               else {}),
        )
        result = import_hf_sources(request)
        manifest = Path(args.out) / "manifest.jsonl"
    else:
        if not (args.audio and args.captions):
            raise ConfigError("give --hf-dataset, or both --audio and --captions")
        from pipeline.manifest import write_manifest
        from pipeline.sources import import_sources

        manifest = Path(args.out)
        result = import_sources(args.audio, args.captions, manifest.parent)
        write_manifest(manifest, result.records)
    _print_rejections(result.rejected)
    seconds = time.perf_counter() - started
    print(f"{len(result.records)} sources written to {manifest}, {len(result.rejected)} rejected "
          f"({len(result.records) / max(seconds, 1e-9):.1f} clips/s)")
    return 0


def _restore_reals(args: argparse.Namespace) -> int:
    from pipeline.corpus import format_summary
    from pipeline.fakesound_reals import RestoreRealsRequest, restore_reals

    overrides = {k: v for k, v in (("max_shift_s", args.max_shift), ("min_snr_db", args.min_snr)) if v is not None}
    request = RestoreRealsRequest(metadata=tuple(args.metadata), fakes_root=args.fakes_root, sources=args.sources,
                                  out=args.out, check=RealsCheck(**overrides), workers=args.workers)
    records, rejections = restore_reals(request)
    _print_rejections(rejections)
    print(format_summary(records, rejections))
    print(f"paired corpus written to {args.out} (rejected.jsonl lists fakes without a matching real)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import-sources", help="real source clips: a Hub/local `datasets` dataset, or audio + CSV",
                         formatter_class=HelpFormatter)
    imp.add_argument("--out", required=True,
                     help="with --hf-dataset: folder for audio/, manifest.jsonl, rejected.jsonl; else the manifest")
    hub = imp.add_argument_group("from a datasets dataset")
    hub.add_argument("--hf-dataset", metavar="ID_OR_PATH", help="Hub id, local dataset folder, or parquet file(s)")
    hub.add_argument("--config", default=None, help="dataset configuration (subset) name")
    hub.add_argument("--split", default=None, help="split to import (default: all)")
    hub.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit)")
    hub.add_argument("--audio-column", default=None, help="audio column (default: by preset)")
    hub.add_argument("--caption-column", default=None, help="caption column (default: by preset)")
    hub.add_argument("--id-column", default=None, help="clip id column (default: by preset)")
    hub.add_argument("--preset", default=None, help="column preset: audiocaps, clotho, generic (default: by dataset)")
    hub.add_argument("--limit", type=int, default=None, help="import at most N clips")
    hub.add_argument("--streaming", action="store_true", help="read rows as they download (no full download)")
    hub.add_argument("--sample-rate", type=int, default=None, help="output rate in Hz (0: keep each clip's own)")
    hub.add_argument("--workers", type=int, default=2, help="clips decoded/encoded in parallel")
    folder = imp.add_argument_group("from a folder")
    folder.add_argument("--audio", default=None, help="folder of source audio")
    folder.add_argument("--captions", default=None, help="CSV: audiocap_id,youtube_id,start_time,caption")
    imp.set_defaults(handler=_import_sources)

    rr = sub.add_parser("restore-reals", help="rebuild FakeSound's unpublished reals from AudioCaps sources",
                        formatter_class=HelpFormatter)
    rr.add_argument("--metadata", nargs="+", required=True, metavar="JSON", help="FakeSound meta_data/*.json")
    rr.add_argument("--fakes-root", required=True, help="folder the ZeyuXie/FakeSound archive was unpacked into")
    rr.add_argument("--sources", required=True, help="source manifest from `fakesound import-sources`")
    rr.add_argument("--out", required=True, help="paired corpus folder to write")
    rr.add_argument("--max-shift", type=float, default=None,
                    help=f"seconds a source may be offset (default {_CHECK.max_shift_s})")
    rr.add_argument("--min-snr", type=float, default=None,
                    help=f"gain-matched SNR in dB a real needs (default {_CHECK.min_snr_db})")
    rr.add_argument("--workers", type=int, default=2, help="jobs run at once")
    rr.set_defaults(handler=_restore_reals)
