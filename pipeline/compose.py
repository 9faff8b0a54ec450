"""Demo source composer: captioned ~10 s soundscapes with known event times, from real recordings.

Each clip lays one background recording under 1-3 foreground events at seeded, non-overlapping
onsets on the 40 ms grid. The caption is built from the recordings' caption phrases, and the
event times are written as phrase-level grounding results, so the demo has ground truth to
ground on. Composition is deterministic in (kit, seed, clip index).

With ``histories`` (the default) each composed clip then goes through a seeded recording history
(:func:`pipeline.conditions.draw_history`: band limit 4/8/11/16 kHz or full band, resampling, mono
downmix, MP3/Vorbis/Opus, DC) and a drawn level (peak -30..-1 dBFS; 3 % near-silent at -60..-50 dBFS,
1 % digital silence) *before* any fake is made, so a real clip and its fake share that history as AudioCaps
reals and FakeSound fakes share YouTube's processing, and bandwidth or codec never tells them apart.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_write_text
from pipeline.audio_io import quantize_pcm16, read_audio, write_audio
from pipeline.conditions import apply_conditions, draw_history
from pipeline.errors import EnvironmentProblem
from pipeline.hashing import sha256_file
from pipeline.manifest import REAL, ClipRecord, write_manifest
from pipeline.timemath import FAKESOUND_GRID_S, seconds_to_samples, snap_to_grid

DEMO_RATE = 32000
CLIP_SECONDS = 10.0
#: Share of composed clips made near-silent (peak -60..-50 dBFS) and digitally silent.
P_NEAR_SILENT = 0.03
P_SILENT = 0.01


@dataclass(frozen=True)
class KitSound:
    """One recording of the demo kit."""

    file: str
    kind: str  # "background" | "event"
    label: str
    phrase: str
    licence: str
    credit: str


@dataclass(frozen=True)
class ComposedEvent:
    phrase: str
    file: str
    onset: float
    offset: float
    gain_db: float


def default_kit_dir() -> Path:
    """The kit shipped with the package (``pipeline/demo_kit``, package data: found in a source tree, an editable
    or a regular install alike)."""
    kit = resources.files("pipeline") / "demo_kit"
    if not isinstance(kit, Path):  # a zipped install: the kit would need extracting, which the demo does not do
        raise EnvironmentProblem(f"the demo kit is inside an archive ({kit}); install fakesound unzipped")
    return kit


def read_kit(kit_dir: str | Path) -> list[KitSound]:
    """Parse the kit's ``manifest.csv``."""
    path = Path(kit_dir) / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: demo kit manifest not found (pass --kit DIR)")
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            KitSound(r["file"], r["kind"], r["label"], r["caption_phrase"], r["licence"], r["credit"])
            for r in csv.DictReader(fh)
        ]


def _caption(background: str, events: list[str]) -> str:
    if not events:
        return background
    listed = events[0] if len(events) == 1 else ", ".join(events[:-1]) + " and " + events[-1]
    return f"{listed} while {background}"


def _place_events(rng: np.random.Generator, durations: list[float], clip_s: float) -> list[float] | None:
    """Seeded non-overlapping onsets on the grid with >= 0.3 s gaps; None when they do not fit."""
    gap = 0.3
    slack = clip_s - sum(durations) - gap * (len(durations) + 1)
    if slack < 0:
        return None
    cuts = np.sort(rng.uniform(0, slack, size=len(durations)))
    onsets, t = [], gap
    prev_cut = 0.0
    for cut, dur in zip(cuts, durations, strict=True):
        t += cut - prev_cut
        prev_cut = cut
        onset = snap_to_grid(t)
        onsets.append(onset)
        t = onset + dur + gap
    return onsets if onsets and onsets[-1] + durations[-1] <= clip_s else None


