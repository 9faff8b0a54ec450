"""``LICENSES.md`` for what a folder import and a reals restore write: say what is known of each file's origin and
terms, and say plainly when the terms are unknown (then they are the user's to find out before publishing).

A build copies its sources' ``LICENSES.md`` into the corpus and ``push`` puts it in the dataset card (and refuses a
corpus without one), so these files travel with everything made from the audio.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.manifest import REAL, ClipRecord

UNKNOWN = "unknown"
YOUR_RESPONSIBILITY = ("it is your responsibility to find out what applies to each clip and state it here before "
                       "publishing anything built from these sources")


def demote_headings(markdown: str, levels: int = 2) -> str:
    """The same Markdown with every heading ``levels`` deeper (to nest one document in another)."""
    return re.sub(r"^(#{1,6}) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", markdown, flags=re.M)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def folder_import_licences(audio_dir: str, captions_csv: str, files: Mapping[str, str],
                           licences: Mapping[str, str] | None) -> str:
    """``LICENSES.md`` of a folder import: ``files`` maps each imported clip id to its file (relative to the audio
    folder); ``licences`` is the captions CSV's licence column per clip id (None: the CSV has no such column)."""
    terms = {clip: ((licences or {}).get(clip) or "").strip() or UNKNOWN for clip in files}
    lines = ["# Licences and attribution", "",
             f"The source audio was imported by `fakesound import-sources` from the folder `{Path(audio_dir).name}` "
             f"with the captions CSV `{Path(captions_csv).name}` ({len(files)} clips).", ""]
    if licences is None:
        lines += ["No licence information came with these files (the captions CSV has no `license` column): the "
                  f"licence of each clip is **unknown**, and {YOUR_RESPONSIBILITY}.", ""]
    else:
        counts = Counter(terms.values())
        lines += ["Licences as the captions CSV's `license` column states them (an empty cell: unknown):", "",
                  "| licence | clips |", "|---|---:|"]
        lines += [f"| {_cell(name)} | {n} |" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        lines.append("")
        if counts[UNKNOWN]:
            lines += [f"{counts[UNKNOWN]} clip(s) have no stated licence: {YOUR_RESPONSIBILITY}.", ""]
    lines += ["Clips named by an AudioCaps `youtube_id` are excerpts of YouTube videos, each under its uploader's "
              "terms.", "", "## Source of each clip", "", "| clip | file | licence |", "|---|---|---|"]
    lines += [f"| {_cell(clip)} | {_cell(files[clip])} | {_cell(terms[clip])} |" for clip in sorted(files)]
    return "\n".join(lines) + "\n"


def restored_reals_licences(records: Sequence[ClipRecord], fakes_root: str, sources: str,
                            sources_licences: str | None) -> str:
    """``LICENSES.md`` of a ``restore-reals`` corpus: the fakes are the FakeSound release's, the reals come from the
    user's sources (whose own ``LICENSES.md`` is nested, or said to be missing)."""
    reals = sorted((r for r in records if r.label == REAL), key=lambda r: r.id)
    fakes = len(records) - len(reals)
    lines = ["# Licences and attribution", "",
             "This paired corpus was made by `fakesound restore-reals`.", "",
             f"* **Fakes** ({fakes}): the FakeSound release's files (Xie et al., Interspeech 2024; Hub dataset "
             f"`ZeyuXie/FakeSound`), as unpacked in `{Path(fakes_root).name}`, under the terms that release states.",
             f"* **Reals** ({len(reals)}): restored from the source clips of `{Path(sources).name}` (each aligned to "
             "its fakes and written in their format), under the terms of those source clips, below.", "",
             "## Terms of the source clips", ""]
    if sources_licences is None:
        lines += [f"The sources' folder has no LICENSES.md: their licence is **unknown**, and {YOUR_RESPONSIBILITY}.",
                  ""]
    else:
        lines += [demote_headings(sources_licences.strip()), ""]
    lines += ["## Source of each real", "", "| real | source clip |", "|---|---|"]
    lines += [f"| {_cell(r.id)} | {_cell(r.extra.get('source', UNKNOWN))} |" for r in reals]
    return "\n".join(lines) + "\n"
