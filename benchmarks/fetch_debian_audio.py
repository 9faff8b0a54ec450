"""Fetch openly licensed real recordings from Debian packages: training-kit material and a wild evaluation set.

The list (``data/debian_audio/sources.toml``) names each package, its version and the sha256 of its ``.deb``, what
to take from it and for which use. This script downloads each ``.deb`` with ``apt-get download`` (no root needed),
refuses a file whose sha256 differs, extracts it with ``dpkg-deb -x``, reads the licence of every selected file
from the package's own ``debian/copyright`` (``usr/share/doc/<pkg>/copyright``) and keeps only CC0, CC BY,
CC BY-SA, public-domain and permissive ones, decodes each with the project's audio I/O, and writes:

* ``OUT/bundled_kit/`` (``--use bundled``) — the files of the packages marked ``bundled``, which are in the bundled
  kit (``pipeline/demo_kit``, section 5 of its LICENSES.md): rebuilt byte for byte, to check their provenance;
* ``OUT/kit/`` — an **extra training kit** (packages marked ``kit``; none at present) in the demo kit's format
  (``manifest.csv``, ``LICENSES.md``, mono
  16-bit FLAC at each recording's own rate): ``fakesound demo --kit OUT/kit`` composes from it alone;
* ``OUT/kit_with_bundled/`` — the bundled kit and the extra kit in one folder (links to the files), for
  ``fakesound demo --kit OUT/kit_with_bundled``;
* ``OUT/wild/`` — the **wild evaluation set**: real clips of at most ``clip_seconds`` cut from recordings of
  packages used by neither kit, at their native rates (``audio/clean``), web-like variants of each (``audio/<variant>``:
  peak-normalised to -1 dBFS, loudness-normalised to -14 dBFS, hard-clipped by +6 dB, MP3 at ~57 kbps and at 16 kbps,
  band-limited as 16 kHz material), a
  ``manifest.jsonl`` of them (label 0, ``extra`` = content kind, variant, package, source file), a
  ``captions.csv`` in the AudioCaps layout for ``fakesound import-sources`` (so fakes are made from the clean clips
  the way a user would) and ``LICENSES.md``.

Every package is used for one purpose only, so no recording family is in both the kits and the wild set; the
bundled kit's packages must not appear in the list (checked). Same list and .debs -> same bytes.

    PYTHONPATH=. python benchmarks/fetch_debian_audio.py --out out/debian_audio   # ~0.9 GB of .debs, kept in OUT/debs
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_write_text
from pipeline.audio_io import read_audio, read_audio_bytes, write_audio
from pipeline.compose import default_kit_dir, read_kit
from pipeline.conditions import apply_conditions
from pipeline.errors import RejectedInput
from pipeline.hashing import sha256_file
from pipeline.manifest import REAL, ClipRecord, write_manifest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LIST = ROOT / "data" / "debian_audio" / "sources.toml"
#: Packages the bundled kit (pipeline/demo_kit) was made from: never fetched here.
BUNDLED_PACKAGES = ("0ad-data", "minetest-data", "asterisk-core-sounds-en-wav")
USES = ("bundled", "kit", "wild")
#: Uses fetched unless --use says otherwise ("bundled" packages are already in pipeline/demo_kit).
DEFAULT_USES = ("kit", "wild")
KINDS = {"bundled": ("background", "event"), "kit": ("background", "event"), "wild": ("clip",)}
#: debian/copyright licence names (lower case, version dropped) allowed for recordings we redistribute.
ALLOWED_LICENCES = ("cc0", "cc-by", "cc-by-sa", "public-domain", "pd", "expat", "mit", "bsd-2-clause",
                    "bsd-3-clause", "zlib", "isc")
#: Web-like variants of each wild clip: the conditions (pipeline/conditions.py) applied to the clean clip.
WILD_VARIANTS: dict[str, tuple[str, ...]] = {
    "clean": (),
    "peak-1dB": ("clip:0", "gain:-1"),  # peak-normalised to full scale (no drive), then 1 dB down
    "loudness-14": ("loudness:-14",),  # a web platform's loudness normalisation, overflow clipped
    "clipped+6dB": ("clip:6",),  # peak-normalised, driven 6 dB into a hard clip
    "mp3-57k": ("mp3:0.9",),
    "mp3-16k": ("mp3:0.95@16000",),  # a low-rate MP3 (MPEG-2 layer III at 16 kHz): voice memos, old uploads
    "band16k": ("lowpass:8000",),  # what 16 kHz-sampled material holds
}
BACKGROUND_S, EVENT_MAX_S = 10.0, 4.0
#: Shortest recording a selection takes, per kind (a background needs its 10 s excerpt).
MIN_SECONDS = {"background": BACKGROUND_S, "event": 0.3, "clip": 3.0}
PACKAGE_KEYS = {"name", "version", "sha256", "use", "credit", "attribution", "source_map", "select"}
SELECT_KEYS = {"glob", "kind", "content", "label", "phrase", "phrases", "caption", "min_seconds", "max_files",
               "max_clips", "clip_seconds"}


@dataclass(frozen=True)
class Selection:
    glob: str
    kind: str
    content: str
    label: str = ""
    phrase: str = ""
    #: one caption phrase per recording taken, in order (instead of ``phrase``): the composer's captions must name
    #: each event distinctly, or the phrases of two events of one clip cannot be told apart
    phrases: tuple[str, ...] = ()
    caption: str = ""
    min_seconds: float | None = None  # unset: MIN_SECONDS of the kind
    max_files: int | None = None
    max_clips: int = 1
    clip_seconds: float = 10.0


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str
    use: str
    credit: str
    attribution: str
    source_map: tuple[tuple[str, str], ...] = ()
    select: tuple[Selection, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------------- the list
def _check_keys(where: str, given: dict, allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def parse_sources(text: str, where: str = "sources.toml") -> list[Package]:
    """The packages of a sources list; unknown keys, kinds or uses, a bundled-kit package, a package named twice
    and a selection without its caption text raise ``ValueError`` naming the entry."""
    data = tomllib.loads(text)
    _check_keys(where, data, {"package"})
    packages, seen = [], set()
    for i, raw in enumerate(data.get("package", [])):
        name = raw.get("name", f"#{i}")
        here = f"{where}: package {name}"
        _check_keys(here, raw, PACKAGE_KEYS)
        missing = sorted({"name", "version", "sha256", "use", "credit", "attribution"} - set(raw))
        if missing:
            raise ValueError(f"{here}: missing {', '.join(missing)}")
        if raw["use"] not in USES:
            raise ValueError(f"{here}: use must be one of {', '.join(USES)}, not {raw['use']!r}")
        if name in BUNDLED_PACKAGES:
            raise ValueError(f"{here}: the bundled kit is made from it; a second use would mix recording families")
        if name in seen:
            raise ValueError(f"{here}: listed twice (a package has one use)")
        if not re.fullmatch(r"[0-9a-f]{64}", raw["sha256"]):
            raise ValueError(f"{here}: sha256 must be 64 lower-case hex digits")
        seen.add(name)
        selections = []
        for j, sel in enumerate(raw.get("select", [])):
            _check_keys(f"{here} select #{j}", sel, SELECT_KEYS)
            s = Selection(**{**sel, "phrases": tuple(sel.get("phrases", ()))})
            if s.kind not in KINDS[raw["use"]]:
                raise ValueError(f"{here} select #{j}: kind {s.kind!r} is not one of {', '.join(KINDS[raw['use']])}")
            text_needed = ("caption",) if raw["use"] == "wild" else ("label", "phrase" if not s.phrases else "phrases")
            if not all(getattr(s, t) for t in text_needed):
                raise ValueError(f"{here} select #{j}: needs {' and '.join(text_needed)}")
            if s.phrases and (s.max_files is None or len(set(s.phrases)) < s.max_files):
                raise ValueError(f"{here} select #{j}: phrases needs max_files and at least that many distinct phrases")
            selections.append(s)
        packages.append(Package(name, raw["version"], raw["sha256"], raw["use"], raw["credit"], raw["attribution"],
                                tuple(tuple(m) for m in raw.get("source_map", [])), tuple(selections)))
    return packages


# ----------------------------------------------------------------------------------------------- licences
@dataclass(frozen=True)
class Stanza:
    """One ``Files:`` paragraph of a machine-readable ``debian/copyright``."""

    patterns: tuple[str, ...]
    licence: str  # the License: field's first line (the licence name or expression)
    holders: str  # the Copyright: field, lines joined with "; "


def parse_copyright(text: str) -> list[Stanza]:
    """The ``Files:`` stanzas of a machine-readable ``debian/copyright``, in file order (continuation lines of
    ``Files:`` and ``Copyright:`` are read; a ``License:`` field's text after its first line is not its name)."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, list[str]] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                if line.strip() != ".":
                    fields[key].append(line.strip())
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = [value.strip()] if value.strip() else []
        if fields.get("files") and fields.get("license"):
            stanzas.append(Stanza(tuple(" ".join(fields["files"]).split()), fields["license"][0],
                                  "; ".join(fields.get("copyright", []))))
    return stanzas


def stanza_of(source_path: str, stanzas: list[Stanza]) -> Stanza | None:
    """The stanza covering ``source_path``: the last one whose Files pattern matches it wins (DEP-5)."""
    found = None
    for stanza in stanzas:
        if any(fnmatch.fnmatchcase(source_path, p.removeprefix("./")) for p in stanza.patterns):
            found = stanza
    return found


def licence_allowed(licence: str | None) -> bool:
    """Whether a copyright ``License:`` value lets us redistribute adapted recordings with attribution: one of
    ``ALLOWED_LICENCES`` (any version); ``A or B`` needs one allowed choice, ``A and B`` needs both. GPL-only,
    GFDL, non-free and unknown licences are refused."""
    if not licence:
        return False
    text = licence.lower().strip()
    if " or " in text:
        return any(licence_allowed(part) for part in re.split(r"\s+or\s+", text))
    if " and " in text:
        return all(licence_allowed(part) for part in re.split(r"\s+and\s+", text))
    base = re.sub(r"[-_ ](\d+(\.\d+)*)\+?$", "", text.rstrip(","))  # "cc-by-sa-3.0" -> "cc-by-sa"; "cc0" stays
    return base in ALLOWED_LICENCES


def source_path(installed: str, package: Package) -> str:
    """``installed`` as debian/copyright's patterns name it (first matching ``source_map`` prefix replaced)."""
    for prefix, replacement in package.source_map:
        if installed.startswith(prefix):
            return replacement + installed[len(prefix):]
    return installed


# ------------------------------------------------------------------------------------------ download / extract
def download(package: Package, debs: Path) -> Path:
    """The package's ``.deb`` in ``debs`` (downloaded with ``apt-get download`` when absent), sha256-verified."""
    debs.mkdir(parents=True, exist_ok=True)
    deb = debs / f"{package.name}_{package.version.split(':')[-1]}_all.deb"
    if not deb.exists():
        done = subprocess.run(["apt-get", "download", f"{package.name}={package.version}"], cwd=debs,
                              capture_output=True, text=True)
        if done.returncode != 0 or not deb.exists():
            raise RuntimeError(f"{package.name}={package.version}: apt-get download failed "
                               f"({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no .deb'}); "
                               "run 'apt-get update' or check the version is still in the archive")
    got = sha256_file(deb)
    if got != package.sha256:
        raise RuntimeError(f"{deb}: sha256 {got} differs from the list's {package.sha256}; refusing it")
    return deb


def extract(deb: Path, dest: Path) -> Path:
    """``dpkg-deb -x`` into ``dest`` (reused when a finished extraction is there)."""
    marker = dest / ".extracted"
    if not marker.exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
        marker.write_text(deb.name)
    return dest


def read_catalogue(path: Path) -> list[tuple[str, bytes]]:
    """Entries of an OpenTTD sound catalogue (``.cat``): a table of (offset, size) pairs (top bit of each offset
    set in the current format), each entry a length-prefixed name then a RIFF/WAVE file. ``(name, wav bytes)``;
    entries without audio get empty bytes."""
    data = path.read_bytes()
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    out = []
    for i in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * i)
        offset &= 0x7FFFFFFF
        name_len = data[offset]
        name = data[offset + 1 : offset + 1 + name_len].rstrip(b"\0").decode("utf-8", "replace")
        riff = data.find(b"RIFF", offset, offset + size)
        out.append((name, data[riff : offset + size] if riff >= 0 else b""))
    return out


