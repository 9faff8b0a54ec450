"""The deployments ``fakesound serve`` serves: each flow with named parameter presets.

Run one with ``prefect deployment run <flow>/<name> --param key=value ... --watch``; parameters given
there override the preset. Relative paths are taken from the folder ``fakesound serve`` runs in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect.types.entrypoint import EntrypointType

from flows.build_flow import build_fakesound
from flows.detector_flows import benchmark_detector, train_detector
from flows.ground_flow import ground_sources_flow
from flows.hub import push_to_hub
from flows.sources_flow import import_sources, restore_fakesound_reals
from regenerate.recipes import DEFAULT_RECIPE

TAGS = ["fakesound"]


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: a flow, a name and its parameter preset."""

    flow: Any
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.flow.name}/{self.name}"

    def to_deployment(self):
        return self.flow.to_deployment(
            name=self.name, parameters=self.parameters, description=self.description,
            tags=[*TAGS, self.flow.name], entrypoint_type=EntrypointType.MODULE_PATH,
        )


SPECS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec(build_fakesound, "default",
                   "Build a corpus from a source manifest: --param sources=... --param out=...",
                   {"recipe": DEFAULT_RECIPE, "seed": 0, "task_runner": "threads"}),
    DeploymentSpec(build_fakesound, "demo", "Build the offline demo corpus from the bundled real recordings",
                   {"demo": True, "out": "demo_corpus", "clips": 300, "seed": 0}),
    DeploymentSpec(ground_sources_flow, "default",
                   "Ground a source manifest's captions with the TAG model: --param sources=... --param out=...",
                   {"backend": "tag"}),
    DeploymentSpec(train_detector, "default", "Train a detector on a corpus: --param corpus=... --param out=..."),
    DeploymentSpec(benchmark_detector, "default",
                   "Benchmark checkpoints: --param checkpoints=[...] --param manifests=[...] --param out=..."),
    DeploymentSpec(push_to_hub, "default",
                   "Publish a corpus to the Hugging Face Hub (one commit); dry_run=OUT writes the repo folder",
                   {"corpus": "demo_corpus", "private": True, "dry_run": None}),
    DeploymentSpec(import_sources, "default",
                   "Source clips from a datasets dataset: --param hf_dataset=jp1924/AudioCaps --param out=... "
                   "[--param split=test --param limit=N --param streaming=true]"),
    DeploymentSpec(restore_fakesound_reals, "default",
                   "FakeSound's reals from AudioCaps sources: --param metadata=[...] --param fakes_root=... "
                   "--param sources=... --param out=..."),
)


def deployment_specs(only: list[str] | None = None) -> list[DeploymentSpec]:
    """The specs, optionally only those named ``flow/name``; unknown names are an error listing the known."""
    if not only:
        return list(SPECS)
    known = {s.full_name: s for s in SPECS}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise ValueError(f"unknown deployment(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in only]
