"""One request per job: every CLI option is a flow parameter and every flow parameter a CLI option, with equal
defaults, and both are the request's fields (so the library, the CLI and Prefect accept the same job)."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from pathlib import Path

import pytest

from detector.config import BenchmarkRequest, TrainRequest
from flows.build import STAGES
from flows.build_flow import RUNNER_PARAMETERS, build_fakesound
from flows.cli import build_parser
from flows.detector_flows import benchmark_detector, train_detector
from flows.ground_flow import ground_sources_flow
from flows.hub import push_to_hub
from flows.sources_flow import import_sources, restore_fakesound_reals
from grounding.job import GroundRequest
from listen.config import ListenRequest
from pipeline.errors import ConfigError
from pipeline.fakesound_reals import RestoreRealsRequest
from pipeline.manifest import ClipRecord
from pipeline.requests import BuildRequest, ImportRequest, PushRequest

#: (flow, request, CLI sub-commands, flow-only parameters, CLI-only options), each exception with its reason:
CASES = [
    # the Prefect task runner is Prefect's; `demo` is the CLI's choice of sub-command; --quiet is the terminal's bar
    (build_fakesound, BuildRequest, ("demo", "build"), {*RUNNER_PARAMETERS, "demo"}, {"quiet"}),
    (train_detector, TrainRequest, ("train",), set(), set()),
    (benchmark_detector, BenchmarkRequest, ("benchmark",), set(), set()),
    # a token is a secret: the flow names a Secret block, the CLI takes the token (neither is stored in a request)
    (push_to_hub, PushRequest, ("push",), {"token_secret"}, {"token"}),
    (import_sources, ImportRequest, ("import-sources",), set(), set()),
    (restore_fakesound_reals, RestoreRealsRequest, ("restore-reals",), set(), set()),
    (ground_sources_flow, GroundRequest, ("ground",), set(), set()),
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
    for command in ("demo", "build", "import-sources", "restore-reals", "ground", "train", "detect", "benchmark",
                    "push", "serve", "listen"):
        parser = _subcommand(command)
        for action in parser._actions:
            if action.dest != "help":
                assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        assert issubclass(parser.formatter_class, argparse.ArgumentDefaultsHelpFormatter), command
    assert "(default: 300)" in " ".join(_subcommand("demo").format_help().split())


def test_build_flow_parameters_reach_the_request(prefect_api, tmp_path, monkeypatch):
    from pipeline import engine

    seen = []
    made = [ClipRecord(id="x", label=0, audio_path="audio/x.wav", split="train")]  # a run that makes nothing fails
    monkeypatch.setattr(engine, "build", lambda request, recipe, stages, executor: seen.append(request) or (made, []))
    monkeypatch.setattr(STAGES, "check_checkpoints", lambda *args: None)  # no such checkpoints: not the point here
    build_fakesound(out=str(tmp_path), sources="s.jsonl", recipe="fakesound-train", checkpoint="ckpt", steps=7,
                    guidance=2.0, audiosr="sr", audiosr_steps=3, audiosr_config="arch.json", batch_size=4,
                    device="cpu")
    (request,) = seen
    assert isinstance(request, BuildRequest) and request.device == "cpu"
    assert request.out == str(tmp_path) and request.sources == str(Path("s.jsonl").absolute())  # absolute
    assert request.recipe_overrides() == {"checkpoint": "ckpt", "steps": 7, "guidance": 2.0, "audiosr": "sr",
                                          "audiosr_steps": 3, "batch_size": 4,
                                          "audiosr_config": str(Path("arch.json").absolute())}


def test_build_flow_refuses_what_does_not_apply_before_any_task(tmp_path):
    from prefect.exceptions import ParameterTypeError

    run = build_fakesound.fn
    with pytest.raises(ConfigError, match="has no setting 'steps'"):
        run(out=str(tmp_path), sources="s.jsonl", steps=7)
    with pytest.raises(ConfigError, match="apply to demo builds only"):
        run(out=str(tmp_path), sources="s.jsonl", clips=10)
    with pytest.raises(ConfigError, match="do not apply to demo builds"):
        run(out=str(tmp_path), demo=True, grounding="g.json")
    with pytest.raises(ConfigError, match="do not apply to demo builds"):
        run(out=str(tmp_path), demo=True, grounding_model="tag")
    with pytest.raises(ConfigError, match="not both"):
        run(out=str(tmp_path), sources="s.jsonl", grounding="g.json", grounding_model="tag")
    with pytest.raises(ParameterTypeError):  # the UI's recipe choices: a typo is refused when the run is created
        build_fakesound.validate_parameters({"out": "o", "recipe": "fakesound-trian"})
    with pytest.raises(ParameterTypeError):
        build_fakesound.validate_parameters({"out": "o", "device": "cuda1"})
    assert build_fakesound.validate_parameters({"out": "o", "device": "cuda:1"})["device"] == "cuda:1"


def test_listen_options_are_the_listen_request_fields():
    """`fakesound listen` is a local server, not a flow: its options are still one request's fields."""
    fields = {f.name: f.default for f in dataclasses.fields(ListenRequest)}
    assert _cli_options("listen") == fields


def test_benchmark_takes_human_answers_alone_and_refuses_nothing_to_score():
    assert BenchmarkRequest(out="b", human_answers=["a.sqlite"]).checkpoints is None
    for partial in ({"checkpoints": ["c"]}, {"manifests": ["m"]}, {}):
        with pytest.raises(ConfigError, match="checkpoints with manifests, listening-test answer files"):
            BenchmarkRequest(out="b", **partial)