def compose_clip(
    index: int, kit: list[KitSound], audio: dict[str, np.ndarray], seed: int, clip_s: float = CLIP_SECONDS
) -> tuple[np.ndarray, str, list[ComposedEvent], str]:
    """Compose clip ``index``: (audio at DEMO_RATE, caption, events, background file)."""
    rng = np.random.default_rng([seed, index])
    backgrounds = [s for s in kit if s.kind == "background"]
    events = [s for s in kit if s.kind == "event"]
    bg = backgrounds[rng.integers(len(backgrounds))]
    n = seconds_to_samples(clip_s, DEMO_RATE)
    mix = np.zeros(n, dtype=np.float64)
    bg_audio = audio[bg.file][:n]
    mix[: len(bg_audio)] = bg_audio * 10 ** (rng.uniform(-6, 0) / 20)
    for _ in range(8):  # retry until the drawn events fit
        chosen = [events[i] for i in rng.choice(len(events), size=int(rng.integers(1, 4)), replace=False)]
        durs = [len(audio[e.file]) / DEMO_RATE for e in chosen]
        onsets = _place_events(rng, durs, clip_s)
        if onsets is not None:
            break
    else:
        chosen, onsets, durs = [], [], []
    placed = []
    for ev, onset, dur in zip(chosen, onsets, durs, strict=True):
        gain_db = float(rng.uniform(-8, 0))
        start = seconds_to_samples(onset, DEMO_RATE)
        clip = audio[ev.file][: n - start]
        mix[start : start + len(clip)] += clip * 10 ** (gain_db / 20)
        placed.append(ComposedEvent(ev.phrase, ev.file, onset, round(onset + dur, 6), round(gain_db, 3)))
    peak = np.max(np.abs(mix))
    if peak > 0.95:
        mix *= 0.95 / peak
    caption = _caption(bg.phrase, [e.phrase for e in placed])
    return quantize_pcm16(mix.astype(np.float32)), caption, placed, bg.file


#: Source ids the composer gives (``demo<seed>_<index>``): how a corpus is recognised as the demo.
DEMO_SOURCE_ID = re.compile(r"^demo\d{3,}_\d{5,}$")

_KIT_ATTRIBUTION = "## Attribution text to reproduce"


def demo_corpus_licenses(kit_dir: str | Path) -> str:
    """``LICENSES.md`` for a corpus built from the kit: what its clips are, its licence, the attribution to keep,
    and the kit's per-recording provenance (sections after the attribution text, headings one level down)."""
    kit_text = (Path(kit_dir) / "LICENSES.md").read_text(encoding="utf-8")
    if _KIT_ATTRIBUTION not in kit_text:
        raise ValueError(f"{Path(kit_dir) / 'LICENSES.md'}: no '{_KIT_ATTRIBUTION}' section")
    attribution_and_rest = kit_text.split(_KIT_ATTRIBUTION, 1)[1]
    attribution, _, provenance = attribution_and_rest.partition("\n## ")
    provenance = re.sub(r"^(#{2,5}) ", r"#\1 ", "## " + provenance, flags=re.M) if provenance else ""
    return f"""# Licences and attribution — fakesound demo corpus

Every clip of this corpus is derived from the recordings of fakesound's demo kit (`pipeline/demo_kit/` in the
fakesound package), which are themselves modified excerpts of sounds from 0 A.D. (Wildfire Games), Minetest
Game, OpenSFX (the OpenTTD base sounds) and the Asterisk core sounds (speech prompts recorded by Allison Smith and
June Wallack):

* the **real clips** (`label` 0) are composed soundscapes, not field recordings: one kit background recording
  (nature, farm, music, crowds, telephone speech) with one to three kit event recordings (animals, foley, vehicles,
  machines, impacts, applause, speech) mixed over it at seeded
  times and levels, then passed through a seeded recording history (band limit, lossy codec, resampling, level;
  recorded in each source's `extra`), at 32 kHz, 16-bit;
* the **fake clips** (`label` 1) are real clips with one region replaced (a stretch of another kit recording
  spliced in, a kit event added, or the region resynthesised by a vocoder).

The kit's recordings are adaptations of CC BY-SA 3.0 and CC BY 3.0 works, so the corpus as a whole is an
adaptation shared under **CC BY-SA 3.0** (https://creativecommons.org/licenses/by-sa/3.0/). When you share the
corpus, or anything made from it, keep the attribution below, say that the sounds were modified, and share the
result under the same licence.

## Attribution text to reproduce

{attribution.strip()}

## Where the kit's recordings come from

{provenance.strip()}
"""


