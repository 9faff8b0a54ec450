"""Settings of a listening-test session: what the command line or a small TOML file may set (defaults once)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline.corpus import MANIFEST

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class SessionConfig:
    """A participant's test: ``trials`` clips (half fake, half real) drawn with ``seed`` from the given splits
    and manipulations (empty: all manipulations)."""

    trials: int = 20
    splits: tuple[str, ...] = ("test",)
    manipulations: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.trials < 2:
            raise ValueError(f"a listening test needs at least 2 trials, got {self.trials}")
        if not self.splits:
            raise ValueError("a listening test needs at least one split")
        object.__setattr__(self, "splits", tuple(self.splits))
        object.__setattr__(self, "manipulations", tuple(self.manipulations))

    def updated(self, **overrides: Any) -> SessionConfig:
        """A copy with the given settings replaced; ``None`` leaves a setting as it is; unknown names raise."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown session settings {sorted(unknown)} (known: {sorted(known)})")
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "splits": list(self.splits), "manipulations": list(self.manipulations),
                "seed": self.seed}


def load_session_config(path: str | Path, base: SessionConfig | None = None) -> SessionConfig:
    """Read a ``[session]`` table (or top-level keys) from a TOML file over ``base``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"{path}: cannot read session config ({err})") from err
    data = data.get("session", data)
    try:
        return (base or SessionConfig()).updated(**data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from err


@dataclass(frozen=True)
class ServerSettings:
    """Where the app listens and what it reads and writes."""

    corpus: Path
    answers: Path
    manifest: str = MANIFEST
    session: SessionConfig = field(default_factory=SessionConfig)
    checkpoint: Path | None = None
    cache_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
