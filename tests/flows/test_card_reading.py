"""Reading what we publish: a demo corpus pushed to the local Hub is read back by running the dataset card's own
snippet, and the card and the corpus's LICENSES.md say what the corpus is."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path

import pytest
import soundfile as sf
from hub_standin import use_endpoint

REPO = "fakesound-tests/card"


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory) -> Path:
    from flows.build import build_demo, thread_executor

    corpus = tmp_path_factory.mktemp("demo")
    build_demo(corpus, 6, 3, executor=thread_executor(2, progress=False))
    return corpus


def _snippets(card: str) -> list[str]:
    section = card.split("## Reading the audio", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_cards_soundfile_snippet_reads_the_pushed_dataset(hub, demo_corpus, tmp_path, monkeypatch):
    import datasets.config
    import huggingface_hub.constants

    from pipeline.manifest import read_manifest
    from pipeline.publish import push_corpus

    push_corpus(demo_corpus, REPO)
    card = hub.repo(REPO).head.files["README.md"].decode("utf-8")
    with_torchcodec, without = _snippets(card)
    compile(with_torchcodec, "card-torchcodec", "exec")  # valid Python; run below only where torchcodec exists

    use_endpoint(monkeypatch, hub.endpoint)  # the snippet reads the Hub: the stand-in
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    namespace: dict = {}
    exec(without, namespace)  # exactly the card's code, repo id included

    row, wave, rate = namespace["row"], namespace["wave"], namespace["sample_rate"]
    first = next(r for r in read_manifest(demo_corpus / "manifest.jsonl") if r.split == "train")
    expected, expected_rate = sf.read(demo_corpus / first.audio_path, dtype="float32")
    assert row["id"] == first.id and rate == expected_rate == first.sample_rate
    assert (wave == expected).all() and len(wave) == first.num_samples
    assert sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="int16")[0].tobytes() == sf.read(
        demo_corpus / first.audio_path, dtype="int16")[0].tobytes()
    if importlib.util.find_spec("torchcodec") is not None:
        exec(with_torchcodec, namespace)
        assert namespace["samples"].sample_rate == first.sample_rate


def test_demo_card_and_licences_say_what_the_corpus_is(demo_corpus, tmp_path):
    from pipeline.publish import export_hub_folder

    licences = (demo_corpus / "LICENSES.md").read_text(encoding="utf-8")
    assert licences.startswith("# Licences and attribution — fakesound demo corpus")
    assert "this folder" not in licences.lower() and "composed soundscapes" in licences
    assert "CC BY-SA 3.0" in licences and "Wildfire Games" in licences
    assert "## Attribution text to reproduce" in licences

    card = (export_hub_folder(demo_corpus, tmp_path / "dry", repo_id=REPO).path / "README.md").read_text()
    body = card.split("\n---\n", 1)[1]
    assert "offline demo corpus" in body and "composed soundscapes" in body
    for manipulation in ("splice", "addition", "vocoder"):
        assert re.search(rf"^\| `{manipulation}` \| \w", body, flags=re.M), manipulation
    assert "## Limitations" in body and "do not carry over" in body
    assert "@inproceedings{xie24d_interspeech" in body and "FakeSound: Deepfake General Audio Detection" in body
    assert "Audio(decode=False)" in body and "torchcodec" in body
    assert "this folder" not in body.lower()
