"""Publishing: corpus -> DatasetDict + card, dry-run folder read back with ``datasets``, real pushes to a local Hub."""

from __future__ import annotations

import io
import json
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import soundfile as sf
from hub_standin import HubStandin
from tiny_corpus import SPLITS, make_tiny_corpus

from pipeline.publish import PublishError, detect_license, export_hub_folder, load_corpus, push_corpus

REPO = "fakesound-tests/tiny"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    make_tiny_corpus(root)
    return root


@pytest.fixture(scope="module")
def exported(corpus, tmp_path_factory):
    return export_hub_folder(corpus, tmp_path_factory.mktemp("dry") / "repo", repo_id=REPO)


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)  # the stand-in speaks LFS only
    with HubStandin() as standin:
        yield standin


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dry_run_reads_back_with_every_column(corpus, exported, tmp_path):
    from datasets import Audio, ClassLabel, load_dataset

    assert exported.files == ("README.md", "data/test-00000-of-00001.parquet",
                              "data/train-00000-of-00001.parquet", "data/val-00000-of-00001.parquet")
    loaded = load_dataset(str(exported.path), cache_dir=str(tmp_path / "cache"))
    assert list(loaded) == ["train", "val", "test"]  # card's configs keep the corpus split order
    assert isinstance(loaded["train"].features["audio"], Audio)
    assert loaded["train"].features["label"] == ClassLabel(names=["real", "fake"])
    manifest = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    for split, n_sources in SPLITS.items():
        rows = loaded[split].cast_column("audio", Audio(decode=False))
        expected = [r for r in manifest if r["split"] == split]
        assert len(rows) == len(expected) == 2 * n_sources
        for row, record in zip(rows, expected, strict=True):
            for key in ("id", "label", "manipulation", "generator", "caption", "seed", "source_id", "sample_rate",
                        "duration"):
                assert row[key] == record[key], (split, record["id"], key)
            assert row["segments"] == record["segments"]
            assert json.loads(row["extra"]) == record["extra"]
            wav = (corpus / record["audio_path"]).read_bytes()
            assert row["audio"]["bytes"] == wav and row["audio"]["path"] == Path(record["audio_path"]).name
            decoded, rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="int16")
            on_disk, _ = sf.read(corpus / record["audio_path"], dtype="int16")
            assert rate == record["sample_rate"] and np.array_equal(decoded, on_disk)
    assert sum(loaded["test"]["label"]) == 1  # 1 = fake


def test_export_is_byte_deterministic_and_replaces_earlier_export(corpus, exported, tmp_path):
    again = export_hub_folder(corpus, tmp_path / "again", repo_id=REPO)
    assert _tree(again.path) == _tree(exported.path)
    (again.path / "data" / "stale-00000-of-00001.parquet").write_bytes(b"old")
    export_hub_folder(corpus, again.path, repo_id=REPO)  # an earlier export is replaced whole
    assert _tree(again.path) == _tree(exported.path)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(PublishError, match="not an earlier export"):
        export_hub_folder(corpus, tmp_path / "busy")
    assert not list(tmp_path.glob(".*.part"))


def test_dataset_card_states_task_polarity_stats_recipe_and_attribution(exported):
    card = (exported.path / "README.md").read_text()
    meta, body = card.split("\n---\n", 1)
    assert "license: cc-by-sa-3.0" in meta and "audio-classification" in meta
    assert "- split: val\n    path: data/val-*" in meta
    assert "num_examples: 6" in meta  # train: 3 sources x (real + fake)
    assert "**1 = fake, 0 = real**" in body
    assert "| train | splice | donor-splice | fake | 2 |" in body
    assert "| train | addition | donor-mix | fake | 1 |" in body
    assert "| train | real | - | real | 3 |" in body
    assert "| test | 2 | 1 | 1 |" in body
    assert "Recipe: `weight-free`" in body
    assert "### Licences and attribution" in body  # LICENSES.md included, headings nested under the card's
    assert "Sounds from Example Game by Example Studio" in body
    assert f'load_dataset("{REPO}", split="train")' in body
    assert "re-encoded as 16-bit WAV exactly as the fakes are" in body and "offline demo" not in body  # not a demo
    assert "| `splice` | replaced by a stretch of another recording" in body and "## Limitations" in body


