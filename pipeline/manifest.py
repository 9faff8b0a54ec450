"""The clip manifest: one typed record per clip, stored as JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.atomic import atomic_path
from pipeline.errors import FakesoundError
from pipeline.timemath import Segment

FAKE, REAL = 1, 0
REAL_MANIPULATION = "real"


@dataclass
class ClipRecord:
    """One clip of a corpus (or of a source manifest).

    ``label`` is 1 for fake, 0 for real (FakeSound's data and code use this polarity).
    ``segments`` are the fake spans in seconds; empty for real clips. ``audio_path`` is
    relative to the manifest's folder unless absolute. ``extra`` holds generator details
    (checkpoint, steps, guidance, SR, SNR, donor ...) and format-specific fields.
    """

    id: str
    label: int
    audio_path: str
    source_id: str = ""
    split: str = ""
    segments: list[Segment] = field(default_factory=list)
    manipulation: str = REAL_MANIPULATION
    generator: str = ""
    caption: str = ""
    sample_rate: int = 0
    num_samples: int = 0
    duration: float = 0.0
    sha256: str = ""
    seed: int | None = None
    config_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in (FAKE, REAL):
            raise ValueError(f"{self.id}: label must be 1 (fake) or 0 (real), got {self.label!r}")
        self.segments = [(float(a), float(b)) for a, b in self.segments]
        if not self.source_id:
            self.source_id = self.id

    @property
    def is_fake(self) -> bool:
        return self.label == FAKE

    def resolve_audio(self, root: str | Path) -> Path:
        """Absolute path of the audio, relative paths taken from ``root``."""
        path = Path(self.audio_path)
        return path if path.is_absolute() else Path(root) / path

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segments"] = [list(s) for s in self.segments]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClipRecord:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown manifest fields {sorted(unknown)}")
        return cls(**data)


class ManifestError(FakesoundError, ValueError):
    """A manifest line that is not a valid record (one line naming the file and line; the CLI exits 2)."""


def iter_manifest(path: str | Path) -> Iterator[ClipRecord]:
    """Lazily read records from a JSONL manifest; errors name the file and line."""
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield ClipRecord.from_dict(json.loads(line))
            except (ValueError, TypeError) as err:
                raise ManifestError(f"{path}:{lineno}: bad manifest record ({err})") from err


def read_manifest(path: str | Path) -> list[ClipRecord]:
    """Read a whole JSONL manifest."""
    return list(iter_manifest(path))


def dumps_record(record: ClipRecord) -> str:
    """One record as a canonical JSON line (sorted keys, no trailing newline)."""
    return json.dumps(record.to_dict(), sort_keys=True, ensure_ascii=False)


def write_manifest(path: str | Path, records: Iterable[ClipRecord]) -> Path:
    """Write records as JSONL atomically."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(dumps_record(record) + "\n")
    return path
