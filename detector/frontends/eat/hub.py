"""Resolve model weights from a local path or the Hugging Face Hub, with one actionable error when offline."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from pipeline.devices import resolve_device  # noqa: F401 - re-exported for the stage's modules
from pipeline.devices import resolve_dtype as pipeline_dtype

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


class WeightsUnavailableError(OSError):
    """Weights could not be found locally nor fetched; the message says what to do."""


_FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".json")


def is_hub_id(name: str) -> bool:
    """``owner/name`` shaped, not an existing local path, and not a weights-file name."""
    if name.endswith(_FILE_SUFFIXES) or Path(name).exists():
        return False
    return bool(_HUB_ID.fullmatch(name))


def unavailable_message(repo_id: str, what: str, reason: str) -> str:
    """One-line instructions for getting ``repo_id`` onto this machine."""
    return (
        f"cannot load {what} from Hugging Face Hub repo {repo_id!r} ({reason}). "
        f"Download it where the Hub is reachable with `hf download {repo_id}` into the cache "
        f"(HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')}) and run with HF_HUB_OFFLINE=1, "
        f"or pass a local folder/file path instead of the id."
    )


def hub_file(
    repo_id: str,
    filename: str,
    *,
    revision: str | None = None,
    local_files_only: bool | None = None,
    optional: bool = False,
) -> Path | None:
    """Path of ``filename`` in ``repo_id`` (cached or downloaded); ``None`` if ``optional`` and absent.

    Raises :class:`WeightsUnavailableError` when the file cannot be obtained (offline, unknown repo, ...).
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    kwargs = {"revision": revision}
    if local_files_only is not None:
        kwargs["local_files_only"] = local_files_only
    try:
        return Path(hf_hub_download(repo_id, filename, **kwargs))
    except EntryNotFoundError as exc:
        if optional and not isinstance(exc, LocalEntryNotFoundError):
            return None
        raise WeightsUnavailableError(unavailable_message(repo_id, filename, _short(exc))) from exc
    except Exception as exc:  # network, auth, unknown repo: all end in the same instructions
        raise WeightsUnavailableError(unavailable_message(repo_id, filename, _short(exc))) from exc


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:240]}" if text else type(exc).__name__


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """``"auto"`` -> float16 on CUDA, float32 elsewhere; ``None`` -> float32."""
    return torch.float32 if dtype is None else pipeline_dtype(device, dtype)
