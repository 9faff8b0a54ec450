"""``push-to-hub`` flow and ``fakesound push``: real pushes to the local Hub stand-in, and dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_corpus import make_tiny_corpus

from flows.cli import main

REPO = "fakesound-tests/flow"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    make_tiny_corpus(root, seed=1)
    return root


def test_push_flow_commits_once_then_is_unchanged(prefect_api, hub, corpus, tmp_path):
    from flows.hub import push_to_hub

    first = push_to_hub(corpus=str(corpus), repo_id=REPO, private=True)
    repo = hub.repo(REPO)
    assert first["new_commit"] and repo.head.oid == first["commit"] and repo.private
    assert sorted(repo.head.files) == [".gitattributes", "README.md", "data/test-00000-of-00001.parquet",
                                       "data/train-00000-of-00001.parquet", "data/val-00000-of-00001.parquet"]
    second = push_to_hub(corpus=str(corpus), repo_id=REPO)
    assert not second["new_commit"] and second["commit"] == first["commit"] and len(repo.commits) == 2

    dry = push_to_hub(corpus=str(corpus), repo_id=REPO, dry_run=str(tmp_path / "dry"))
    assert dry["rows"] == {"train": 6, "val": 2, "test": 2}
    on_disk = {p: (tmp_path / "dry" / p).read_bytes() for p in dry["files"]}
    assert on_disk == {p: b for p, b in repo.head.files.items() if p != ".gitattributes"}


def test_a_built_demo_corpus_publishes_whole(tmp_path):
    from datasets import Audio, load_dataset

    from flows.build import build_demo, thread_executor
    from pipeline.manifest import read_manifest
    from pipeline.publish import export_hub_folder

    corpus = tmp_path / "demo"
    build_demo(corpus, 6, 2, executor=thread_executor(2, progress=False))
    records = read_manifest(corpus / "manifest.jsonl")
    folder = export_hub_folder(corpus, tmp_path / "dry", repo_id=REPO)
    assert folder.num_rows == {s: sum(r.split == s for r in records) for s in ("train", "val", "test")}
    card = (folder.path / "README.md").read_text()
    assert "license: cc-by-sa-3.0" in card and "Wildfire Games" in card and "Recipe: `weight-free`" in card
    loaded = load_dataset(str(folder.path), cache_dir=str(tmp_path / "cache"))
    for split in folder.num_rows:
        rows = loaded[split].cast_column("audio", Audio(decode=False))
        expected = [r for r in records if r.split == split]
        assert rows["id"] == [r.id for r in expected] and rows["label"] == [r.label for r in expected]
        assert [a["bytes"] for a in rows["audio"]] == [(corpus / r.audio_path).read_bytes() for r in expected]


def test_cli_push_and_dry_run(hub, corpus, tmp_path, capsys):
    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO, "--dry-run", str(tmp_path / "dry")]) == 0
    assert "dry run" in capsys.readouterr().out and REPO not in hub.state.repos
    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO, "--splits", "train", "test"]) == 0
    assert "new commit" in capsys.readouterr().out
    assert sorted(hub.repo(REPO).head.files) == [".gitattributes", "README.md", "data/test-00000-of-00001.parquet",
                                                 "data/train-00000-of-00001.parquet"]
    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO, "--splits", "train", "test"]) == 0
    assert "unchanged, no new commit" in capsys.readouterr().out


def test_cli_push_of_a_non_corpus_is_a_one_line_error(hub, tmp_path, capsys):
    assert main(["push", "--corpus", str(tmp_path), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fakesound push: error:") and "not a fakesound corpus" in err and "\n" not in err
    assert REPO not in hub.state.repos


def test_push_flow_retries_transient_hub_errors_only(prefect_api, hub, corpus, monkeypatch):
    from prefect.states import State

    import flows.hub

    monkeypatch.setattr(flows.hub, "push_task", flows.hub.push_task.with_options(retry_delay_seconds=0))
    commits = lambda: sum(1 for method, path in hub.state.requests if path.endswith("/commit/main"))  # noqa: E731

    hub.state.fail["commit"] = (503, "Service Unavailable")
    result = flows.hub.push_to_hub(corpus=str(corpus), repo_id=REPO)
    assert result["new_commit"] and commits() == 2  # failed once, retried, committed

    hub.state.fail["commit"] = (403, "Forbidden: no write access")
    state: State = flows.hub.push_to_hub(corpus=str(corpus), repo_id=REPO, splits=["train"], return_state=True)
    assert state.is_failed() and commits() == 3  # not retried
    assert "no write access" in str(state.message) or "no write access" in repr(state.result(raise_on_failure=False))
    assert len(hub.repo(REPO).commits) == 2


@pytest.mark.timeout(300)
def test_sigkill_during_push_leaves_the_repo_unchanged_and_a_rerun_completes(hub, corpus, tmp_path, capsys):
    import os
    import signal
    import subprocess
    import sys
    import threading

    from tiny_corpus import make_tiny_corpus

    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO]) == 0
    repo = hub.repo(REPO)
    before = (repo.head.oid, dict(repo.head.files), len(repo.commits))
    changed = tmp_path / "changed"
    make_tiny_corpus(changed, seed=2)  # other audio: the push uploads new LFS objects, then commits
    arrived, release = threading.Event(), threading.Event()
    hub.state.hold["lfs_put"] = (arrived, release)
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "hf_standin"}
    push = subprocess.Popen([sys.executable, "-m", "flows.cli", "push", "--corpus", str(changed), "--repo-id", REPO],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(timeout=180), "the push never reached its uploads"
        os.kill(push.pid, signal.SIGKILL)  # mid-upload: some objects sent, no commit yet
        push.wait(timeout=30)
    finally:
        hub.state.hold.clear()
        release.set()
        if push.poll() is None:
            push.kill()
            push.wait()
    assert (repo.head.oid, dict(repo.head.files), len(repo.commits)) == before  # the repo is as it was
    capsys.readouterr()
    assert main(["push", "--corpus", str(changed), "--repo-id", REPO, "--dry-run", str(tmp_path / "dry")]) == 0
    assert main(["push", "--corpus", str(changed), "--repo-id", REPO]) == 0
    assert "new commit" in capsys.readouterr().out and len(repo.commits) == before[2] + 1
    expected = {p.relative_to(tmp_path / "dry").as_posix(): p.read_bytes()
                for p in (tmp_path / "dry").rglob("*") if p.is_file()}
    assert {p: b for p, b in repo.head.files.items() if p != ".gitattributes"} == expected
