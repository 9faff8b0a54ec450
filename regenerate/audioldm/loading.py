"""Finding a checkpoint (hub id or local folder) and loading components, with start-up errors that say what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipeline.checkpoints import (
    DIFFUSERS_FOLDER,
    CheckpointUnavailable,
    how_to_get,
    hub_offline,
    is_hub_id,
    short_reason,
)
from pipeline.devices import resolve_device as pick_device  # noqa: F401 - the stage's name for it
from pipeline.devices import resolve_dtype as pick_dtype  # noqa: F401

#: Fewer tokens than this means the tokenizer files did not load (transformers 5 then returns an empty tokenizer).
MIN_VOCAB = 50
T = TypeVar("T")


class CheckpointUnavailableError(CheckpointUnavailable, RuntimeError):
    """A diffusers checkpoint (or one of its parts) cannot be loaded; the message is one line saying how to fix it."""


#: What a local checkpoint must be, for the offline message.
LOCAL_FOLDER = DIFFUSERS_FOLDER


def _how_to_get(repo_id: str) -> str:
    return how_to_get(repo_id, local=LOCAL_FOLDER)


def resolve_checkpoint(id_or_path: str | os.PathLike, expected_pipeline: str, cache_dir: str | None = None) -> Path:
    """Local folder of a diffusers-format checkpoint: ``id_or_path`` itself, or the hub snapshot (cache first).

    Raises :class:`CheckpointUnavailableError` (one actionable line) when it cannot be had, or when the folder
    holds another kind of pipeline than ``expected_pipeline`` (e.g. ``AudioLDM2Pipeline``).
    """
    path = Path(id_or_path).expanduser()
    if path.exists():
        folder = path
    elif not is_hub_id(str(id_or_path)):
        raise CheckpointUnavailableError(
            f"checkpoint {str(id_or_path)!r} is neither an existing folder nor a Hugging Face hub id (owner/name)"
        )
    else:
        folder = _download(str(id_or_path), cache_dir)
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise CheckpointUnavailableError(
            f"{folder} has no model_index.json: not a diffusers-format checkpoint; {_how_to_get('<hub id>')}"
        )
    found = json.loads(index_file.read_text()).get("_class_name")
    if found != expected_pipeline:
        raise CheckpointUnavailableError(
            f"{id_or_path} is a {found} checkpoint, this backend needs an {expected_pipeline} one"
        )
    return folder


def _download(repo_id: str, cache_dir: str | None) -> Path:
    from diffusers import DiffusionPipeline

    try:
        return Path(DiffusionPipeline.download(repo_id, cache_dir=cache_dir, local_files_only=True))
    except Exception as cached_error:
        if hub_offline():
            raise CheckpointUnavailableError(
                f"checkpoint {repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; "
                f"{_how_to_get(repo_id)}"
            ) from cached_error
    try:
        return Path(DiffusionPipeline.download(repo_id, cache_dir=cache_dir))
    except Exception as error:
        raise CheckpointUnavailableError(
            f"checkpoint {repo_id!r} could not be downloaded ({_gist(error)}); {_how_to_get(repo_id)}"
        ) from error


def _gist(error: Exception) -> str:
    """First clause of an exception's message, for a one-line report."""
    return short_reason(error).split(" (")[0]


def load_part(folder: Path, name: str, loader: Callable[[Path], T]) -> T:
    """Load one component from ``folder/name`` (a missing or broken part is a one-line start-up error)."""
    part = folder / name
    if not part.is_dir():
        raise CheckpointUnavailableError(f"checkpoint {folder} lacks the {name}/ folder; {_how_to_get('<hub id>')}")
    try:
        return loader(part)
    except Exception as error:
        raise CheckpointUnavailableError(
            f"{part} failed to load ({_gist(error)}); re-download the checkpoint"
        ) from error


def check_tokenizer(tokenizer: Any, name: str, embedding_rows: int | None = None) -> None:
    """Fail clearly on an empty/tiny vocabulary or one larger than the text encoder's embedding table."""
    size = len(tokenizer)
    source = getattr(tokenizer, "name_or_path", "") or "(built in memory)"
    if size < MIN_VOCAB:
        raise CheckpointUnavailableError(
            f"{name} from {source} has only {size} tokens: its vocabulary files are missing or did not load "
            "(transformers returns an empty tokenizer when offline); re-download the checkpoint or pass a local folder"
        )
    if embedding_rows is not None and size > embedding_rows:
        raise CheckpointUnavailableError(
            f"{name} from {source} has {size} tokens but its text encoder embeds only {embedding_rows}: "
            "tokenizer and model come from different checkpoints"
        )


def load_shared_parts(folder: Path) -> dict[str, Any]:
    """The parts AudioLDM and AudioLDM 2 checkpoints share: VAE, vocoder, DDIM scheduler and (CLAP) tokenizer."""
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import AutoTokenizer, SpeechT5HifiGan

    return {
        "vae": load_part(folder, "vae", AutoencoderKL.from_pretrained),
        "tokenizer": load_part(folder, "tokenizer", AutoTokenizer.from_pretrained),
        "vocoder": load_part(folder, "vocoder", SpeechT5HifiGan.from_pretrained),
        "scheduler": load_part(folder, "scheduler", DDIMScheduler.from_pretrained),
    }
