"""The bad-input matrix: every kind of bad (and odd but good) input at the decoding and import entry points.

Each case writes its input into a temporary folder beside one good clip. Decoding (``read_audio``, what
build, train, detect and benchmark read audio with) and source import (``import_sources``, behind
``fakesound import-sources``) must give the declared outcome: accepted, or one line naming the file (or
CSV line) and the reason, in the rejected list, with the good clip still imported; or, for a whole input
that cannot be used, one error line. The README's table is generated from these declarations, which the
tests check: ``FAKESOUND_UPDATE_README=1 pytest tests/pipeline/test_bad_input_matrix.py`` rewrites it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.audio_io import read_audio
from pipeline.errors import FakesoundError, RejectedInput
from pipeline.hashing import sha256_file
from pipeline.manifest import ClipRecord, dumps_record
from pipeline.sources import import_sources

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- bad-input-matrix:start -->", "<!-- bad-input-matrix:end -->"
HEADER = "audiocap_id,youtube_id,start_time,caption"
GOOD_ROW = "1,good,0,rain falls on a tin roof"
RATE = 32000
ACCEPTED = "accepted"
NA = "—"


def _noise(seconds: float = 2.0, rate: int = RATE, channels: int = 1, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng([int(seconds * 10), rate, channels])
    data = level * rng.standard_normal((round(seconds * rate), channels))
    return data[:, 0] if channels == 1 else data


@dataclass(frozen=True)
class Input:
    """What a case made: the audio folder, the captions CSV, the file decoding is tried on (if any), and the
    manifest lines of the clip for the manifest entry points (None: one line for ``file``)."""

    audio: Path
    captions: Path
    file: Path | None
    entries: tuple[str, ...] | None = None


def _setup(tmp: Path, name: str = "clip.wav", rows: tuple[str, ...] = ("2,clip,0,a dog barks twice",),
           header: str = HEADER, encoding: str = "utf-8", newline: str = "\n", audio_dir: str = "audio") -> Input:
    audio = tmp / audio_dir
    audio.mkdir(parents=True)
    sf.write(audio / "good.flac", _noise(), RATE, subtype="PCM_16")
    captions = tmp / "captions.csv"
    captions.write_bytes(newline.join([header, GOOD_ROW, *rows, ""]).encode(encoding, errors="surrogateescape"))
    return Input(audio, captions, audio / name)


def _audio(data: Callable[[], np.ndarray], rate: int = RATE, name: str = "clip.wav", **write) -> Callable:
    def make(tmp: Path) -> Input:
        made = _setup(tmp, name=name)
        sf.write(made.file, data(), rate, **write)
        return made
    return make


def _bytes(transform: Callable[[bytes], bytes], name: str = "clip.wav", **write) -> Callable:
    """A good file of ``name``'s type, then its bytes changed (truncated, corrupted, replaced)."""
    def make(tmp: Path) -> Input:
        made = _setup(tmp, name=name)
        sf.write(made.file, _noise(), RATE, **write)
        made.file.write_bytes(transform(made.file.read_bytes()))
        return made
    return make


def _with(make_file: Callable[[Input], None], **setup) -> Callable:
    def make(tmp: Path) -> Input:
        made = _setup(tmp, **setup)
        make_file(made)
        return made
    return make


def _csv(*rows: str, **setup) -> Callable:
    """A caption-file case: the clip's audio is good, its row(s) in the CSV are the input."""
    def make(tmp: Path) -> Input:
        made = _setup(tmp, rows=rows, **setup)
        sf.write(made.file, _noise(), RATE, subtype="PCM_16")
        return Input(made.audio, made.captions, None)
    return make


def _symlink_loop(made: Input) -> None:
    made.file.symlink_to(made.file.name)


def _folder_loop(made: Input) -> None:
    sf.write(made.file, _noise(), RATE, subtype="PCM_16")
    (made.audio / "again").symlink_to("..")


