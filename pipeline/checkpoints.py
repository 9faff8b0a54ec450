"""Checkpoint resolution: a hub id (from the Hugging Face cache, or downloaded) or a local path, and the one
message that says how to get a checkpoint onto an offline machine.

Every stage that loads weights (AudioLDM/AudioLDM 2, AudioSR, EAT and transformers front-ends) goes through
here, so "missing weights" reads the same everywhere and is an :class:`~pipeline.errors.EnvironmentProblem`
(raised at start-up, never a rejected clip).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.errors import EnvironmentProblem

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
_TRUE = {"1", "true", "yes", "on"}
_FILE_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".bin", ".json")
#: What a local diffusers checkpoint must be, for the offline message.
DIFFUSERS_FOLDER = ("the path of a local diffusers-format folder "
                    "(model_index.json, unet/, vae/, vocoder/, text_encoder/, tokenizer/, scheduler/)")


class CheckpointUnavailable(EnvironmentProblem):
    """A checkpoint (or one of its parts) cannot be found or read; the message is one line saying how to fix it."""


def is_hub_id(name: str) -> bool:
    """``owner/name`` shaped, not an existing local path, and not a weights-file name."""
    if name.endswith(_FILE_SUFFIXES) or Path(name).expanduser().exists():
        return False
    return bool(_HUB_ID.fullmatch(name))


def hub_offline() -> bool:
    """Offline mode as set now (env var read at call time) or when huggingface_hub was imported."""
    from huggingface_hub import constants

    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").strip().lower()
    return env in _TRUE or bool(constants.HF_HUB_OFFLINE)


def how_to_get(repo_id: str, filename: str | None = None, local: str = "a local folder or file path") -> str:
    """The one instruction for getting ``repo_id`` (or one file of it) onto a machine without the Hub."""
    target = f"{repo_id} {filename}" if filename else repo_id
    return (
        f"pre-download it where the Hub is reachable with `hf download {target}` (older clients: "
        f"`huggingface-cli download {target}`), then point HF_HOME (now "
        f"{os.environ.get('HF_HOME', '~/.cache/huggingface')}) or HF_HUB_CACHE at that cache and set "
        f"HF_HUB_OFFLINE=1; or pass {local} instead of the hub id"
    )


def short_reason(error: BaseException) -> str:
    """First line of an exception's message (at most 200 characters), for a one-line report."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def hub_file(
    repo_id: str,
    filename: str,
    *,
    revision: str | None = None,
    local_files_only: bool | None = None,
    optional: bool = False,
    error: type[CheckpointUnavailable] = CheckpointUnavailable,
    local: str = "a local folder or file path",
) -> Path | None:
    """Path of ``filename`` in ``repo_id`` (cached, else downloaded unless offline); ``None`` if ``optional`` and
    the repo has no such file. Raises ``error`` (one actionable line) when it cannot be had."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    kwargs: dict = {"revision": revision}
    if local_files_only is not None:
        kwargs["local_files_only"] = local_files_only
    try:
        return Path(hf_hub_download(repo_id, filename, **kwargs))
    except EntryNotFoundError as exc:
        if optional and not isinstance(exc, LocalEntryNotFoundError):
            return None
        raise error(unavailable(repo_id, filename, exc, local)) from exc
    except Exception as exc:  # offline, network, auth, unknown repo: all end in the same instructions
        raise error(unavailable(repo_id, filename, exc, local)) from exc


def unavailable(repo_id: str, filename: str | None, reason: BaseException | str, local: str) -> str:
    """``<repo>/<file> is not available (<reason>); <how to get it>``, one line."""
    what = f"{repo_id}/{filename}" if filename else repo_id
    why = reason if isinstance(reason, str) else f"{type(reason).__name__}: {short_reason(reason)}"
    return f"checkpoint {what} is not available ({why}); {how_to_get(repo_id, filename, local)}"


def check_available(
    id_or_path: str,
    marker: str,
    *,
    local: str = "a local folder or file path",
    error: type[CheckpointUnavailable] = CheckpointUnavailable,
) -> Path | None:
    """Start-up check that a checkpoint can be had, loading nothing: a local file, a local folder holding
    ``marker``, a hub id whose ``marker`` is in the cache, or (online) on the Hub. Returns the local folder when
    there is one (None: on the Hub, the loader downloads it). Raises ``error`` in one line otherwise, so a build
    stops before it claims a folder or shows any progress.
    """
    path = Path(id_or_path).expanduser()
    if path.is_file():
        return path.parent
    if path.is_dir():
        if not (path / marker).is_file():
            raise error(f"checkpoint folder {path} has no {marker}; pass {local}")
        return path
    if not is_hub_id(id_or_path):
        raise error(f"checkpoint {id_or_path!r} is neither an existing file or folder nor a Hugging Face hub id "
                    "(owner/name)")
    from huggingface_hub import file_exists, try_to_load_from_cache

    cached = try_to_load_from_cache(id_or_path, marker)
    if isinstance(cached, str):
        return Path(cached).parent
    if hub_offline():
        raise error(unavailable(id_or_path, None, "not in the Hugging Face cache and HF_HUB_OFFLINE is set", local))
    try:
        found = file_exists(id_or_path, marker)
    except Exception as exc:  # no network, auth, unknown repo: the loader would fail the same way, later
        raise error(unavailable(id_or_path, None, exc, local)) from exc
    if not found:
        raise error(unavailable(id_or_path, marker, "the repository has no such file", local))
    return None


def check_diffusers_checkpoint(id_or_path: str, expected_pipeline: str,
                               error: type[CheckpointUnavailable] = CheckpointUnavailable) -> None:
    """Start-up check of a diffusers-format checkpoint, loading nothing (not even diffusers): it can be had (local
    folder, cache, or online), and where it is local its ``model_index.json`` names ``expected_pipeline`` and every
    part it lists has its folder."""
    import json

    folder = check_available(id_or_path, "model_index.json", local=DIFFUSERS_FOLDER, error=error)
    if folder is None:  # on the Hub: the loader downloads it
        return
    index = json.loads((folder / "model_index.json").read_text())
    if index.get("_class_name") != expected_pipeline:
        raise error(f"{id_or_path} is a {index.get('_class_name')} checkpoint, this backend needs an "
                    f"{expected_pipeline} one")
    missing = [name for name, spec in index.items()
               if not name.startswith("_") and isinstance(spec, list) and spec[0] and not (folder / name).is_dir()]
    if missing:
        fix = (f"an incomplete download; {how_to_get(id_or_path, local=DIFFUSERS_FOLDER)}" if is_hub_id(id_or_path)
               else "copy the whole checkpoint folder")
        raise error(f"checkpoint {folder} lacks the {', '.join(f'{m}/' for m in missing)} folder(s) its "
                    f"model_index.json lists; {fix}")
