"""Back-end registry: sequence models that map front-end features to frame and clip logits."""

from __future__ import annotations

from typing import Any

from torch import nn

from detector.backends.fakesound_ref import FakeSoundRefBackend
from detector.backends.mrtcn import MRTCNBackend
from detector.config import DEFAULT_BACKEND

BACKENDS: dict[str, type[nn.Module]] = {"fakesound-ref": FakeSoundRefBackend, "mrtcn": MRTCNBackend}


def create_backend(name: str, in_dim: int, **kwargs: Any) -> nn.Module:
    """Build back-end ``name`` for ``in_dim``-dimensional features."""
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(BACKENDS)})") from None
    return cls(in_dim, **kwargs)


__all__ = ["BACKENDS", "DEFAULT_BACKEND", "FakeSoundRefBackend", "MRTCNBackend", "create_backend"]