@dataclass
class Recording:
    """One selected recording: where it came from, its licence and its decoded audio (mono, native rate)."""

    package: Package
    selection: Selection
    installed: str  # path inside the package ("x.cat!N" for a catalogue entry)
    licence: str
    holders: str  # the Copyright: field of its debian/copyright stanza
    note: str  # e.g. a catalogue entry's own credit line
    audio: np.ndarray
    rate: int


def _candidates(root: Path, pattern: str) -> list[tuple[str, bytes | Path, str]]:
    """``(installed path, bytes or file, note)`` matching ``pattern`` under an extraction ``root``."""
    if "!" in pattern:
        cat_path, _, member = pattern.partition("!")
        cat = root / cat_path
        if not cat.is_file():
            return []
        return [(f"{cat_path}!{i}", wav, name) for i, (name, wav) in enumerate(read_catalogue(cat))
                if fnmatch.fnmatchcase(str(i), member)]
    found = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            if fnmatch.fnmatchcase(rel, pattern):
                found.append((rel, Path(dirpath) / f, ""))
    return sorted(found)


def _every_kth(items: list, limit: int | None) -> list:
    if limit is None or len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(k * step)] for k in range(limit)]


def select_recordings(package: Package, root: Path, rejected: list[str]) -> list[Recording]:
    """Every selected, licence-checked, decodable recording of an extracted package; each file is taken once
    (identical audio under several paths too). Refusals go to ``rejected`` as one line each."""
    copyright_file = root / "usr" / "share" / "doc" / package.name / "copyright"
    if not copyright_file.is_file():
        raise RuntimeError(f"{package.name}: no {copyright_file.relative_to(root)} in the package")
    stanzas = parse_copyright(copyright_file.read_text(encoding="utf-8", errors="replace"))
    out: list[Recording] = []
    seen_audio: set[str] = set()
    for sel in package.select:
        usable: list[tuple[str, Recording]] = []
        for installed, content, note in _candidates(root, sel.glob):
            where = f"{package.name}:{installed}"
            stanza = stanza_of(source_path(installed, package), stanzas)
            licence, holders = (stanza.licence, stanza.holders) if stanza else (None, "")
            if not licence_allowed(licence):
                rejected.append(f"{where}: licence {licence or 'not found in debian/copyright'} is not allowed")
                continue
            try:
                if isinstance(content, Path):
                    audio, rate = read_audio(content)
                else:
                    audio, rate = read_audio_bytes(content, where)
            except RejectedInput as err:
                rejected.append(f"{where}: {err.reason}")
                continue
            if len(audio) < (sel.min_seconds or MIN_SECONDS[sel.kind]) * rate:
                continue  # too short for this selection: not an error
            digest = hashlib.sha256(audio.tobytes()).hexdigest()
            if digest not in {d for d, _ in usable}:  # the same recording shipped under several paths: once
                usable.append((digest, Recording(package, sel, installed, licence, holders, note, audio, rate)))
        for digest, rec in _every_kth(usable, sel.max_files):
            if digest not in seen_audio:  # taken by an earlier selection of this package
                seen_audio.add(digest)
                out.append(rec)
    return out


