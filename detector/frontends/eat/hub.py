"""Model weights from a local path or the Hugging Face Hub (through :mod:`pipeline.checkpoints`), and dtypes."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.checkpoints import CheckpointUnavailable, is_hub_id, unavailable  # noqa: F401 - is_hub_id re-exported
from pipeline.checkpoints import hub_file as core_hub_file
from pipeline.devices import resolve_device  # noqa: F401 - re-exported for the stage's modules
from pipeline.devices import resolve_dtype as pipeline_dtype


class WeightsUnavailableError(CheckpointUnavailable, OSError):
    """Weights could not be found locally nor fetched; the message says what to do."""


def unavailable_message(repo_id: str, what: str, reason: str) -> str:
    """One-line instructions for getting ``repo_id`` onto this machine (``what``: the file or part missing)."""
    return unavailable(repo_id, what, reason, "a local folder/file path")


def hub_file(repo_id: str, filename: str, *, revision: str | None = None, local_files_only: bool | None = None,
             optional: bool = False) -> Path | None:
    """:func:`pipeline.checkpoints.hub_file`, raising :class:`WeightsUnavailableError`."""
    return core_hub_file(repo_id, filename, revision=revision, local_files_only=local_files_only, optional=optional,
                         error=WeightsUnavailableError, local="a local folder/file path")


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``"auto"`` -> float16 on CUDA, float32 elsewhere; ``None`` -> float32."""
    return torch.float32 if dtype is None else pipeline_dtype(device, dtype)
