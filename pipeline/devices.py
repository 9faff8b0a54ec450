"""Device and precision resolution: the one place ``"auto"`` becomes a concrete device and dtype.

torch is imported inside the functions, so reading this module (e.g. for a job key of a weight-free build)
costs nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    import torch

AUTO = "auto"


def resolve_device(device: Any = AUTO) -> torch.device:
    """``"auto"`` (or None): CUDA when available, else CPU; anything else as ``torch.device`` reads it."""
    import torch

    if isinstance(device, torch.device):
        return device
    if device is None or device == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and resolved.index is not None and torch.cuda.is_available():
        visible = torch.cuda.device_count()
        if resolved.index >= visible:  # e.g. cuda:1 on a Dask/Prefect worker pinned to one GPU
            pinned = os.environ.get("CUDA_VISIBLE_DEVICES")
            where = f" (CUDA_VISIBLE_DEVICES={pinned})" if pinned is not None else ""
            raise ConfigError(f"device {device!r}: this process sees {visible} GPU(s){where}; "
                              "on a worker pinned to one GPU use device=cuda (its own GPU)")
    return resolved


def resolve_dtype(device: torch.device, dtype: Any = AUTO) -> torch.dtype:
    """``"auto"`` (or None): half precision on CUDA, float32 elsewhere; a name (``"float32"``) or a dtype as given."""
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, AUTO):
        return torch.float16 if device.type == "cuda" else torch.float32
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r} (e.g. auto, float32, float16, bfloat16)")
    return resolved


def runtime(device: Any = AUTO, dtype: Any = AUTO) -> dict[str, str]:
    """What a model backend will really run on: ``{"device": "cuda", "dtype": "float16"}`` (device type only, so
    ``cuda``, ``cuda:0`` and ``auto`` on a GPU machine are the same runtime)."""
    resolved = resolve_device(device)
    return {"device": resolved.type, "dtype": str(resolve_dtype(resolved, dtype)).removeprefix("torch.")}
