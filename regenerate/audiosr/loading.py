"""Finding and reading the official checkpoint: hub id, short name, local folder or file."""

from __future__ import annotations

from pathlib import Path

import torch

from regenerate.audiosr.config import CHECKPOINT_FILE, HUB_IDS


class AudioSRLoadError(RuntimeError):
    """The AudioSR checkpoint could not be found or read; the message says what to do."""


def _offline_message(repo_id: str, reason: str) -> str:
    return (
        f"AudioSR checkpoint {repo_id}/{CHECKPOINT_FILE} is not available ({reason}). "
        f"Pre-download it where the hub is reachable with `hf download {repo_id} {CHECKPOINT_FILE}` "
        f"(it lands in the cache under $HF_HOME; set HF_HUB_OFFLINE=1 to use only that cache), "
        f"or pass a local folder or file path instead of the hub id."
    )


def resolve_checkpoint(id_or_path: str) -> Path:
    """Local file, local folder holding ``pytorch_model.bin``, ``basic``/``speech``, or a hub repo id -> file."""
    local = Path(id_or_path).expanduser()
    if local.is_file():
        return local
    if local.is_dir():
        candidate = local / CHECKPOINT_FILE
        if candidate.is_file():
            return candidate
        raise AudioSRLoadError(f"{local}: folder has no {CHECKPOINT_FILE} (the official AudioSR checkpoint file)")
    repo_id = HUB_IDS.get(id_or_path, id_or_path)
    if repo_id.count("/") != 1 or repo_id.startswith((".", "/", "~")):
        raise AudioSRLoadError(f"{id_or_path}: not an existing file or folder, nor a hub id like {HUB_IDS['basic']}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, CHECKPOINT_FILE))
    except LocalEntryNotFoundError as err:
        reason = "not in the local hub cache, and the hub is unreachable or offline mode is on"
        raise AudioSRLoadError(_offline_message(repo_id, reason)) from err
    except (RepositoryNotFoundError, EntryNotFoundError) as err:
        raise AudioSRLoadError(_offline_message(repo_id, type(err).__name__)) from err
    except Exception as err:  # offline mode, no network, missing cache entry, proxy errors: one actionable message
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise AudioSRLoadError(_offline_message(repo_id, first_line[:200])) from err


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The weights dict of an official checkpoint (``{"state_dict": {...}}`` or a bare dict), memory-mapped."""
    try:
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as err:  # legacy (non-zip) serialisation cannot be memory-mapped
            if "mmap" not in str(err):
                raise
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise AudioSRLoadError(f"{path}: cannot read checkpoint ({str(err).splitlines()[0][:200]})") from err
    if not isinstance(payload, dict):
        raise AudioSRLoadError(f"{path}: checkpoint holds {type(payload).__name__}, expected a dict of tensors")
    state = payload.get("state_dict", payload)
    if not isinstance(state, dict):
        raise AudioSRLoadError(f"{path}: 'state_dict' entry is {type(state).__name__}, expected a dict of tensors")
    return state
