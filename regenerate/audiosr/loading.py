"""Finding and reading the official checkpoint: hub id, short name, local folder or file."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.checkpoints import CheckpointUnavailable, hub_file
from regenerate.audiosr.config import CHECKPOINT_FILE, HUB_IDS


class AudioSRLoadError(CheckpointUnavailable, RuntimeError):
    """The AudioSR checkpoint could not be found or read; the message says what to do."""


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
    local = f"a local folder holding {CHECKPOINT_FILE}, or its path"
    path = hub_file(repo_id, CHECKPOINT_FILE, error=AudioSRLoadError, local=local)
    assert path is not None  # not optional: a missing file raises
    return path


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
