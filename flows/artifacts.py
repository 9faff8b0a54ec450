"""Artifact keys: one per kind and per output folder, so two corpora (or checkpoints) never share a key."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def artifact_key(kind: str, out: str) -> str:
    """``fakesound-<kind>-<folder name>-<hash of its absolute path>`` (keys allow lowercase, digits and dashes)."""
    name = re.sub(r"[^a-z0-9]+", "-", Path(out).name.lower()).strip("-") or "corpus"
    digest = hashlib.sha256(str(Path(out).absolute()).encode()).hexdigest()[:8]
    return f"fakesound-{kind}-{name[:40]}-{digest}"
