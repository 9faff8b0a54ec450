"""Shared pieces of the flows: artifact keys (one per kind and output folder, so two corpora or checkpoints never
share a key) and the typed ``device`` parameter (a malformed device is refused when the run is created)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field

#: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``: what :func:`pipeline.devices.resolve_device` takes.
Device = Annotated[str, Field(pattern=r"^(auto|cpu|mps|cuda(:[0-9]+)?|xpu(:[0-9]+)?)$")]


def artifact_key(kind: str, out: str) -> str:
    """``fakesound-<kind>-<folder name>-<hash of its absolute path>`` (keys allow lowercase, digits and dashes)."""
    name = re.sub(r"[^a-z0-9]+", "-", Path(out).name.lower()).strip("-") or "corpus"
    digest = hashlib.sha256(str(Path(out).absolute()).encode()).hexdigest()[:8]
    return f"fakesound-{kind}-{name[:40]}-{digest}"
