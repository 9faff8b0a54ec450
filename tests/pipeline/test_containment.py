"""A crafted manifest cannot make push, train or benchmark read a file from outside the corpus folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny_corpus import make_tiny_corpus

from pipeline.containment import OutsideCorpus, audio_inside
from pipeline.hashing import sha256_file
from pipeline.publish import PublishError, export_hub_folder

SECRET = b"RIFF-not-really: the publishing machine's private file"


def _craft(tmp_path: Path, how: str) -> tuple[Path, Path]:
    """A valid tiny corpus whose first clip's audio_path is made to point at an outside file (sha256 matching)."""
    corpus, outside = tmp_path / "corpus", tmp_path / "private" / "secret.wav"
    make_tiny_corpus(corpus)
    outside.parent.mkdir()
    shutil.copyfile(next((corpus / "audio" / "train").glob("*.wav")), outside)  # decodable, so only the path tells
    outside.write_bytes(outside.read_bytes() + SECRET)
    lines = (corpus / "manifest.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    if how == "absolute":
        first["audio_path"] = str(outside)
    elif how == "dotdot":
        first["audio_path"] = "audio/../../private/secret.wav"
    else:  # a symlink inside the corpus pointing out
        link = corpus / "audio" / "train" / "link.wav"
        link.symlink_to(outside)
        first["audio_path"] = "audio/train/link.wav"
    first["sha256"] = sha256_file(outside)
    (corpus / "manifest.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return corpus, outside


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_push_refuses_a_manifest_pointing_outside_and_writes_nothing(tmp_path, how):
    corpus, _ = _craft(tmp_path, how)
    out = tmp_path / "dry"
    with pytest.raises(PublishError) as err:
        export_hub_folder(corpus, out)  # what `push` and `push --dry-run` both run first
    message = str(err.value)
    assert "\n" not in message and "outside the corpus folder" in message
    assert "refused" in message and "manifest.jsonl" in message
    assert not out.exists() and not list(tmp_path.glob(".dry.*"))


def test_nothing_of_an_outside_file_reaches_the_parquet_even_if_the_check_were_skipped(tmp_path, monkeypatch):
    """The rows are read through the same helper, so the refusal does not hang on the up-front check alone."""
    import pipeline.publish as publish

    corpus, _ = _craft(tmp_path, "absolute")
    original = publish.load_corpus

    def unchecked(root, splits=None):
        monkeypatch.setattr(publish, "audio_inside", lambda r, p, i="": Path(r) / p)
        monkeypatch.setattr(publish, "decode_audio", lambda path: None)  # the up-front decode check too
        corpus_obj = original(root, splits)
        monkeypatch.undo()
        return corpus_obj

    monkeypatch.setattr(publish, "load_corpus", unchecked)
    with pytest.raises(PublishError, match="outside the corpus folder"):
        publish.export_hub_folder(corpus, tmp_path / "dry")
    assert not (tmp_path / "dry").exists()


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_train_refuses_and_benchmark_skips_outside_audio(tmp_path, how):
    from detector.data import load_corpus
    from detector.evaluate import predict_records
    from pipeline.manifest import read_manifest

    corpus, _ = _craft(tmp_path, how)
    with pytest.raises(OutsideCorpus, match="refused"):
        load_corpus(corpus)

    class NeverReads:
        def detect_file(self, path):
            raise AssertionError(f"benchmark read {path}")

    records = read_manifest(corpus / "manifest.jsonl")[:1]
    preds, errors = predict_records(NeverReads(), records, corpus)
    assert preds == [] and len(errors) == 1 and "refused" in errors[0] and "\n" not in errors[0]


def test_paths_inside_the_corpus_are_fine(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "a.wav").write_bytes(b"x")
    (tmp_path / "audio" / "b.wav").symlink_to("a.wav")  # a link that stays inside
    assert audio_inside(tmp_path, "audio/a.wav") == tmp_path / "audio" / "a.wav"
    assert audio_inside(tmp_path, "audio/../audio/b.wav").resolve() == (tmp_path / "audio" / "a.wav").resolve()
    assert audio_inside(tmp_path, str(tmp_path / "audio" / "a.wav")) == tmp_path / "audio" / "a.wav"  # inside
    with pytest.raises(OutsideCorpus, match="resolves to"):
        audio_inside(tmp_path, "../x.wav", "c1")
    with pytest.raises(OutsideCorpus, match="outside the corpus folder"):
        audio_inside(tmp_path / "audio", str(tmp_path / "elsewhere.wav"))
