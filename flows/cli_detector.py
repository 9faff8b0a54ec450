"""``fakesound train | detect | benchmark``: argument parsing only; the work is done by :mod:`detector`."""

from __future__ import annotations

import argparse
import json
import sys

DEFAULT_EPOCHS = 12
# Plain strings so building the parser imports neither torch nor the detector (every `fakesound` command
# builds it); tests/detector/test_flows.py checks they match the detector's registries.
MODEL_CHOICES = ("fakesound-ref", "mrtcn")
DEFAULT_MODEL = "mrtcn"
DEFAULT_FRONTEND = "stft"
FRONTEND_HELP = "stft, logmel, eat, wavlm, ast, wav2vec2, hf:<id_or_path>"


def _train(args: argparse.Namespace) -> int:
    from detector import DetectorConfig, TrainConfig, train

    det = DetectorConfig(model=args.model, frontend=args.frontend, freeze_frontend=args.freeze_frontend)
    cfg = TrainConfig(
        epochs=args.epochs, seed=args.seed, holdout_manipulation=args.holdout_manipulation, device=args.device,
        **({"batch_size": args.batch_size} if args.batch_size else {}), **({"lr": args.lr} if args.lr else {}),
        **({"augment": None} if args.no_augment else {}),
        **({"threshold_rule": args.threshold_rule} if args.threshold_rule else {}),
    )
    metrics = train(args.corpus, args.out, det, cfg, resume=args.resume)
    best = metrics.get("best_val", {})
    print(json.dumps({k: best.get(k) for k in ("epoch", "val_eer", "val_seg_f1_1s", "val_seg_f1_20ms")}))
    return 0


def _detect(args: argparse.Namespace) -> int:
    from detector import run_detect

    return run_detect(args.files, args.checkpoint, threshold=args.threshold, as_json=args.json, device=args.device)


def _benchmark(args: argparse.Namespace) -> int:
    from detector import run_benchmark

    conditions = [c for spec in args.conditions for c in spec.split(",") if c]
    if conditions == ["default"]:
        from detector.benchmark import DEFAULT_CONDITIONS

        conditions = list(DEFAULT_CONDITIONS)
    results = run_benchmark(
        args.checkpoint, args.manifest, args.out, threshold=args.threshold, n_boot=args.bootstrap, device=args.device,
        split=args.split, conditions=conditions, probes=not args.no_probes, protocol=args.protocol,
    )
    print((__import__("pathlib").Path(args.out) / "results.md").read_text())
    for error in results["errors"]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if results["errors"] else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the detector sub-commands to the ``fakesound`` CLI."""
    p = subparsers.add_parser("train", help="train a detector on a corpus folder (manifest.jsonl + audio)")
    p.add_argument("--corpus", required=True, help="corpus folder with manifest.jsonl (train/val/test splits)")
    p.add_argument("--out", required=True, help="checkpoint folder to write (CKPT_DIR)")
    p.add_argument("--model", default=DEFAULT_MODEL, choices=MODEL_CHOICES, help="back-end")
    p.add_argument("--frontend", default=DEFAULT_FRONTEND, help=f"front-end: {FRONTEND_HELP}")
    p.add_argument("--freeze-frontend", action="store_true", help="keep front-end weights fixed")
    p.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--no-augment", action="store_true", help="disable training augmentation")
    p.add_argument("--resume", action="store_true", help="continue from CKPT_DIR/train_state.pt")
    p.add_argument("--threshold-rule", default=None, metavar="RULE",
                   help="how the stored clip threshold is chosen on validation: fpr:X (false-positive rate <= X) "
                        "or eer (default: TrainConfig's, fpr:0.05)")
    p.add_argument("--holdout-manipulation", default=None, metavar="TYPE",
                   help="leave fakes of this manipulation out of training and validation")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=_train)

    p = subparsers.add_parser("detect", help="say whether and where audio files were manipulated")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--checkpoint", required=True, help="CKPT_DIR written by `fakesound train`")
    p.add_argument("--json", action="store_true", help="print JSON (one object per file)")
    p.add_argument("--threshold", type=float, default=None,
                   help="clip threshold (default: the one chosen on validation and stored in the checkpoint)")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=_detect)

    p = subparsers.add_parser("benchmark", help="evaluate checkpoints on test manifests")
    p.add_argument("--checkpoint", nargs="+", required=True, metavar="CKPT_DIR")
    p.add_argument("--manifest", nargs="+", required=True, metavar="PATH",
                   help="FakeSound JSON or manifest.jsonl (audio paths relative to its folder)")
    p.add_argument("--out", required=True, help="folder for results.md, results.json and figures")
    p.add_argument("--split", default="test", help="split of a manifest.jsonl to score ('all': every split)")
    p.add_argument("--conditions", nargs="*", default=[], metavar="KIND:VALUE",
                   help="also score under these conditions (lowpass:8000 mp3:0.9 vorbis:0.5 opus:0.9 "
                        "resample:16000 gain:-12 noise:20 ...; 'default' for the standard set)")
    p.add_argument("--no-probes", action="store_true", help="skip the shortcut probes")
    p.add_argument("--protocol", default="ours", choices=("ours", "fakesound"),
                   help="also report FakeSound's own evaluation (quirks included) beside ours")
    p.add_argument("--threshold", type=float, default=None,
                   help="clip threshold for every checkpoint (default: each checkpoint's stored one)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95 %% CIs")
    p.add_argument("--device", default="auto")
    p.set_defaults(handler=_benchmark)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (the ``fakesound`` CLI calls :func:`register`)."""
    parser = argparse.ArgumentParser(prog="fakesound")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
