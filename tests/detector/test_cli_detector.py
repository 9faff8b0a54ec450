"""The detector CLI: its names come from the light ``detector.config`` (checked against the registries), and
building the parser imports no torch and no model code."""

from __future__ import annotations

import subprocess
import sys

from flows import cli_detector


def test_light_config_names_match_the_registries():
    from detector.backends import BACKENDS
    from detector.config import BACKEND_NAMES, DEFAULT_BACKEND, DEFAULT_FRONTEND, FRONTEND_NAMES, TrainRequest
    from detector.frontends import create_frontend

    assert sorted(BACKEND_NAMES) == sorted(BACKENDS) and DEFAULT_BACKEND in BACKENDS
    assert create_frontend(DEFAULT_FRONTEND) is not None and DEFAULT_FRONTEND in FRONTEND_NAMES
    args = cli_detector_parser().parse_args(["train", "--corpus", "c", "--out", "o"])
    assert (args.model, args.frontend, args.epochs) == (TrainRequest.model, TrainRequest.frontend, TrainRequest.epochs)


def cli_detector_parser():
    import argparse

    parser = argparse.ArgumentParser()
    cli_detector.register(parser.add_subparsers())
    return parser


def test_building_the_parser_imports_no_torch_and_no_model_code():
    code = (
        "import sys, argparse\n"
        "from flows import cli_detector\n"
        "p = argparse.ArgumentParser(); cli_detector.register(p.add_subparsers())\n"
        "a = p.parse_args(['train', '--corpus', 'c', '--out', 'o'])\n"
        "assert a.model == 'mrtcn' and a.frontend == 'stft', a\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'detector')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['detector', 'detector.config']"


def test_benchmark_and_train_help_render(capsys):
    """Request help texts may contain "%" ("95 % CIs"): argparse must not choke on them."""
    import pytest

    from flows.cli_detector import main as detector_main

    for command in ("benchmark", "train"):
        with pytest.raises(SystemExit) as exit_info:
            detector_main([command, "--help"])
        assert exit_info.value.code == 0
    assert "95 % CIs" in capsys.readouterr().out
