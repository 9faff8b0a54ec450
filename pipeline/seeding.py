"""Seeded randomness: every random choice of a build draws from a generator keyed on what it is for.

The key is SHA-256 of the parts (so it is stable across processes, machines and Python versions, unlike
``hash()``), which makes a clip's draws independent of which other clips are built with it.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _digest(parts: tuple[object, ...], sep: str) -> bytes:
    return hashlib.sha256(sep.join(map(str, parts)).encode()).digest()


def keyed_rng(*parts: object) -> np.random.Generator:
    """A numpy generator seeded by SHA-256 of ``parts`` joined with NUL (e.g. seed, clip id, backend)."""
    return np.random.default_rng(np.frombuffer(_digest(parts, "\x00"), dtype=np.uint32))


def keyed_int(*parts: object) -> int:
    """A 32-bit integer from SHA-256 of ``parts`` joined with ``|``: per-clip seeds and seeded orderings."""
    return int.from_bytes(_digest(parts, "|")[:4], "little")
