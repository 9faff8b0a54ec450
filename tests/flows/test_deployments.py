"""Deployments: every flow is served under its documented name, with presets its parameters accept."""

from __future__ import annotations

import inspect

import pytest
from prefect.flows import load_flow_from_entrypoint

from flows.cli import build_parser
from flows.deployments import SPECS, deployment_specs

EXPECTED = ["build-fakesound/default", "build-fakesound/demo", "ground-sources/default", "train-detector/default",
            "benchmark-detector/default", "push-to-hub/default", "import-sources/default",
            "restore-fakesound-reals/default"]


def test_all_documented_deployments_exist():
    assert [s.full_name for s in SPECS] == EXPECTED


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.full_name)
def test_deployment_builds_and_its_entrypoint_loads_the_flow(spec):
    deployment = spec.to_deployment()
    assert deployment.name == spec.name and deployment.flow_name == spec.flow.name
    assert deployment.parameters == spec.parameters
    assert "fakesound" in deployment.tags
    # served runs re-import the flow from the entrypoint (a module path: independent of the working dir)
    loaded = load_flow_from_entrypoint(deployment.entrypoint, use_placeholder_flow=False)
    assert loaded.name == spec.flow.name
    accepted = set(inspect.signature(spec.flow.fn).parameters)
    assert set(spec.parameters) <= accepted, set(spec.parameters) - accepted
    properties = deployment._parameter_openapi_schema.properties
    assert set(properties) == accepted


def test_demo_preset_is_a_complete_valid_run():
    demo = next(s for s in SPECS if s.full_name == "build-fakesound/demo")
    validated = demo.flow.validate_parameters(dict(demo.parameters))
    assert validated["demo"] is True and validated["out"] == "demo_corpus" and validated["clips"] == 300


def test_unknown_deployment_names_are_rejected_with_the_known_ones():
    assert [s.full_name for s in deployment_specs(["build-fakesound/demo"])] == ["build-fakesound/demo"]
    with pytest.raises(ValueError, match=r"unknown deployment.*nope/x.*known: build-fakesound/default"):
        deployment_specs(["nope/x"])


def test_serve_and_push_commands_are_registered():
    parser = build_parser()
    args = parser.parse_args(["serve", "--only", "build-fakesound/demo", "--limit", "2"])
    assert args.only == ["build-fakesound/demo"] and args.limit == 2 and callable(args.handler)
    args = parser.parse_args(["push", "--corpus", "c", "--repo-id", "me/x", "--private", "--dry-run", "out"])
    assert (args.corpus, args.repo_id, args.private, args.dry_run) == ("c", "me/x", True, "out")
