"""Nothing outside a corpus: a manifest's audio paths must stay inside the corpus folder.

A manifest is data anyone can edit. Without this check a crafted ``audio_path`` (absolute, ``../``, or a
symlink placed in the corpus) makes ``push`` embed an arbitrary file of the publishing machine in a public
dataset, and ``train`` / ``benchmark`` read it. Every reader of corpus audio resolves paths through
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

    Raises :class:`OutsideCorpus` for an absolute path, or a path that resolves outside ``root``
    (``..`` components, or a symlink whose target lies outside).
    """
    root = Path(root)
    label = f"clip {clip_id!r}: " if clip_id else ""
    if Path(audio_path).is_absolute():
        raise OutsideCorpus(audio_path, f"{label}absolute audio path in a corpus manifest (paths are relative to "
                                        f"the corpus folder {root}); refused")
    candidate = root / audio_path
    real_root, real = root.resolve(), candidate.resolve()
    if not real.is_relative_to(real_root):
        lexical = Path(os.path.normpath(real_root / audio_path))
        how = "is a symlink to" if lexical.is_relative_to(real_root) else "resolves to"
        raise OutsideCorpus(audio_path, f"{label}audio path {how} {real}, outside the corpus folder {real_root}; "
                                        "refused")
    return candidate
