"""Content and provenance hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_array(audio: np.ndarray) -> str:
    """Hex SHA-256 of an array's raw bytes (dtype and shape included)."""
    digest = hashlib.sha256(f"{audio.dtype.str}{audio.shape}".encode())
    digest.update(np.ascontiguousarray(audio).tobytes())
    return digest.hexdigest()


def config_hash(config: Any) -> str:
    """Stable short hash of a JSON-serialisable config (key order does not matter)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
