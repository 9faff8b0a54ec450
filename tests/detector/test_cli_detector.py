"""The detector CLI: its plain-string choices match the registries, and building the parser imports no torch."""

from __future__ import annotations

import subprocess
import sys

from flows import cli_detector


def test_plain_choices_match_the_registries():
    from detector.backends import BACKENDS, DEFAULT_BACKEND
    from detector.frontends import DEFAULT_FRONTEND, FRONTEND_NAMES

    assert sorted(cli_detector.MODEL_CHOICES) == sorted(BACKENDS)
    assert cli_detector.DEFAULT_MODEL == DEFAULT_BACKEND and cli_detector.DEFAULT_FRONTEND == DEFAULT_FRONTEND
    assert ", ".join(FRONTEND_NAMES) == cli_detector.FRONTEND_HELP


def test_cli_flow_and_library_defaults_agree():
    import inspect

    from detector import TrainConfig
    from detector.frontends import DEFAULT_FRONTEND
    from flows.detector_flows import train_detector

    flow_defaults = {k: v.default for k, v in inspect.signature(train_detector.fn).parameters.items()}
    assert flow_defaults["frontend"] == DEFAULT_FRONTEND == cli_detector.DEFAULT_FRONTEND
    assert flow_defaults["model"] == cli_detector.DEFAULT_MODEL
    assert flow_defaults["epochs"] == TrainConfig().epochs == cli_detector.DEFAULT_EPOCHS


def test_building_the_parser_imports_neither_torch_nor_the_detector():
    code = (
        "import sys, argparse\n"
        "from flows import cli_detector\n"
        "p = argparse.ArgumentParser(); cli_detector.register(p.add_subparsers())\n"
        "a = p.parse_args(['train', '--corpus', 'c', '--out', 'o'])\n"
        "assert a.model == 'mrtcn' and a.frontend == 'stft', a\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'detector')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