def write_demo_licenses(out_dir: str | Path, kit_dir: str | Path) -> Path:
    """Write the corpus's ``LICENSES.md`` (see :func:`demo_corpus_licenses`) atomically."""
    path = Path(out_dir) / "LICENSES.md"
    atomic_write_text(path, demo_corpus_licenses(kit_dir))
    return path


def apply_history(mix: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``mix`` after a drawn recording history and level (see the module docstring), and what was drawn."""
    history = draw_history(rng, DEMO_RATE)
    out = apply_conditions(mix, DEMO_RATE, history, rng)
    draw = rng.random()
    if draw < P_SILENT:
        return np.zeros_like(out), {"history": history, "level": "silent"}
    peak_db = float(rng.uniform(-60, -50) if draw < P_SILENT + P_NEAR_SILENT else rng.uniform(-30, -1))
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out = out * np.float32(10 ** (peak_db / 20) / peak)
    return quantize_pcm16(out), {"history": history, "peak_dbfs": round(peak_db, 2)}


def compose_demo_sources(
    out_dir: str | Path, num_sources: int, seed: int, kit_dir: str | Path | None = None, histories: bool = True
) -> tuple[Path, Path]:
    """Write ``num_sources`` composed clips, a source manifest and phrase-level grounding.

    ``histories``: each clip goes through a drawn recording history and level (module docstring), recorded in
    its ``extra``; False keeps the kit's clean, full-band mixes.

    Returns (source manifest path, grounding JSON path). Audio goes to ``out_dir/audio``, with a
    ``LICENSES.md`` beside it (the clips are CC BY-SA 3.0 adaptations).
    """
    out_dir, kit_dir = Path(out_dir), Path(kit_dir) if kit_dir else default_kit_dir()
    kit = read_kit(kit_dir)
    audio = {s.file: read_audio(kit_dir / s.file, DEMO_RATE)[0] for s in kit}
    records, grounding = [], {}
    for i in range(num_sources):
        clip_id = f"demo{seed:03d}_{i:05d}"
        mix, caption, events, bg = compose_clip(i, kit, audio, seed)
        processing: dict = {}
        if histories:
            mix, processing = apply_history(mix, np.random.default_rng([seed, i, 1]))
        path = write_audio(out_dir / "audio" / f"{clip_id}.flac", mix, DEMO_RATE)
        records.append(
            ClipRecord(
                id=clip_id,
                label=REAL,
                audio_path=str(path.relative_to(out_dir)),
                caption=caption,
                sample_rate=DEMO_RATE,
                num_samples=len(mix),
                duration=len(mix) / DEMO_RATE,
                sha256=sha256_file(path),
                seed=seed,
                extra={"background": bg, "events": [e.__dict__ for e in events], **processing},
            )
        )
        grounding[clip_id] = [{"phrase": e.phrase, "segments": [[e.onset, e.offset]]} for e in events]
    manifest = write_manifest(out_dir / "sources.jsonl", records)
    grounding_path = out_dir / "grounding.json"
    atomic_write_text(grounding_path, json.dumps(grounding, indent=1, sort_keys=True))
    write_demo_licenses(out_dir, kit_dir)
    return manifest, grounding_path


__all__ = ["CLIP_SECONDS", "DEMO_RATE", "DEMO_SOURCE_ID", "FAKESOUND_GRID_S", "apply_history", "compose_clip",
           "compose_demo_sources", "demo_corpus_licenses", "read_kit", "write_demo_licenses"]
