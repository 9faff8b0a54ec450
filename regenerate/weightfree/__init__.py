"""Weight-free regeneration backends: genuine splice, event addition, Griffin-Lim vocoder.

They need no model weights, so corpora with several manipulation types can be built anywhere;
``create`` is what ``regenerate.recipes.create_regenerators`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.errors import ConfigError
from regenerate.base import Donor, Regenerator
from regenerate.configs import AdditionConfig, GenuineSpliceConfig, VocoderConfig
from regenerate.weightfree.addition import AdditionRegenerator
from regenerate.weightfree.griffinlim import GriffinLimRegenerator
from regenerate.weightfree.splice import GenuineSpliceRegenerator

BACKENDS = ("splice", "addition", "vocoder")


def create(backend: str, donors: Sequence[Donor] = (), config: Any = None) -> Regenerator:
    """A weight-free backend by name, with its config (:mod:`regenerate.configs`; None: the defaults).

    Unknown names raise ``ConfigError``; splice/addition with no donors raise ``RejectedInput``.
    """
    if backend == "splice":
        return GenuineSpliceRegenerator(donors, config or GenuineSpliceConfig())
    if backend == "addition":
        return AdditionRegenerator(donors, config or AdditionConfig())
    if backend == "vocoder":
        return GriffinLimRegenerator(config or VocoderConfig())
    raise ConfigError(f"unknown weight-free backend {backend!r}; known: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "AdditionRegenerator", "GenuineSpliceRegenerator", "GriffinLimRegenerator", "create"]
