"""The Hugging Face Hub environment as every stage reads it (model loaders decide cache-only vs download)."""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """Offline mode as set now (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` read at call time) or when
    huggingface_hub was imported."""
    from huggingface_hub import constants

    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").strip().lower()
    return env in _TRUE or bool(constants.HF_HUB_OFFLINE)
