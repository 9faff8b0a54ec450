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

#: Exit codes of every ``fakesound`` command (the README's "Exit codes" table).
EXIT_OK = 0  # everything asked for was made
EXIT_BUG = 1  # an unexpected error, i.e. a bug: its traceback is printed
EXIT_ERROR = 2  # nothing was made: wrong arguments, unusable input or environment, or every input rejected
EXIT_PARTIAL = 3  # output was made, but some inputs were rejected (each listed in one line)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


def outcome_exit_code(made: int, rejected: int) -> int:
    """The exit code of a job that made ``made`` outputs and rejected ``rejected`` inputs."""
    if made == 0:
        return EXIT_ERROR
    return EXIT_PARTIAL if rejected else EXIT_OK


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
