"""The project's errors, and rejections (bad input is reported in one line, recorded, and the build carries on).

Two kinds of failure are kept apart because they call for opposite handling:

* **content errors** (:class:`RejectedInput`): this input can never be used (undecodable, no caption, a region the
  generator refuses). They are stored as rejections; retrying cannot help.
* **environment errors** (:class:`EnvironmentProblem`): the machine cannot do the work right now (a checkpoint that
  is not downloaded, a file system that is not mounted). They are raised, never stored, so a rerun after the fix
  makes the clip.

Every project error derives from :class:`FakesoundError`; the CLI prints those as one line and anything else
(a programming error) with its traceback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


class FakesoundError(Exception):
    """Base of the project's errors: ``str()`` is a one-line message saying what is wrong and what to do."""


class ConfigError(FakesoundError, ValueError):
    """A setting that does not exist or a value it cannot take (unknown recipe, misspelt override, ...)."""


class EnvironmentProblem(FakesoundError):
    """The environment cannot do the work now (missing weights, unreadable folder); raised, never a rejection."""


class RejectedInput(FakesoundError):
    """A single input (file, clip, region) that cannot be used; ``str()`` is a one-line message."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"{item}: {reason}")
        self.item = str(item)
        self.reason = reason.replace("\n", " ")


@dataclass(frozen=True)
class Rejection:
    """One line of ``rejected.jsonl``: what was rejected, at which stage, and why."""

    item: str
    stage: str
    reason: str

    @classmethod
    def from_error(cls, error: RejectedInput, stage: str) -> Rejection:
        return cls(item=error.item, stage=stage, reason=error.reason)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def read_rejections(path: str | Path) -> list[Rejection]:
    """Read a ``rejected.jsonl`` file (missing file: no rejections)."""
    path = Path(path)
    if not path.exists():
        return []
    return [Rejection(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