def test_detect_license(kit_dir):
    assert detect_license((kit_dir / "LICENSES.md").read_text()) == "cc-by-sa-3.0"
    assert detect_license("all CC BY 4.0") == "cc-by-4.0"
    assert detect_license("mostly CC BY-SA 3.0, some CC BY 3.0") == "cc-by-sa-3.0"
    assert detect_license("CC BY-NC 4.0 and CC BY-SA 3.0") == "other"
    assert detect_license("public domain, no notice") == "other"
    assert detect_license("CC BY-SA 3.0 and CC BY 3.0; some parts credited upstream as CC0") == "cc-by-sa-3.0"
    assert detect_license("CC0 only") == "cc0-1.0"


def test_push_is_one_commit_and_idempotent(corpus, exported, hub):
    first = push_corpus(corpus, REPO, private=True, token="hf_test", endpoint=hub.endpoint)
    repo = hub.repo(REPO)
    assert repo.private and first.new_commit and len(repo.commits) == 2  # the repo's initial commit + ours
    assert repo.head.oid == first.commit_oid
    committed = {p: b for p, b in repo.head.files.items() if p != ".gitattributes"}
    assert committed == _tree(exported.path)  # exactly the dry-run folder, byte for byte
    assert {p for p in repo.head.lfs} == {p for p in committed if p.endswith(".parquet")}

    before = len(hub.state.requests)
    second = push_corpus(corpus, REPO, token="hf_test", endpoint=hub.endpoint)
    assert not second.new_commit and second.commit_oid == first.commit_oid and len(repo.commits) == 2
    assert not [r for r in hub.state.requests[before:] if "/commit/" in r[1] or r[1].startswith("/lfs/")]

    only_train = push_corpus(corpus, REPO, token="hf_test", endpoint=hub.endpoint, splits=["train"])
    assert only_train.new_commit and len(repo.commits) == 3
    assert sorted(repo.head.files) == [".gitattributes", "README.md", "data/train-00000-of-00001.parquet"]


def test_hub_error_is_one_line_and_leaves_no_revision(corpus, hub):
    push_corpus(corpus, REPO, token="hf_test", endpoint=hub.endpoint, splits=["train"])
    head = hub.repo(REPO).head.oid
    hub.state.fail["commit"] = (403, "You don't have the rights to create a commit in this repo")
    with pytest.raises(PublishError, match="nothing was committed: You don't have the rights") as err:
        push_corpus(corpus, REPO, token="hf_test", endpoint=hub.endpoint)
    assert "\n" not in str(err.value) and not err.value.transient
    hub.state.fail["commit"] = (503, "Service Unavailable")
    with pytest.raises(PublishError) as err:
        push_corpus(corpus, REPO, token="hf_test", endpoint=hub.endpoint)
    assert err.value.transient
    assert hub.repo(REPO).head.oid == head and len(hub.repo(REPO).commits) == 2


def test_unreachable_hub_is_a_clear_transient_error(corpus, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    with HubStandin() as gone:
        endpoint = gone.endpoint
    with pytest.raises(PublishError, match="cannot reach") as err:
        push_corpus(corpus, REPO, token="hf_test", endpoint=endpoint)
    assert err.value.transient


def test_bad_corpora_give_clear_errors(corpus, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PublishError, match="not a fakesound corpus"):
        load_corpus(tmp_path / "empty")
    with pytest.raises(PublishError, match="corpus folder not found"):
        load_corpus(tmp_path / "nowhere")
    with pytest.raises(PublishError, match=r"split\(s\) dev have no clips"):
        load_corpus(corpus, splits=["train", "dev"])

    broken = tmp_path / "broken"
    make_tiny_corpus(broken)
    victim = next((broken / "audio" / "val").glob("*.wav"))
    victim.write_bytes(victim.read_bytes()[:-2] + b"\x01\x02")
    with pytest.raises(PublishError, match="does not match the manifest's sha256"):
        export_hub_folder(broken, tmp_path / "out1")
    assert not (tmp_path / "out1").exists() and not list(tmp_path.glob(".out1.*"))
    victim.unlink()
    with pytest.raises(PublishError, match=f"{victim.name}: audio of clip .* is missing"):
        load_corpus(broken)
    (broken / "LICENSES.md").unlink()
    with pytest.raises(PublishError, match=r"LICENSES\.md missing"):
        load_corpus(broken, splits=["train"])