# ------------------------------------------------------------------------------------------------ shaping
def _fade(audio: np.ndarray, rate: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64).copy()
    n_in, n_out = int(fade_in_s * rate), int(fade_out_s * rate)
    if n_in:
        audio[:n_in] *= np.linspace(0.0, 1.0, n_in)
    if n_out:
        audio[-n_out:] *= np.linspace(1.0, 0.0, n_out)
    return audio


def kit_background(audio: np.ndarray, rate: int) -> tuple[np.ndarray, str]:
    """A 10 s excerpt from the middle, 20 ms fades, RMS to -20 dBFS unless that would put the peak above -1 dBFS
    (then the peak sets the gain)."""
    n = int(BACKGROUND_S * rate)
    start = (len(audio) - n) // 2
    x = _fade(audio[start : start + n], rate, 0.02, 0.02)
    rms = float(np.sqrt(np.mean(x**2)))
    gain = min(10 ** (-20 / 20) / rms, 10 ** (-1 / 20) / float(np.max(np.abs(x))))
    note = (f"10.0 s excerpt from {start / rate:.1f} s of a {len(audio) / rate:.1f} s {rate} Hz source; 20 ms fades; "
            f"RMS {20 * np.log10(rms * gain):.1f} dBFS, peak {20 * np.log10(np.max(np.abs(x)) * gain):.1f} dBFS")
    return (x * gain).astype(np.float32), note


