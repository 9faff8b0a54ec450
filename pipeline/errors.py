"""Rejections: bad input is reported in one line, recorded, and the build carries on."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


class RejectedInput(Exception):
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
