"""Weight-free regeneration backends: genuine splice, event addition, Griffin-Lim vocoder.

They need no model weights, so corpora with several manipulation types can be built anywhere;
``create`` is what ``regenerate.recipes.create_regenerators`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from regenerate.base import Donor, Regenerator
from regenerate.weightfree.addition import AdditionRegenerator
from regenerate.weightfree.griffinlim import GriffinLimRegenerator
from regenerate.weightfree.splice import GenuineSpliceRegenerator

BACKENDS = ("splice", "addition", "vocoder")


def create(backend: str, donors: Sequence[Donor] = (), params: Mapping[str, Any] | None = None) -> Regenerator:
    """A weight-free backend by name.

    ``params`` may carry ``snr_db`` ([low, high] or one value), ``griffin_lim_iters``, ``splice_match_level``
    (scale the spliced stretch to the RMS of the span it replaces) and ``addition_peak_limit`` (an added event
    may not raise the clip's peak).

    Unknown names raise ``KeyError``; splice/addition with no donors raise ``RejectedInput``.
    """
    params = params or {}
    if backend == "splice":
        return GenuineSpliceRegenerator(donors, match_level=bool(params.get("splice_match_level", False)))
    if backend == "addition":
        snr = params.get("snr_db", (0.0, 10.0))
        return AdditionRegenerator(donors, snr_db=(snr, snr) if isinstance(snr, int | float) else tuple(snr),
                                   peak_limit=bool(params.get("addition_peak_limit", False)))
    if backend == "vocoder":
        return GriffinLimRegenerator(iters=int(params.get("griffin_lim_iters", 32)))
    raise KeyError(f"unknown weight-free backend {backend!r}; known: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "AdditionRegenerator", "GenuineSpliceRegenerator", "GriffinLimRegenerator", "create"]
