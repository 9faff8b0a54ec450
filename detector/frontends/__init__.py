"""Front-end registry: a name (and options) -> a :class:`Frontend`.

``stft`` (the default: linear-STFT envelope + fine structure + phase, see :mod:`detector.frontends.stft`)
and ``logmel`` are built in (trained from scratch); ``eat`` and transformers-native encoders (``wavlm``,
``ast``, ``wav2vec2``, ``hf:<hub id or local folder>``) are imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from detector.config import BUILTIN_FRONTENDS, DEFAULT_FRONTEND, FRONTEND_NAMES, HF_DEFAULT_IDS
from detector.frontends.base import CachableFrontend, Frontend
from detector.frontends.logmel import LogMelFrontend
from detector.frontends.stft import STFTFrontend


def create_frontend(name: str, **kwargs: Any) -> Frontend:
    """Build front-end ``name``.

    For ``eat``/HF names, ``id_or_path`` (hub id or local folder) selects pretrained weights, defaulting
    to the official EAT-base / the name's default hub id; ``eat`` with an explicit ``config`` (an
    ``EATConfig`` or its dict, e.g. a tiny one for tests) is built randomly initialised instead.
    """
    if name == "stft":
        return STFTFrontend(**kwargs)
    if name == "logmel":
        return LogMelFrontend(**kwargs)
    if name == "eat":
        from detector.frontends import eat

        if isinstance(kwargs.get("config"), dict):
            kwargs["config"] = eat.EATConfig(**kwargs["config"])
        if isinstance(kwargs.get("inputs"), dict):
            inputs = dict(kwargs["inputs"])
            if isinstance(inputs.get("fbank"), dict):
                inputs["fbank"] = eat.KaldiFbankConfig(**inputs["fbank"])
            kwargs["inputs"] = eat.EATInputConfig(**inputs)
        if "config" in kwargs:  # an explicit (e.g. tiny) architecture, randomly initialised
            kwargs.pop("id_or_path", None)
            return eat.EATFrontend(**kwargs)
        return eat.EATFrontend.from_pretrained(kwargs.pop("id_or_path", None) or eat.DEFAULT_EAT_ID, **kwargs)
    if name in HF_DEFAULT_IDS or name.startswith("hf:"):
        from detector.frontends.hf import HFFrontend

        explicit = kwargs.pop("id_or_path", None)
        id_or_path = name[3:] if name.startswith("hf:") else explicit or HF_DEFAULT_IDS[name]
        return HFFrontend.from_pretrained(id_or_path, **kwargs)
    raise ValueError(f"unknown front-end {name!r} (known: {', '.join(FRONTEND_NAMES)})")


__all__ = [
    "BUILTIN_FRONTENDS",
    "DEFAULT_FRONTEND",
    "FRONTEND_NAMES",
    "CachableFrontend",
    "Frontend",
    "LogMelFrontend",
    "STFTFrontend",
    "create_frontend",
]
