"""Settings of a listening-test session: what the command line or a small TOML file may set (defaults once)."""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline.corpus import MANIFEST
from pipeline.errors import ConfigError
from pipeline.requests import Request, opt

DEFAULT_PORT = 8765
DEFAULT_HOST = "127.0.0.1"
#: The answers file's name in the corpus folder when none is given.
ANSWERS_FILE = "answers.sqlite"


def listen_command(corpus: str | Path) -> str:
    """The command that opens a corpus in the inspector and listening test (printed after a build)."""
    return f"fakesound listen --corpus {shlex.quote(str(corpus))}"


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
            raise ConfigError(f"a listening test needs at least 2 trials, got {self.trials}")
        if not self.splits:
            raise ConfigError("a listening test needs at least one split")
        object.__setattr__(self, "splits", tuple(self.splits))
        object.__setattr__(self, "manipulations", tuple(self.manipulations))

    def updated(self, **overrides: Any) -> SessionConfig:
        """A copy with the given settings replaced; ``None`` leaves a setting as it is; unknown names raise."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown session settings {sorted(unknown)} (known: {sorted(known)})")
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
        raise ConfigError(f"{path}: cannot read session config ({err})") from err
    data = data.get("session", data)
    try:
        return (base or SessionConfig()).updated(**data)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from err


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


@dataclass(frozen=True)
class ListenRequest(Request):
    """What ``fakesound listen`` is asked to do: serve ``corpus`` (the inspector and the listening test), or with
    ``export_csv`` only write the answers file as CSV. Session settings left unset come from ``config`` (a TOML
    file), else from :class:`SessionConfig`."""

    corpus: str | None = opt(None, "corpus folder (manifest.jsonl + audio); needed unless --export-csv")
    manifest: str = opt(MANIFEST, "manifest.jsonl or a FakeSound JSON (split = its stem), relative to CORPUS; audio "
                                  "paths relative to CORPUS")
    checkpoint: str | None = opt(None, "detector CKPT_DIR: overlay its frame scores in the inspector")
    host: str = opt(DEFAULT_HOST, "address to bind (loopback only unless you change it)")
    port: int = opt(DEFAULT_PORT, "port to bind")
    answers: str | None = opt(None, f"answers SQLite file (unset: CORPUS/{ANSWERS_FILE})")
    config: str | None = opt(None, "session TOML ([session] trials, splits, manipulations, seed)")
    trials: int | None = opt(None, f"trials per participant (unset: --config's, else {SessionConfig.trials})")
    splits: list[str] | None = opt(None, "splits to draw the clips from (unset: --config's, else "
                                         f"{' '.join(SessionConfig.splits)})")
    manipulations: list[str] | None = opt(None, "manipulations of the fakes to draw (unset: --config's, else all)")
    seed: int | None = opt(None, "session seed; participant n draws with (seed, n) (unset: --config's, else "
                                 f"{SessionConfig.seed})")
    cache: str | None = opt(None, "detector score cache folder (unset: CORPUS/.cache/listen)")
    inspector_key: str | None = opt(None, "fixed inspector key (unset: random, printed at start)")
    export_csv: str | None = opt(None, "write the answers file as CSV and exit (serves nothing)")

    def __post_init__(self) -> None:
        if self.corpus is None and self.export_csv is None:
            raise ConfigError("`corpus` is needed (unless `export_csv`)")
        if self.corpus is None and self.answers is None:
            raise ConfigError("`export_csv` without `corpus` needs `answers` (the answers file)")

    def answers_path(self) -> Path:
        return Path(self.answers) if self.answers else Path(self.corpus or ".") / ANSWERS_FILE

    def session(self) -> SessionConfig:
        """The session: the TOML file's (or the defaults) with the settings given here on top."""
        base = load_session_config(self.config) if self.config else SessionConfig()
        return base.updated(trials=self.trials, seed=self.seed, splits=self.splits, manipulations=self.manipulations)

    def server_settings(self) -> ServerSettings:
        corpus = Path(self.corpus or ".")
        return ServerSettings(
            corpus=corpus, answers=self.answers_path(), manifest=self.manifest, session=self.session(),
            checkpoint=Path(self.checkpoint) if self.checkpoint else None,
            cache_dir=Path(self.cache) if self.cache else None, host=self.host, port=self.port,
        )
