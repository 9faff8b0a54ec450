"""The Debian audio fetch step, offline: list parsing, the licence filter, catalogue reading and the folders it
writes, from a tiny .deb built here with ``dpkg-deb -b`` (no network, no apt)."""

from __future__ import annotations

import csv
import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from benchmarks import fetch_debian_audio as F
from pipeline.compose import compose_demo_sources, demo_corpus_licenses, read_kit
from pipeline.manifest import read_manifest

RATE = 22050
COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tiny

Files: *
Copyright: 2020 Someone
License: GPL-2+

Files: data/sfx/*
Copyright: 2020 A Recordist
License: CC0-1.0

Files: data/sfx/bad.wav
Copyright: 2020 Another
License: GPL-3

Files: data/music/*.wav
 data/extra/song.wav
Copyright: 2021 A Band
 Another Player
License: CC-BY-SA-3.0 or GPL-3

Files: data/text/*
Copyright: 2022 Writer
License: CC-BY-3.0
 You may use this under CC-BY-3.0 or GPL-3, whichever
 .
 you prefer.
"""

LIST = """
[[package]]
name = "tiny-sounds"
version = "1.0-1"
sha256 = "{sha}"
use = "kit"
credit = "A Recordist"
attribution = "Sounds by A Recordist, CC0."
source_map = [["usr/share/games/tiny/", ""]]

[[package.select]]
glob = "usr/share/games/tiny/data/sfx/long*.wav"
kind = "background"
content = "machine"
label = "hum"
phrase = "a machine hums"

[[package.select]]
glob = "usr/share/games/tiny/data/sfx/*.wav"
kind = "event"
content = "impact"
label = "knock"
phrase = "someone knocks"

[[package]]
name = "tiny-music"
version = "2.0-1"
sha256 = "{sha2}"
use = "wild"
credit = "A Band"
attribution = "Music by A Band, CC BY-SA 3.0."
source_map = [["usr/share/games/tiny/", ""]]

[[package.select]]
glob = "usr/share/games/tiny/data/music/*.wav"
kind = "clip"
content = "music"
caption = "music plays"
max_clips = 2
"""


def _tone(seconds: float, freq: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 0.01
    return (0.3 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def _build_deb(tmp: Path, name: str, version: str, files: dict[str, np.ndarray], copyright_text: str) -> Path:
    root = tmp / f"build_{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
                                             "Maintainer: Test <test@example.org>\nDescription: test package\n")
    doc = root / "usr" / "share" / "doc" / name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text)
    for rel, audio in files.items():
        path = root / "usr" / "share" / "games" / "tiny" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, RATE, subtype="PCM_16")
    debs = tmp / "debs"
    debs.mkdir(exist_ok=True)
    deb = debs / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(root), str(deb)], check=True, capture_output=True)
    return deb


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_committed_list_parses_with_one_use_per_package_and_no_bundled_package():
    packages = F.parse_sources(F.DEFAULT_LIST.read_text(encoding="utf-8"))
    names = [p.name for p in packages]
    assert len(names) == len(set(names)) and not set(names) & set(F.BUNDLED_PACKAGES)
    assert {p.use for p in packages} == {"bundled", "wild"}
    assert all(p.select for p in packages)


def test_the_bundled_kit_holds_the_files_of_the_packages_marked_bundled():
    bundled = {p.name for p in F.parse_sources(F.DEFAULT_LIST.read_text(encoding="utf-8")) if p.use == "bundled"}
    with open(F.default_kit_dir() / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source_package"].split()[0] in bundled]
    assert len(rows) == 58 and {r["source_package"].split()[0] for r in rows} == bundled
    assert all((F.default_kit_dir() / r["file"]).is_file() and F.licence_allowed(r["licence"]) for r in rows)
    licences = (F.default_kit_dir() / "LICENSES.md").read_text(encoding="utf-8")
    assert all(f"| {r['file']} |" in licences for r in rows)  # each file's provenance row


@pytest.mark.parametrize(("change", "message"), [
    (('use = "kit"', 'use = "train"'), "use must be one of"),
    (('name = "tiny-sounds"', 'name = "0ad-data"'), "bundled kit"),
    (('name = "tiny-music"', 'name = "tiny-sounds"'), "listed twice"),
    (('kind = "clip"', 'kind = "event"'), "kind 'event' is not one of clip"),
    (('caption = "music plays"', ""), "needs caption"),
    (('credit = "A Band"', 'credit = "A Band"\nlicense = "x"'), "unknown key(s) license"),
    (('sha256 = "{sha}"', 'sha256 = "abc"'), "64 lower-case hex"),
    (('phrase = "someone knocks"', 'phrases = ["a knock", "a knock"]\nmax_files = 2'), "at least that many distinct"),
])
def test_bad_lists_are_refused_naming_the_entry(change, message):
    text = LIST.replace(*change).format(sha="a" * 64, sha2="b" * 64)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        F.parse_sources(text)


def test_licences_come_from_the_last_matching_stanza_and_only_open_ones_pass():
    stanzas = F.parse_copyright(COPYRIGHT)
    assert F.stanza_of("src/main.c", stanzas).licence == "GPL-2+"
    assert F.stanza_of("data/sfx/knock.wav", stanzas).licence == "CC0-1.0"
    assert F.stanza_of("data/sfx/bad.wav", stanzas).licence == "GPL-3"  # the later, narrower stanza wins
    song = F.stanza_of("data/extra/song.wav", stanzas)  # named on a continuation line of Files
    assert song.licence == "CC-BY-SA-3.0 or GPL-3" and song.holders == "2021 A Band; Another Player"
    assert F.stanza_of("data/text/notes.txt", stanzas).licence == "CC-BY-3.0"  # not its text's "or GPL" below
    assert F.stanza_of("nowhere", []) is None
    for ok in ("CC0-1.0", "CC0", "CC-BY-3.0", "CC-BY-SA-4.0", "public-domain", "PD", "Expat", "CC-BY-SA-3.0 or GPL-3",
               "BSD-3-clause", "zlib or GPL-2 or CC-BY-3.0"):
        assert F.licence_allowed(ok), ok
    for refused in ("GPL-2+", "GPL-3", "GFDL-1.3", "GPL", "GPL-2+ and CC-BY-3.0", "non-free", "", None, "CC-BY-NC-3.0"):
        assert not F.licence_allowed(refused), refused


def test_opensfx_catalogue_entries_are_read(tmp_path):
    wavs = []
    for seconds in (0.2, 0.5):
        buf = tmp_path / "x.wav"
        sf.write(buf, _tone(seconds, 440), RATE, subtype="PCM_16")
        wavs.append(buf.read_bytes())
    entries = [(b"\x05one\x00\x00" + wavs[0]), (b"\x04two\x00" + wavs[1]), b"\x06empty\x00"]
    offset = 8 * len(entries)
    table, body = b"", b""
    for e in entries:
        table += struct.pack("<II", (offset + len(body)) | 0x80000000, len(e))
        body += e
    cat = tmp_path / "sounds.cat"
    cat.write_bytes(table + body)
    got = F.read_catalogue(cat)
    assert [n for n, _ in got] == ["one", "two", "empty"]
    assert got[1][1] == wavs[1] and got[2][1] == b""


def test_clip_windows_spread_evenly_and_keep_short_recordings_whole():
    assert F.clip_windows(5 * RATE, RATE, 10.0, 3) == [(0, 5 * RATE)]
    windows = F.clip_windows(35 * RATE, RATE, 10.0, 3)
    assert len(windows) == 3 and all(b - a == 10 * RATE for a, b in windows)
    assert all(windows[i][1] <= windows[i + 1][0] for i in range(2)) and windows[-1][1] <= 35 * RATE


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_fetch_writes_kits_and_wild_set_from_verified_debs(tmp_path):
    sfx = {"data/sfx/long_hum.wav": _tone(12.0, 120, 1), "data/sfx/knock.wav": np.concatenate(
        [np.zeros(RATE // 2, np.float32), _tone(0.6, 900, 2), np.zeros(RATE // 2, np.float32)]),
        "data/sfx/bad.wav": _tone(1.0, 300, 3)}
    deb1 = _build_deb(tmp_path, "tiny-sounds", "1.0-1", sfx, COPYRIGHT)
    deb2 = _build_deb(tmp_path, "tiny-music", "2.0-1", {"data/music/song.wav": _tone(25.0, 220, 4),
                                                        "data/music/copy.wav": _tone(25.0, 220, 4)}, COPYRIGHT)
    packages = F.parse_sources(LIST.format(sha=_sha(deb1), sha2=_sha(deb2)))
    out = tmp_path / "out"
    summary = F.fetch(packages, out, tmp_path / "debs")

    # licence filter: the GPL-3 file is refused with one line naming it; nothing of it is written
    assert summary["rejected"] == ["tiny-sounds:usr/share/games/tiny/data/sfx/bad.wav: licence GPL-3 is not allowed"]
    kit = read_kit(out / "kit")
    # each recording is used once: the hum went to the background selection, so the event selection has the knock
    assert sorted((s.kind, s.label) for s in kit) == [("background", "hum"), ("event", "knock")]
    bg = next(s for s in kit if s.kind == "background")
    audio, rate = sf.read(out / "kit" / bg.file)
    assert rate == RATE and len(audio) == 10 * RATE and abs(20 * np.log10(np.sqrt(np.mean(audio**2))) + 20) < 0.2
    knock = next(s for s in kit if s.kind == "event")
    ev, _ = sf.read(out / "kit" / knock.file)
    assert len(ev) < 0.75 * RATE and abs(20 * np.log10(np.max(np.abs(ev))) + 3) < 0.1  # trimmed, peak -3 dBFS
    with open(out / "kit" / "manifest.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["licence"] for r in rows} == {"CC0-1.0"} and all(r["source_package"] == "tiny-sounds 1.0-1" for r in rows)
    assert {r["credit"] for r in rows} == {"2020 A Recordist"}
    assert "Sounds by A Recordist, CC0." in demo_corpus_licenses(out / "kit")  # the composer's LICENSES reader

    # the bundled kit and the extra kit in one folder, which the composer uses
    both = read_kit(out / "kit_with_bundled")
    assert len(both) == len(read_kit(F.default_kit_dir())) + 2
    compose_demo_sources(tmp_path / "demo", 4, seed=3, kit_dir=out / "kit_with_bundled")
    assert "Sounds by A Recordist" in (tmp_path / "demo" / "LICENSES.md").read_text()

    # wild set: two 10 s windows of the one distinct song (its byte-identical copy is taken once), five variants
    records = read_manifest(out / "wild" / "manifest.jsonl")
    clean = [r for r in records if r.extra["variant"] == "clean"]
    assert len(clean) == 2 and len(records) == 2 * len(F.WILD_VARIANTS)
    assert all(r.sample_rate == RATE and r.label == 0 and r.extra["licence"] == "CC-BY-SA-3.0 or GPL-3" for r in clean)
    peak = next(r for r in records if r.extra["variant"] == "peak-1dB")
    x, _ = sf.read(out / "wild" / peak.audio_path)
    assert abs(20 * np.log10(np.max(np.abs(x))) + 1) < 0.01
    clipped = next(r for r in records if r.extra["variant"] == "clipped+6dB")
    y, _ = sf.read(out / "wild" / clipped.audio_path)
    assert np.mean(np.abs(y) >= 0.999) > 0.05  # flat tops
    assert next(r for r in records if r.extra["variant"] == "loudness-14").extra["conditions"] == ["loudness:-14"]
    with open(out / "wild" / "captions.csv", encoding="utf-8") as fh:
        captions = list(csv.DictReader(fh))
    assert [c["youtube_id"] for c in captions] == [r.source_id for r in clean]
    assert all((out / "wild" / "audio" / "clean" / f"{c['youtube_id']}.flac").is_file() for c in captions)
    wild_licences = (out / "wild" / "LICENSES.md").read_text()
    assert "Music by A Band" in wild_licences
    assert "| CC-BY-SA-3.0 or GPL-3 | 2021 A Band; Another Player |" in wild_licences  # per-file holders kept

    # same list and .debs -> same bytes
    again = tmp_path / "again"
    F.fetch(packages, again, tmp_path / "debs")
    assert (again / "wild" / "manifest.jsonl").read_bytes() == (out / "wild" / "manifest.jsonl").read_bytes()
    assert (again / "kit" / "manifest.csv").read_bytes() == (out / "kit" / "manifest.csv").read_bytes()


def test_a_deb_whose_sha256_differs_is_refused(tmp_path):
    debs = tmp_path / "debs"
    debs.mkdir()
    (debs / "tiny-sounds_1.0-1_all.deb").write_bytes(b"not the package")
    package = F.parse_sources(LIST.format(sha="a" * 64, sha2="b" * 64))[0]
    with pytest.raises(RuntimeError, match="differs from the list's"):
        F.download(package, debs)
