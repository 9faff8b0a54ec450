"""One request per job: every CLI option is a flow parameter and every flow parameter a CLI option, with equal
defaults, and both are the request's fields (so the library, the CLI and Prefect accept the same job)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect

import pytest

from detector.config import BenchmarkRequest, TrainRequest
from flows.build_flow import RUNNER_PARAMETERS, build_fakesound
from flows.cli import build_parser
from flows.detector_flows import benchmark_detector, train_detector
from flows.hub import push_to_hub
from pipeline.errors import ConfigError
from pipeline.requests import BuildRequest, PushRequest

#: (flow, request, CLI sub-commands, flow-only parameters, CLI-only options), each exception with its reason:
CASES = [
    # the Prefect task runner is Prefect's; `demo` is the CLI's choice of sub-command; --quiet is the terminal's bar
    (build_fakesound, BuildRequest, ("demo", "build"), {*RUNNER_PARAMETERS, "demo"}, {"quiet"}),
    (train_detector, TrainRequest, ("train",), set(), set()),
    (benchmark_detector, BenchmarkRequest, ("benchmark",), set(), set()),
    # a token is a secret: the flow names a Secret block, the CLI takes the token (neither is stored in a request)
    (push_to_hub, PushRequest, ("push",), {"token_secret"}, {"token"}),
]


def _subcommand(name: str) -> argparse.ArgumentParser:
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _cli_options(command: str) -> dict[str, object]:
    return {a.dest: a.default for a in _subcommand(command)._actions
            if a.dest not in ("help",) and a.default is not argparse.SUPPRESS}


@pytest.mark.parametrize("flow, request_cls, commands, flow_only, cli_only", CASES,
                         ids=lambda c: getattr(c, "name", ""))
def test_cli_options_and_flow_parameters_are_the_request_fields(flow, request_cls, commands, flow_only, cli_only):
    flow_params = {k: p.default for k, p in inspect.signature(flow.fn).parameters.items()}
    fields = {f.name: f.default for f in dataclasses.fields(request_cls)}
    cli: dict[str, object] = {}
    for command in commands:
        cli.update(_cli_options(command))
    assert set(flow_params) - flow_only == set(fields) - flow_only
    assert set(cli) - cli_only == set(fields) - flow_only
    for name, default in fields.items():
        if default is dataclasses.MISSING:
            assert flow_params[name] is inspect.Parameter.empty, name  # required everywhere
            continue
        assert flow_params[name] == default, name
        if name in cli:
            assert cli[name] == default, name


def test_every_cli_option_is_described_and_help_shows_defaults():
    for command in ("demo", "build", "import-sources", "train", "detect", "benchmark", "push", "serve"):
        parser = _subcommand(command)
        for action in parser._actions:
            if action.dest != "help":
                assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter), command
    assert "(default: 300)" in " ".join(_subcommand("demo").format_help().split())


def test_build_flow_parameters_reach_the_request(tmp_path, monkeypatch):
    import flows.build_flow as module

    seen = []

    class Subflow:
        def with_options(self, **options):
            return seen.append

    monkeypatch.setattr(module, "_build_clips", Subflow())
    module.build_fakesound.fn(out=str(tmp_path), sources="s.jsonl", recipe="fakesound-train", checkpoint="ckpt",
                              steps=7, guidance=2.0, audiosr="sr", audiosr_steps=3, batch_size=4, device="cpu")
    (request,) = seen
    assert isinstance(request, BuildRequest) and request.device == "cpu"
    assert request.recipe_overrides() == {"checkpoint": "ckpt", "steps": 7, "guidance": 2.0, "audiosr": "sr",
                                          "audiosr_steps": 3, "batch_size": 4}
    with pytest.raises(ConfigError, match="has no setting 'steps'"):  # refused before any task starts
        module.build_fakesound.fn(out=str(tmp_path), sources="s.jsonl", steps=7)