def kit_event(audio: np.ndarray, rate: int) -> tuple[np.ndarray, str]:
    """Silence trimmed (5 ms frames more than 45 dB below the loudest; 20 ms kept before, 50 ms after), at most
    4 s, 2 ms / 10 ms fades, peak -3 dBFS."""
    hop = max(1, int(0.005 * rate))
    frames = np.array([np.max(np.abs(audio[i : i + hop])) for i in range(0, len(audio), hop)])
    loud = np.flatnonzero(frames > frames.max() * 10 ** (-45 / 20))
    start = max(0, loud[0] * hop - int(0.02 * rate))
    stop = min(len(audio), (loud[-1] + 1) * hop + int(0.05 * rate), start + int(EVENT_MAX_S * rate))
    x = _fade(audio[start:stop], rate, 0.002, 0.01)
    x *= 10 ** (-3 / 20) / float(np.max(np.abs(x)))
    note = f"{start / rate:.2f}-{stop / rate:.2f} s of a {len(audio) / rate:.2f} s {rate} Hz source; peak -3 dBFS"
    return x.astype(np.float32), note


def clip_windows(n: int, rate: int, clip_seconds: float, max_clips: int) -> list[tuple[int, int]]:
    """Up to ``max_clips`` non-overlapping windows of ``clip_seconds`` spread evenly over ``n`` samples (the whole
    recording when it is shorter)."""
    length = int(clip_seconds * rate)
    if n <= length:
        return [(0, n)]
    k = min(max_clips, n // length)
    gap = (n - k * length) / (k + 1)
    return [(int(gap * (i + 1) + length * i), int(gap * (i + 1) + length * i) + length) for i in range(k)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# -------------------------------------------------------------------------------------------------- writing
KIT_COLUMNS = ("file", "kind", "label", "caption_phrase", "duration_s", "sample_rate", "licence", "source_package",
               "source_path", "credit", "notes")
_ATTRIBUTION = "## Attribution text to reproduce"


def _licences_md(title: str, intro: str, packages: list[Package], rows: list[dict], modified: str) -> str:
    table = ["| file | package | path in the package | licence | copyright (debian/copyright) |",
             "|---|---|---|---|---|"]
    table += [f"| {r['file']} | {r['source_package']} | {r['source_path']} | {r['licence']} | {r['holders']} |"
              for r in rows]
    attribution = "\n".join(f"> {p.attribution}" for p in packages)
    return (f"# Licences and attribution — {title}\n\n{intro}\n\n{_ATTRIBUTION}\n\n{attribution}\n"
            f"> All sounds were modified ({modified}).\n\n"
            "## Where the recordings come from\n\n"
            + "\n".join(f"* `{p.name} {p.version}` (sha256 of the .deb `{p.sha256}`): {p.credit}" for p in packages)
            + "\n\nEach file's licence is the `License:` of the stanza of the package's `debian/copyright`"
            " (`usr/share/doc/<package>/copyright`) that covers it; only CC0, CC BY, CC BY-SA, public-domain and"
            " permissive licences are taken.\n\n" + "\n".join(table) + "\n")


def write_kit(recordings: list[Recording], out: Path) -> list[dict]:
    """The extra training kit in ``out`` (demo-kit layout); returns its manifest rows."""
    out.mkdir(parents=True, exist_ok=True)
    rows, names, taken = [], set(), {}
    for rec in recordings:
        sel = rec.selection
        taken[id(sel)] = taken.get(id(sel), -1) + 1
        phrase = sel.phrases[taken[id(sel)]] if sel.phrases else sel.phrase
        audio, note = (kit_background if sel.kind == "background" else kit_event)(rec.audio, rec.rate)
        stem = f"{'bg' if sel.kind == 'background' else 'ev'}_x_{_slug(sel.label)}"
        k = 1
        while f"{stem}_{k}" in names:
            k += 1
        names.add(f"{stem}_{k}")
        file = f"{stem}_{k}.flac"
        write_audio(out / file, audio, rec.rate)
        rows.append({"file": file, "content": sel.content, "kind": sel.kind, "label": sel.label,
                     "caption_phrase": phrase,
                     "duration_s": f"{len(audio) / rec.rate:.3f}", "sample_rate": rec.rate, "licence": rec.licence,
                     "source_package": f"{rec.package.name} {rec.package.version}", "source_path": rec.installed,
                     "credit": " — ".join(filter(None, [rec.holders or rec.package.credit, rec.note])),
                     "holders": rec.holders,
                     "notes": f"content {sel.content}; mono; {note}"})
    _write_kit_manifest(out / "manifest.csv", rows)
    packages = list({r.package.name: r.package for r in recordings}.values())
    intro = ("Extra training kit for `fakesound demo --kit`: adaptations (excerpts, mono, level-normalised) of"
             " recordings from the Debian packages below, fetched by `benchmarks/fetch_debian_audio.py`. Treat the"
             " kit, and anything made from it, as **CC BY-SA** (the strongest licence in it): keep the attribution"
             " below and share alike.")
    atomic_write_text(out / "LICENSES.md", _licences_md("extra training kit", intro, packages, rows,
                                                        "cut, mixed to mono, level-normalised"))
    return rows


def _write_kit_manifest(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, KIT_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def write_combined_kit(extra: Path, out: Path, bundled: Path | None = None) -> Path:
    """The bundled kit and the extra kit as one kit folder (symlinks to both kits' files)."""
    bundled = bundled or default_kit_dir()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rows = []
    for kit in (bundled, extra):
        with open(kit / "manifest.csv", newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if (out / r["file"]).exists():
                    raise ValueError(f"{kit / r['file']}: a file of that name is already in the combined kit")
                os.symlink((kit / r["file"]).resolve(), out / r["file"])
                rows.append(r)
    _write_kit_manifest(out / "manifest.csv", rows)
    parts = [(k / "LICENSES.md").read_text(encoding="utf-8") for k in (bundled, extra)]
    attributions = [p.split(_ATTRIBUTION, 1)[1].split("\n## ", 1)[0].strip() for p in parts]
    provenance = "\n\n".join(re.sub(r"^(#{1,5}) ", r"#\1 ", p, flags=re.M) for p in parts)
    atomic_write_text(out / "LICENSES.md",
                      "# Licences and attribution — bundled demo kit + extra training kit\n\n"
                      "Both kits' files, unchanged; the whole is CC BY-SA 3.0 (see each kit's section).\n\n"
                      f"{_ATTRIBUTION}\n\n" + "\n".join(attributions) + "\n\n## Both kits\n\n" + provenance)
    read_kit(out)  # the composer can read it
    return out


def write_wild(recordings: list[Recording], out: Path, variants: dict[str, tuple[str, ...]] = WILD_VARIANTS) -> list:
    """The wild evaluation set in ``out``: clean clips + variants, ``manifest.jsonl``, ``captions.csv``,
    ``LICENSES.md``. Returns the clean clips' records."""
    records, lic_rows, captions, bases = [], [], [], set()
    for rec in recordings:
        sel = rec.selection
        where = Path(rec.installed.replace("!", "_"))
        base = f"wild_{_slug(rec.package.name.split('-')[0])}_{_slug('_'.join(where.parent.parts[-2:]))}_{where.stem}"
        base = _slug(base)
        while base in bases:
            base += "_x"
        bases.add(base)
        for k, (a, b) in enumerate(clip_windows(len(rec.audio), rec.rate, sel.clip_seconds, sel.max_clips)):
            clip_id = f"{base}_{k}"
            clean = rec.audio[a:b]
            if not np.any(clean):
                continue  # digital silence is not a recording
            lic_rows.append({"file": f"audio/*/{clip_id}.flac", "source_package": rec.package.name,
                             "source_path": rec.installed, "licence": rec.licence, "holders": rec.holders})
            captions.append((clip_id, sel.caption))
            for variant, conditions in variants.items():
                audio = apply_conditions(clean, rec.rate, list(conditions), np.random.default_rng(0))
                path = write_audio(out / "audio" / variant / f"{clip_id}.flac", audio, rec.rate)
                records.append(ClipRecord(
                    id=f"{clip_id}@{variant}", label=REAL, audio_path=str(path.relative_to(out)), split="test",
                    source_id=clip_id, caption=sel.caption, sample_rate=rec.rate, num_samples=len(audio),
                    duration=len(audio) / rec.rate, sha256=sha256_file(path),
                    extra={"content": sel.content, "variant": variant, "conditions": list(conditions),
                           "package": f"{rec.package.name} {rec.package.version}", "source_path": rec.installed,
                           "start_s": round(a / rec.rate, 3), "licence": rec.licence}))
    write_manifest(out / "manifest.jsonl", records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["audiocap_id", "youtube_id", "start_time", "caption"])
    writer.writerows((i, clip_id, 0, caption) for i, (clip_id, caption) in enumerate(captions))
    atomic_write_text(out / "captions.csv", buf.getvalue())
    packages = list({r.package.name: r.package for r in recordings}.values())
    intro = ("Wild evaluation set: clips of recordings from the Debian packages below (mono, native rates), and"
             " web-like variants of each (" + ", ".join(f"`{v}` = {' then '.join(c) or 'as shipped'}"
                                                        for v, c in variants.items()) + "). Fetched by"
             " `benchmarks/fetch_debian_audio.py`; evaluation material, not for training. Treat it as CC BY-SA.")
    atomic_write_text(out / "LICENSES.md", _licences_md(
        "wild evaluation set", intro, packages, lic_rows,
        "cut, mixed to mono; the variants also level-changed, clipped, MP3-encoded or band-limited"))
    return [r for r in records if r.extra["variant"] == "clean"]


def fetch(packages: list[Package], out: Path, debs: Path | None = None) -> dict:
    """Download, verify, extract, select and write everything; returns a summary (also ``OUT/summary.json``)."""
    debs = debs or out / "debs"
    rejected: list[str] = []
    chosen: dict[str, list[Recording]] = {u: [] for u in USES}
    for package in packages:
        deb = download(package, debs)
        root = extract(deb, out / "extracted" / package.name)
        recordings = select_recordings(package, root, rejected)
        print(f"{package.name} {package.version} ({package.use}): {len(recordings)} recordings", flush=True)
        chosen[package.use] += recordings
    summary: dict = {"rejected": rejected}
    if chosen["bundled"]:  # the bundled kit's section-5 files, rebuilt (compare with pipeline/demo_kit)
        rows = write_kit(chosen["bundled"], out / "bundled_kit")
        summary["bundled_kit"] = {"files": len(rows), "by_content": _count(r["content"] for r in rows)}
    if chosen["kit"]:
        rows = write_kit(chosen["kit"], out / "kit")
        write_combined_kit(out / "kit", out / "kit_with_bundled")
        summary["kit"] = {"files": len(rows), "by_content": _count(r["content"] for r in rows)}
    if chosen["wild"]:
        clean = write_wild(chosen["wild"], out / "wild")
        summary["wild"] = {"clips": len(clean), "variants": list(WILD_VARIANTS),
                           "by_content": _count(r.extra["content"] for r in clean),
                           "seconds": round(sum(r.duration for r in clean), 1)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    return summary


def _count(items) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="folder to write (kit/, kit_with_bundled/, wild/)")
    ap.add_argument("--list", type=Path, default=DEFAULT_LIST, help="sources list (TOML)")
    ap.add_argument("--debs", type=Path, default=None, help="where .debs are kept (default OUT/debs)")
    ap.add_argument("--use", choices=USES, nargs="*", default=list(DEFAULT_USES),
                    help="uses to fetch (default: kit and wild; 'bundled' rebuilds the bundled kit's fetched files)")
    args = ap.parse_args(argv)
    packages = [p for p in parse_sources(args.list.read_text(encoding="utf-8"), str(args.list)) if p.use in args.use]
    summary = fetch(packages, args.out, args.debs)
    for line in summary["rejected"]:
        print(f"rejected: {line}", file=sys.stderr)
    print(json.dumps({k: v for k, v in summary.items() if k != "rejected"}, indent=1))
    print(f"{len(summary['rejected'])} files refused (listed above); written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
