"""Wiring of the build: the concrete stages, recipe resolution and the thread executor around
:mod:`pipeline.engine`, which holds every build rule. ``build(BuildRequest(...))`` is the library entry point.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline import engine
from pipeline.engine import BuildContext, ClipJob, Executor, JobResult, load_sources, run_jobs, source_donors
from pipeline.errors import Rejection
from pipeline.interfaces import Donor, RegionPolicy, RegionSource
from pipeline.manifest import ClipRecord
from pipeline.requests import BuildRequest
from regenerate.base import Regenerator
from regenerate.recipes import Recipe, get_recipe

__all__ = ["STAGES", "BuildContext", "ClipJob", "ProjectStages", "build", "build_demo", "load_sources",
           "recipe_for", "run_build", "run_jobs", "source_donors", "thread_executor"]


class ProjectStages:
    """The engine's :class:`~pipeline.interfaces.Stages`: this project's grounding and regenerate packages.

    Stateless and imported by name, so it pickles for Dask workers; stages are imported where they run.
    """

    def regenerators(self, recipe: Any, donors: Sequence[Donor], device: str) -> Mapping[str, Regenerator]:
        from regenerate.recipes import create_regenerators

        return create_regenerators(recipe, donors=donors, device=device)

    def region_source(self, grounding_path: str | None, policy: RegionPolicy,
                      grounding: Mapping[str, Any] | None = None, device: str = "auto") -> RegionSource:
        from grounding.source import region_source

        return region_source(grounding_path, policy, grounding, device)

    def grounding_settings(self, grounding_model: str) -> Mapping[str, Any]:
        from grounding.source import grounder_settings

        return grounder_settings(grounding_model)

    def check_checkpoints(self, recipe: Any, grounding: Mapping[str, Any] | None,
                          grounding_path: str | None) -> None:
        from grounding.source import check_grounder
        from regenerate.recipes import check_checkpoints

        check_checkpoints(recipe)
        check_grounder(grounding, grounding_path)


STAGES = ProjectStages()


def recipe_for(request: BuildRequest) -> Recipe:
    """The request's recipe with its overrides (a setting that does not apply raises ``ConfigError``)."""
    return get_recipe(request.recipe, **request.recipe_overrides())


def thread_executor(workers: int = 2, progress: bool = True) -> Executor:
    """Run chunks on a thread pool, with a progress bar."""

    def execute(chunks: list[list[ClipJob]], ctx: BuildContext) -> Iterator[list[JobResult]]:
        from tqdm.auto import tqdm

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool, tqdm(
            total=sum(map(len, chunks)), unit="source", desc="build", disable=not progress
        ) as bar:
            for outcome in pool.map(lambda chunk: run_jobs(chunk, ctx), chunks):
                bar.update(len(outcome))
                yield outcome

    return execute


def build(request: BuildRequest, executor: Executor | None = None,
          progress: bool = False) -> tuple[list[ClipRecord], list[Rejection]]:
    """Build the corpus a request describes (default executor: ``request.workers`` threads)."""
    executor = executor or thread_executor(request.workers, progress=progress)
    return engine.build(request, recipe_for(request), STAGES, executor)


def build_demo(out: str | Path, clips: int = BuildRequest.clips, seed: int = BuildRequest.seed,
               kit_dir: str | Path | None = None, executor: Executor | None = None,
               recipe: str = BuildRequest.recipe) -> tuple[list[ClipRecord], list[Rejection]]:
    """Shorthand for ``build(BuildRequest(out, demo=True, ...))``."""
    request = BuildRequest(str(out), demo=True, clips=clips, seed=seed, kit=str(kit_dir) if kit_dir else None,
                           recipe=recipe)
    return build(request, executor)


def run_build(out: str | Path, sources: Sequence[ClipRecord], root: Path, recipe: Recipe, seed: int = 0,
              grounding_path: str | None = None, donors: tuple = (), device: str = "auto",
              executor: Executor | None = None, chunk_size: int | None = BuildRequest.chunk_size,
              ) -> tuple[list[ClipRecord], list[Rejection]]:
    """:func:`pipeline.engine.run_build` with this project's stages (for sources already in memory)."""
    return engine.run_build(out, sources, root, recipe, STAGES, seed, grounding_path, donors, device,
                            executor or thread_executor(progress=False), chunk_size, workers=2)