def _duplicate(made: Input) -> None:
    sf.write(made.file, _noise(), RATE, subtype="PCM_16")
    sf.write(made.audio / "Yclip.flac", _noise(3.0), RATE, subtype="PCM_16")


def _entry(tmp: Path, audio_path: str, clip_id: str = "clip", caption: str = "a dog barks twice") -> str:
    """A manifest line (a real clip in the train split), with the file's sha256 when there is a file."""
    file = tmp / audio_path  # an absolute audio_path replaces tmp
    sha = sha256_file(file) if file.is_file() else ""
    return dumps_record(ClipRecord(id=clip_id, label=0, audio_path=audio_path, split="train", caption=caption,
                                   sha256=sha))


def _outside(tmp: Path) -> Path:
    """A good file beside (outside) the corpus folder ``tmp``."""
    path = tmp.parent / "outside.wav"
    sf.write(path, _noise(), RATE, subtype="PCM_16")
    return path


def _manifest(entries: Callable[[Path], tuple[str, ...]]) -> Callable:
    """A manifest case: the corpus folder's files are good; its manifest lines are the input."""
    def make(tmp: Path) -> Input:
        made = _setup(tmp)
        return Input(made.audio, made.captions, None, entries(tmp))
    return make


def _good_clip(tmp: Path, name: str = "clip.wav") -> str:
    sf.write(tmp / "audio" / name, _noise(3.0), RATE, subtype="PCM_16")
    return f"audio/{name}"


def _symlink_out(tmp: Path) -> tuple[str, ...]:
    (tmp / "audio" / "clip.wav").symlink_to(_outside(tmp))
    return (_entry(tmp, "audio/clip.wav"),)


def _clipped() -> np.ndarray:
    return np.clip(_noise(level=0.8), -1.0, 1.0)


@dataclass(frozen=True)
class Case:
    """One row of the matrix: how the input is made and the outcome each entry point must give."""

    name: str
    make: Callable[[Path], Input]
    decode: str
    imports: str
    ground: str = NA
    train: str = NA
    push: str = NA
    listen: str = NA


