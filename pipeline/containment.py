"""Nothing outside a corpus: a manifest's audio paths must stay inside the corpus folder.

A manifest is data anyone can edit. Without this check a crafted ``audio_path`` (absolute, ``../``, or a
symlink placed in the corpus) makes ``push`` embed an arbitrary file of the publishing machine in a public
dataset, and ``train`` / ``benchmark`` / ``listen`` read it. The root is the corpus folder (a benchmark
manifest's folder, or the ``--audio-root`` the user named). Every reader of corpus audio resolves paths through
:func:`audio_inside`; source manifests (audio living anywhere) do not.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import RejectedInput


class OutsideCorpus(RejectedInput):
    """A manifest entry whose audio path leaves the corpus folder; ``str()`` is one line."""


def audio_inside(root: str | Path, audio_path: str, clip_id: str = "") -> Path:
    """The audio file of a manifest entry, resolved inside ``root`` (symlinks followed).

    Raises :class:`OutsideCorpus` for a path that resolves outside ``root``: ``..`` components, an absolute
    path elsewhere, or a symlink whose target lies outside. (An absolute path inside ``root`` is accepted: a
    benchmark's ``--audio-root`` resolves published paths to absolute ones under that root.)
    """
    root = Path(root)
    label = f"clip {clip_id!r}: " if clip_id else ""
    candidate = root / audio_path  # an absolute audio_path replaces root here
    try:
        real_root, real = root.resolve(), candidate.resolve()
    except (RuntimeError, OSError):  # a symlink loop (RuntimeError before Python 3.13)
        raise RejectedInput(str(candidate), f"{label}symlink loop") from None
    if not real.is_relative_to(real_root):
        lexical = Path(os.path.normpath(real_root / audio_path))
        how = "is a symlink to" if lexical.is_relative_to(real_root) else "resolves to"
        raise OutsideCorpus(audio_path, f"{label}audio path {how} {real}, outside the corpus folder {real_root}; "
                                        "refused")
    return candidate
