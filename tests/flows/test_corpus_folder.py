"""One corpus per folder, through the CLI: two builds at once (one refused, naming the other's pid), another corpus
refused or replaced with ``--overwrite``, and source shards built into one folder merged into one manifest."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.cli import main
from pipeline.corpus import MANIFEST
from pipeline.folder import LOCK
from pipeline.manifest import read_manifest, write_manifest


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _demo(out: Path, clips: int, seed: int, *more: str) -> int:
    return main(["demo", "--out", str(out), "--clips", str(clips), "--seed", str(seed), "--quiet", *more])


@pytest.mark.timeout(300)
def test_two_concurrent_builds_one_is_refused_naming_the_other(tmp_path, capsys):
    out = tmp_path / "c"
    first = subprocess.Popen([sys.executable, "-m", "flows.cli", "demo", "--out", str(out), "--clips", "300",
                              "--quiet", "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / LOCK).exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first build never took the lock"
            time.sleep(0.01)
        assert _demo(out, 300, 0) == 2
        err = capsys.readouterr().err.strip()
        assert f"pid {first.pid}" in err and "another build is writing this folder" in err and "\n" not in err
        assert first.wait(timeout=240) == 0, first.stderr.read()[-2000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(read_manifest(out / MANIFEST)) == 300 and not (out / LOCK).exists()


def test_another_corpus_is_refused_or_replaced_with_overwrite(tmp_path, capsys):
    out, fresh = tmp_path / "c", tmp_path / "fresh"
    assert _demo(out, 12, 0) == 0
    before = _files(out)
    capsys.readouterr()
    assert _demo(out, 8, 1) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fakesound demo: error:") and "\n" not in err
    assert "request.clips 12 -> 8" in err and "request.seed 0 -> 1" in err and "--overwrite" in err
    assert _files(out) == before  # nothing touched
    assert _demo(out, 8, 1, "--overwrite") == 0
    assert _demo(fresh, 8, 1) == 0
    assert _files(out) == _files(fresh)  # replaced cleanly: no clip of the old corpus is left


def test_source_shards_built_into_one_folder_make_one_manifest(tmp_path):
    demo = tmp_path / "demo"
    assert _demo(demo, 24, 2) == 0
    sources = read_manifest(demo / "sources" / "sources.jsonl")
    shards = [sources[::2], sources[1::2]]
    for i, shard in enumerate(shards):
        write_manifest(demo / "sources" / f"shard{i}.jsonl", shard)

    def build(out: Path, manifest: str) -> int:
        return main(["build", "--sources", str(demo / "sources" / manifest), "--out", str(out), "--seed", "2",
                     "--quiet"])

    merged = tmp_path / "merged"
    for i in range(2):
        assert build(merged, f"shard{i}.jsonl") == 0
        assert build(tmp_path / f"alone{i}", f"shard{i}.jsonl") == 0
    assert build(merged, "shard0.jsonl") == 0  # a shard run again (a resume) keeps the other shard's clips
    lines = (merged / MANIFEST).read_text().splitlines()
    alone = [line for i in range(2) for line in (tmp_path / f"alone{i}" / MANIFEST).read_text().splitlines()]
    assert sorted(lines) == sorted(alone) and len(lines) == 2 * len(sources)  # exactly the union
    assert lines == [line for r in read_manifest(merged / MANIFEST) for line in [_line(r)]]
    # One run over all sources makes the same source clips, but not the same bytes: splits, backends and donors
    # are drawn over the whole set of sources a run is given (see README, "Corpus folders").
    assert build(tmp_path / "whole", "sources.jsonl") == 0
    whole = read_manifest(tmp_path / "whole" / MANIFEST)
    assert {r.source_id for r in whole} == {r.source_id for r in read_manifest(merged / MANIFEST)}


def _line(record) -> str:
    from pipeline.manifest import dumps_record

    return dumps_record(record)