CASES = (
    Case("corrupt (random bytes, .wav)", _bytes(lambda b: bytes(np.random.default_rng(1).integers(0, 256, 4000,
                                                                                             dtype=np.uint8))),
         "rejected: cannot decode audio", "rejected: cannot read audio header"),
    Case("truncated WAV (half the bytes)", _bytes(lambda b: b[: len(b) // 2], subtype="PCM_16"),
         "rejected: truncated file: data chunk holds 63978 of 128000 bytes",
         "rejected: truncated file: data chunk holds 63978 of 128000 bytes"),
    Case("truncated FLAC", _bytes(lambda b: b[: len(b) // 2], name="clip.flac", subtype="PCM_16"),
         "rejected: cannot decode audio", "rejected: cannot decode audio"),
    Case("truncated MP3", _bytes(lambda b: b[: len(b) // 3], name="clip.mp3", format="MP3"),
         "rejected: truncated file: decoded 17327 of the 64000 frames its header announces",
         "rejected: truncated file: decoded 17327 of the 64000 frames its header announces"),
    Case("empty file (0 bytes)", _bytes(lambda b: b""), "rejected: cannot decode audio",
         "rejected: cannot read audio header"),
    Case("header only (WAV, no samples)", _audio(lambda: np.zeros(0)), "rejected: audio is empty",
         "rejected: audio is empty"),
    Case("NaN samples (float WAV)", _audio(lambda: np.where(np.arange(64000) == 9, np.nan, _noise()),
                                           subtype="FLOAT"),
         "rejected: audio contains NaN or Inf samples", "rejected: audio contains NaN or Inf samples"),
    Case("Inf samples (float WAV)", _audio(lambda: np.where(np.arange(64000) == 9, np.inf, _noise()),
                                           subtype="FLOAT"),
         "rejected: audio contains NaN or Inf samples", "rejected: audio contains NaN or Inf samples"),
    Case("all-zero (digital silence)", _audio(lambda: np.zeros(64000)), ACCEPTED,
         "rejected: audio is digital silence"),
    Case("clipped (30 % at full scale)", _audio(_clipped, subtype="PCM_16"), ACCEPTED,
         "accepted (clipped fraction recorded)"),
    Case("1 kHz sample rate", _audio(lambda: _noise(rate=1000), rate=1000), ACCEPTED,
         "rejected: sample rate 1000 Hz is below the minimum 16000 Hz"),
    Case("8 kHz sample rate", _audio(lambda: _noise(rate=8000), rate=8000), ACCEPTED,
         "rejected: sample rate 8000 Hz is below the minimum 16000 Hz"),
    Case("192 kHz sample rate", _audio(lambda: _noise(rate=192000), rate=192000), ACCEPTED, ACCEPTED),
    Case("24-bit PCM", _audio(_noise, subtype="PCM_24"), ACCEPTED, ACCEPTED),
    Case("32-bit float", _audio(_noise, subtype="FLOAT"), ACCEPTED, ACCEPTED),
    *(Case(f"{n} channel{'s' if n > 1 else ''}", _audio(lambda n=n: _noise(channels=n), subtype="PCM_16"), ACCEPTED,
           "accepted (mixed to mono)" if n > 1 else ACCEPTED) for n in (1, 2, 6, 8)),
    Case("9 channels", _audio(lambda: _noise(channels=9), subtype="PCM_16"), ACCEPTED,
         "rejected: 9 channels"),
    Case("0.5 s long", _audio(lambda: _noise(0.5), subtype="PCM_16"), ACCEPTED,
         "rejected: clip of 0.500 s is shorter than 1.0 s"),
    Case("10 minutes long (16 kHz)", _audio(lambda: _noise(600.0, 16000, level=0.01), rate=16000, subtype="PCM_16"),
         ACCEPTED, "rejected: clip of 600.0 s is longer than 60.0 s; cut it into clips"),
    Case("MP3", _audio(_noise, name="clip.mp3", format="MP3"), ACCEPTED, ACCEPTED),
    Case("Ogg Vorbis", _audio(_noise, name="clip.ogg", format="OGG", subtype="VORBIS"), ACCEPTED, ACCEPTED),
    Case("Opus (48 kHz)", _audio(lambda: _noise(rate=48000), rate=48000, name="clip.opus", format="OGG",
                                 subtype="OPUS"), ACCEPTED, ACCEPTED),
    Case("text file named .mp3", _with(lambda m: m.file.write_text("not audio\n" * 200), name="clip.mp3"),
         "rejected: cannot decode audio", "rejected: cannot read audio header"),
    Case("missing file", _with(lambda m: None), "rejected: file not found",
         "rejected: no audio file found for captioned clip 'clip'"),
    Case("directory named clip.wav", _with(lambda m: m.file.mkdir()), "rejected: is a directory, not an audio file",
         "rejected: is a directory, not an audio file"),
    Case("symlink loop (clip.wav -> clip.wav)", _with(_symlink_loop), "rejected: symlink loop",
         "rejected: symlink loop"),
    Case("folder symlink loop (audio/again -> ..)", _with(_folder_loop), NA,
         "accepted; the loop: rejected: symlink loop: this folder was already scanned"),
    Case("duplicate id (clip.wav and Yclip.flac)", _with(_duplicate), NA,
         "first accepted; second: rejected: duplicate clip id 'clip'"),
    Case("path with spaces and non-ASCII", _audio(_noise, subtype="PCM_16", name="clip.wav"), ACCEPTED, ACCEPTED),
    Case("empty caption", _csv('2,clip,0,""'), NA,
         "rejected: its caption row was rejected: caption is empty"),
    Case("10,000-character caption", _csv("2,clip,0," + "a dog barks " * 833 + "loud"), NA,
         "rejected: its caption row was rejected: caption of 10000 characters is longer than 1000"),
    Case("non-UTF-8 caption (Latin-1 byte)", _csv("2,clip,0,caf\udce9 noises"), NA,
         "rejected: its caption row was rejected: row is not valid UTF-8"),
    Case("unquoted comma in a caption (extra field)", _csv("2,clip,0,a dog, then a cat"), NA,
         "rejected: its caption row was rejected: row has more fields than the header"),
    Case("row with missing fields", _csv("2,clip"), NA,
         "rejected: its caption row was rejected: row has fewer fields than the header"),
    Case("CSV with a UTF-8 BOM", _csv("2,clip,0,a dog barks", header="\ufeff" + HEADER), NA, ACCEPTED),
    Case("CSV with CRLF line ends", _csv("2,clip,0,a dog barks", newline="\r\n"), NA, ACCEPTED),
    Case("CSV with an extra column", _csv("2,clip,0,a dog barks,x", header=HEADER + ",extra"), NA, ACCEPTED),
    Case("CSV missing a column", _csv("2,clip,a dog barks", header="audiocap_id,youtube_id,caption"), NA,
         "error: captions CSV lacks columns ['start_time']"),
    Case("captions CSV missing", _with(lambda m: (sf.write(m.file, _noise(), RATE), m.captions.unlink())), NA,
         "error: captions CSV not found"),
)
MANIFEST_CASES = (
    Case("manifest: audio path with `..` leaving the corpus",
         _manifest(lambda tmp: (_entry(tmp, f"../{_outside(tmp).name}"),)), NA, NA),
    Case("manifest: absolute audio path outside the corpus",
         _manifest(lambda tmp: (_entry(tmp, str(_outside(tmp))),)), NA, NA),
    Case("manifest: symlink pointing outside the corpus", _manifest(_symlink_out), NA, NA),
    Case("manifest: duplicate clip id",
         _manifest(lambda tmp: (_entry(tmp, _good_clip(tmp)), _entry(tmp, _good_clip(tmp, "clip2.wav")))), NA, NA),
    Case("manifest: a line that is not JSON", _manifest(lambda tmp: (_entry(tmp, _good_clip(tmp)), "{not json")),
         NA, NA),
    Case("manifest: a record with an unknown field",
         _manifest(lambda tmp: (_entry(tmp, _good_clip(tmp))[:-1] + ', "bogus": 1}',)), NA, NA),
    Case("manifest: empty caption", _manifest(lambda tmp: (_entry(tmp, _good_clip(tmp), caption=""),)), NA, NA),
)
CASES = CASES + MANIFEST_CASES
ALL_ACCEPT = (ACCEPTED,) * 4
#: ``ground`` / ``train`` / ``push`` / ``listen`` on a corpus (or source manifest) holding the good clip and the case's
#: clip. ground and listen reject the clip and carry on; train and push refuse the whole corpus in one line (a
#: corpus is one dataset: training on, or publishing, what is left would not be the corpus asked for).
MANIFEST_OUTCOMES: dict[str, tuple[str, str, str, str]] = {
    'corrupt (random bytes, .wav)': (
        'rejected: cannot decode audio',
        'refused: cannot decode audio',
        'refused: cannot decode audio',
        'rejected: cannot decode audio',
    ),
    'truncated WAV (half the bytes)': (
        'rejected: truncated file: data chunk holds 63978 of 128000 bytes',
        'refused: truncated file: data chunk holds 63978 of 128000 bytes',
        'refused: truncated file: data chunk holds 63978 of 128000 bytes',
        'rejected: truncated file: data chunk holds 63978 of 128000 bytes',
    ),
    'truncated FLAC': (
        'rejected: cannot decode audio',
        'refused: cannot decode audio',
        'refused: cannot decode audio',
        'rejected: cannot decode audio',
    ),
    'truncated MP3': (
        'rejected: truncated file: decoded 17327 of the 64000 frames its header announces',
        'refused: truncated file: decoded 17327 of the 64000 frames its header announces',
        'refused: truncated file: decoded 17327 of the 64000 frames its header announces',
        'rejected: truncated file: decoded 17327 of the 64000 frames its header announces',
    ),
    'empty file (0 bytes)': (
        'rejected: cannot decode audio',
        'refused: cannot decode audio',
        'refused: cannot decode audio',
        'rejected: cannot decode audio',
    ),
    'header only (WAV, no samples)': (
        'rejected: audio is empty',
        'refused: audio is empty',
        'refused: audio is empty',
        'rejected: audio is empty',
    ),
    'NaN samples (float WAV)': (
        'rejected: audio contains NaN or Inf samples',
        'refused: audio contains NaN or Inf samples',
        'refused: audio contains NaN or Inf samples',
        'rejected: audio contains NaN or Inf samples',
    ),
    'Inf samples (float WAV)': (
        'rejected: audio contains NaN or Inf samples',
        'refused: audio contains NaN or Inf samples',
        'refused: audio contains NaN or Inf samples',
        'rejected: audio contains NaN or Inf samples',
    ),
    'all-zero (digital silence)': ALL_ACCEPT,
    'clipped (30 % at full scale)': ALL_ACCEPT,
    '1 kHz sample rate': ALL_ACCEPT,
    '8 kHz sample rate': ALL_ACCEPT,
    '192 kHz sample rate': ALL_ACCEPT,
    '24-bit PCM': ALL_ACCEPT,
    '32-bit float': ALL_ACCEPT,
    '1 channel': ALL_ACCEPT,
    '2 channels': ALL_ACCEPT,
    '6 channels': ALL_ACCEPT,
    '8 channels': ALL_ACCEPT,
    '9 channels': ALL_ACCEPT,
    '0.5 s long': ALL_ACCEPT,
    '10 minutes long (16 kHz)': ALL_ACCEPT,
    'MP3': ALL_ACCEPT,
    'Ogg Vorbis': ALL_ACCEPT,
    'Opus (48 kHz)': ALL_ACCEPT,
    'text file named .mp3': (
        'rejected: cannot decode audio',
        'refused: cannot decode audio',
        'refused: cannot decode audio',
        'rejected: cannot decode audio',
    ),
    'missing file': (
        'rejected: file not found',
        'refused: file not found',
        "refused: audio of clip 'clip' is missing",
        'rejected: audio audio/clip.wav not found',
    ),
    'directory named clip.wav': (
        'rejected: is a directory, not an audio file',
        'refused: is a directory, not an audio file',
        'refused: is a directory, not an audio file',
        'rejected: is a directory, not an audio file',
    ),
    'symlink loop (clip.wav -> clip.wav)': (
        'rejected: symlink loop',
        'refused: symlink loop',
        'refused: symlink loop',
        'rejected: symlink loop',
    ),
    'path with spaces and non-ASCII': ALL_ACCEPT,
}
CASES = tuple(replace(c, **dict(zip(("ground", "train", "push", "listen"), MANIFEST_OUTCOMES[c.name], strict=True)))
              if c.name in MANIFEST_OUTCOMES else c for c in CASES)
CASES_BY_NAME = {c.name: c for c in CASES}


def _short(message: str, tmp: Path) -> str:
    """The reason as the table shows it: no temporary paths, no library detail in brackets."""
    text = message.replace(str(tmp), "").split(" (")[0]
    return re.sub(r"^\S*: ", "", text, count=1) if text.startswith("/") else text


def decode_outcome(made: Input, tmp: Path) -> str:
    try:
        read_audio(made.file)
    except RejectedInput as err:
        assert "\n" not in str(err) and str(err).startswith(str(made.file) + ": ")
        return f"rejected: {_short(err.reason, tmp)}"
    return ACCEPTED


def import_outcome(made: Input, tmp: Path) -> str:
    try:
        result = import_sources(made.audio, made.captions, tmp)
    except (OSError, FakesoundError) as err:
        assert "\n" not in str(err) and str(err).startswith(str(made.captions))
        return f"error: {_short(str(err), tmp)}"
    ids = [r.id for r in result.records]
    assert "good" in ids, "a bad input must not stop the good clip"
    assert next(r for r in result.records if r.id == "good").extra["clipped_fraction"] == 0.0
    others = [r for r in result.rejected if "good" not in r.item]
    for rejection in others:
        assert "\n" not in rejection.reason and rejection.stage == "import-sources"
        assert rejection.item.startswith(str(tmp)) and ("clip" in rejection.item or "captions.csv" in rejection.item
                                                        or "again" in rejection.item)
    reasons = [f"rejected: {_short(r.reason, tmp)}" for r in others]
    if "clip" not in ids:
        assert len(others) == 1, f"one line per bad input, got {others}"
        return reasons[0]
    record = next(r for r in result.records if r.id == "clip")
    if len(others) == 1 and "again" in others[0].item:
        return f"accepted; the loop: {reasons[0]}"
    if len(others) == 1:
        return f"first accepted; second: {reasons[0]}"
    assert not others
    if record.extra["clipped_fraction"] > 0:
        return "accepted (clipped fraction recorded)"
    mixed = made.file is not None and sf.info(made.file).channels > 1
    return "accepted (mixed to mono)" if mixed else ACCEPTED


def _corpus(made: Input, tmp: Path) -> Path:
    """The case as a corpus (and source manifest) in ``tmp``: the good clip and the case's clip."""
    lines = [_entry(tmp, "audio/good.flac", "good", "rain falls on a tin roof")]
    if made.entries is not None:
        lines += made.entries
    elif made.file is not None:
        lines.append(_entry(tmp, made.file.relative_to(tmp).as_posix()))
    manifest = tmp / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp / "LICENSES.md").write_text("# Licences and attribution\n\nCC0 1.0 (test noise).\n", encoding="utf-8")
    return manifest


def _table_text(text: str, tmp: Path) -> str:
    """A manifest entry point's message as the table shows it: no temporary paths, no leading file or clip names
    (the tests check those are there), no library detail in brackets."""
    text = text.replace(str(tmp.parent / "outside.wav"), "<outside>/outside.wav").replace(str(tmp), "<corpus>")
    text = re.sub(r"^(\S+: )+", "", text)  # the file, manifest:line, or clip id
    text = re.sub(r"^audio of clip '\w+' cannot be published: ", "", text.removeprefix("clip 'clip': "))
    return text.split(" (")[0].removesuffix("; refused")


def _refusal(err: BaseException, tmp: Path, word: str = "refused") -> str:
    """A whole input refused: one line naming the file (or the manifest and its line) or the clip."""
    text = str(err)
    assert "\n" not in text and (str(tmp) in text or "clip" in text), text
    return f"{word}: {_table_text(text, tmp)}"


def ground_outcome(made: Input, tmp: Path) -> str:
    """``fakesound ground`` (energy backend: no weights): a bad clip is rejected, the good one grounded."""
    from grounding.job import GroundRequest, ground_job

    manifest = _corpus(made, tmp)
    try:
        summary = ground_job(GroundRequest(out=str(tmp / "grounding.json"), sources=str(manifest), backend="energy"))
    except (OSError, FakesoundError) as err:
        assert not (tmp / "grounding.json").exists()
        return _refusal(err, tmp, "error")
    rejected = [r for r in summary["rejected"] if "good" not in r["item"]]
    assert summary["clips"] >= 1 and len(rejected) == len(summary["rejected"]), "the good clip must be grounded"
    if not rejected:
        return ACCEPTED
    assert len(rejected) == 1 and "\n" not in rejected[0]["reason"] and "clip" in rejected[0]["item"]
    return f"rejected: {_table_text(rejected[0]['reason'], tmp)}"


def train_outcome(made: Input, tmp: Path) -> str:
    """``fakesound train``'s corpus check (``detector.data.load_corpus``, before anything is built or written)."""
    from detector.data import load_corpus

    _corpus(made, tmp)
    try:
        load_corpus(tmp)
    except (OSError, FakesoundError) as err:
        return _refusal(err, tmp)
    return ACCEPTED


def push_outcome(made: Input, tmp: Path) -> str:
    """``fakesound push`` (its dry run: the repository folder a push uploads); a refusal writes nothing."""
    from pipeline.publish import export_hub_folder

    _corpus(made, tmp)
    repo = tmp.parent / "repo"
    try:
        export_hub_folder(tmp, repo)
    except (OSError, FakesoundError) as err:
        assert not repo.exists() and not list(tmp.parent.glob(".*.part"))  # nothing partial
        return _refusal(err, tmp)
    return ACCEPTED


def listen_outcome(made: Input, tmp: Path) -> str:
    """``fakesound listen``'s corpus index: a clip it cannot serve is in its rejected list, the good one served."""
    from listen.corpus import CorpusIndex

    _corpus(made, tmp)
    try:
        index = CorpusIndex.load(tmp)
    except (OSError, FakesoundError) as err:
        return _refusal(err, tmp, "error")
    assert "good" in index.records
    if not index.rejected:
        return ACCEPTED
    assert len(index.rejected) == 1 and "\n" not in index.rejected[0] and index.rejected[0].startswith("clip: ")
    return f"rejected: {_table_text(index.rejected[0], tmp)}"


MANIFEST_ENTRY_POINTS = {"ground": ground_outcome, "train": train_outcome, "push": push_outcome,
                         "listen": listen_outcome}


def _case_dir(case: Case, tmp_path: Path) -> Path:
    return tmp_path / ("dir with spaces é" if "non-ASCII" in case.name else "case")


@pytest.mark.parametrize("case", [c for c in CASES if (c.decode, c.imports) != (NA, NA)], ids=lambda c: c.name)
def test_entry_points_give_the_declared_outcome(case, tmp_path):
    tmp = _case_dir(case, tmp_path)
    made = case.make(tmp)
    if case.decode != NA:
        assert decode_outcome(made, tmp) == case.decode
    if case.imports != NA:
        assert import_outcome(made, tmp) == case.imports


@pytest.mark.parametrize("entry_point", list(MANIFEST_ENTRY_POINTS))
@pytest.mark.parametrize("case", [c for c in CASES if (c.ground, c.train, c.push, c.listen) != (NA,) * 4],
                         ids=lambda c: c.name)
def test_manifest_entry_points_give_the_declared_outcome(case, entry_point, tmp_path):
    tmp = _case_dir(case, tmp_path)
    made = case.make(tmp)
    assert MANIFEST_ENTRY_POINTS[entry_point](made, tmp) == getattr(case, entry_point)


def matrix_markdown() -> str:
    lines = [
        "| input | decoding (`read_audio`: build, detect, benchmark) | `import-sources` (folder + CSV) | `ground` | "
        "`train` | `push` | `listen` |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c.name} | {c.decode} | {c.imports} | {c.ground} | {c.train} | {c.push} | {c.listen} |"
              for c in CASES]
    return "\n".join(lines)


def test_readme_carries_the_matrix():
    text = README.read_text(encoding="utf-8")
    block = f"{START}\n{matrix_markdown()}\n{END}"
    current = re.search(re.escape(START) + ".*?" + re.escape(END), text, flags=re.S)
    if os.environ.get("FAKESOUND_UPDATE_README") == "1":
        assert current, f"README.md lacks the {START} ... {END} markers"
        README.write_text(text.replace(current.group(0), block), encoding="utf-8")
        return
    assert current and current.group(0) == block, (
        "README's bad-input matrix differs from the tests: FAKESOUND_UPDATE_README=1 pytest " + __file__)
