"""Missing weights stop a build at start-up: one line naming the checkpoint, exit 2, no progress bar, nothing
written (the out folder is not created, or left as it was), before any model loads; the flow ends Failed with the
reason. The preflight loads nothing, so it is cheap enough to run in the flow process."""

from __future__ import annotations

import json
import shutil

import huggingface_hub.constants
import pytest

from flows.build import build
from flows.cli import main
from pipeline.checkpoints import CheckpointUnavailable
from pipeline.errors import EXIT_ERROR
from pipeline.manifest import ClipRecord, write_manifest
from pipeline.requests import BuildRequest


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No Hub and an empty cache, as on a compute node where nothing was pre-downloaded."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))


@pytest.fixture
def sources(tmp_path, kit_dir):
    root = tmp_path / "src"
    root.mkdir()
    for name in ("rain", "river"):
        shutil.copy(kit_dir / f"bg_{name}.flac", root / f"{name}.flac")
    return write_manifest(root / "sources.jsonl", [ClipRecord(id=n, label=0, audio_path=f"{n}.flac", caption="water")
                                                   for n in ("rain", "river")])


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


def _fake_diffusers_folder(path, pipeline="AudioLDM2Pipeline", parts=("unet", "vae", "vocoder", "scheduler")):
    """A checkpoint folder in the diffusers layout, without weights (the preflight reads only its index)."""
    path.mkdir(parents=True)
    index = {"_class_name": pipeline, **{p: ["diffusers", "X"] for p in parts}, "feature_extractor": [None, None]}
    (path / "model_index.json").write_text(json.dumps(index))
    for part in parts:
        (path / part).mkdir()
    return path


@pytest.mark.parametrize("command", ["build", "demo"])
@pytest.mark.parametrize(("recipe", "checkpoint"), [("fakesound-train", "cvssp/audioldm2"),
                                                    ("fakesound-zeroshot", "cvssp/audioldm-s-full-v2")])
def test_cli_stops_in_one_line_and_writes_nothing(offline, sources, tmp_path, capsys, recipe, checkpoint, command):
    out = tmp_path / "corpus"
    args = ["--sources", str(sources)] if command == "build" else ["--clips", "2"]
    assert main([command, *args, "--out", str(out), "--recipe", recipe]) == EXIT_ERROR  # progress bar left on
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and checkpoint in lines[0] and "HF_HUB_OFFLINE" in lines[0], captured.err
    assert "%" not in captured.err + captured.out  # no progress bar before the message
    assert not out.exists()


def test_a_folder_holding_a_corpus_is_left_unchanged(offline, sources, tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["build", "--sources", str(sources), "--out", str(out), "--quiet"]) == 0  # a weight-free corpus
    before = _snapshot(out)
    assert main(["build", "--sources", str(sources), "--out", str(out), "--recipe", "fakesound-train",
                 "--overwrite"]) == EXIT_ERROR
    assert "cvssp/audioldm2" in capsys.readouterr().err
    assert _snapshot(out) == before  # not even the overwrite ran


def test_library_build_raises_before_touching_the_folder(offline, sources, tmp_path):
    out = tmp_path / "corpus"
    with pytest.raises(CheckpointUnavailable, match="cvssp/audioldm-s-full-v2"):
        build(BuildRequest(str(out), sources=str(sources), recipe="fakesound-zeroshot"))
    assert not out.exists()


def test_every_checkpoint_is_checked_not_only_the_first(offline, sources, tmp_path, capsys):
    """A local inpainting checkpoint that is there does not hide a missing AudioSR, CLAP or grounding model."""
    local = _fake_diffusers_folder(tmp_path / "audioldm2")
    out = tmp_path / "corpus"
    build_args = ["build", "--sources", str(sources), "--out", str(out), "--checkpoint", str(local)]
    assert main([*build_args, "--recipe", "fakesound-train"]) == EXIT_ERROR
    assert "haoheliu/audiosr_basic" in capsys.readouterr().err  # AudioSR after inpainting
    assert main([*build_args, "--recipe", "fakesound-train", "--audiosr", "debug", "--clap", "laion/clap"]) == 2
    assert "laion/clap" in capsys.readouterr().err  # the CLAP that scores best-of-N
    sr = tmp_path / "audiosr"
    sr.mkdir()
    (sr / "pytorch_model.bin").write_bytes(b"")
    assert main([*build_args, "--recipe", "fakesound-train", "--audiosr", str(sr), "--audiosr-config",
                 str(tmp_path / "arch.json"), "--n-candidates", "1"]) == EXIT_ERROR
    assert "arch.json not found" in capsys.readouterr().err  # the architecture JSON the request names
    assert main([*build_args, "--recipe", "debug-audioldm2", "--grounding-model", "tag"]) == EXIT_ERROR
    assert "wsntxxn/cnn8rnn-laionclap-audiocapsv2-grounding" in capsys.readouterr().err
    assert not out.exists()


def test_an_incomplete_or_wrong_local_checkpoint_is_named(offline, sources, tmp_path, capsys):
    out = tmp_path / "corpus"
    partial = _fake_diffusers_folder(tmp_path / "partial")
    shutil.rmtree(partial / "unet")
    v1 = _fake_diffusers_folder(tmp_path / "v1", pipeline="AudioLDMPipeline")
    base = ["build", "--sources", str(sources), "--out", str(out), "--recipe", "fakesound-train", "--audiosr", "debug"]
    assert main([*base, "--checkpoint", str(partial)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "lacks the unet/ folder" in err and "vae/" not in err.split("lacks")[1], err
    assert main([*base, "--checkpoint", str(v1)]) == EXIT_ERROR
    assert "AudioLDMPipeline checkpoint, this backend needs an AudioLDM2Pipeline" in capsys.readouterr().err
    assert not out.exists()


def test_cached_checkpoints_pass_the_preflight(offline, tmp_path):
    """In the cache (as ``hf download`` leaves it) the preflight passes without loading anything."""
    from regenerate.recipes import check_checkpoints, get_recipe

    cache = tmp_path / "empty-cache"
    cached = {"cvssp/audioldm2": ["model_index.json"], "haoheliu/audiosr_basic": ["pytorch_model.bin"]}
    for repo, files in cached.items():
        snapshot = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / "abc"
        snapshot.mkdir(parents=True)
        (cache / f"models--{repo.replace('/', '--')}" / "refs").mkdir()
        (cache / f"models--{repo.replace('/', '--')}" / "refs" / "main").write_text("abc")
        for name in files:
            (snapshot / name).write_text("{}")
    index = {"_class_name": "AudioLDM2Pipeline", "unet": ["diffusers", "X"]}
    (cache / "models--cvssp--audioldm2" / "snapshots" / "abc" / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointUnavailable, match="unet/"):
        check_checkpoints(get_recipe("fakesound-train"))
    (cache / "models--cvssp--audioldm2" / "snapshots" / "abc" / "unet").mkdir()
    check_checkpoints(get_recipe("fakesound-train"))


def test_flow_fails_with_the_reason_before_any_task(prefect_api, offline, sources, tmp_path):
    from flows.build_flow import build_fakesound

    out = tmp_path / "corpus"
    state = build_fakesound(out=str(out), sources=str(sources), recipe="fakesound-train", return_state=True)
    assert state.is_failed() and "cvssp/audioldm2 is not available" in str(state.message), state.message
    assert not out.exists()


def test_the_preflight_imports_no_model_code(tmp_path):
    """Cheap enough for the flow process: neither torch nor diffusers is imported to check the checkpoints."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom grounding.source import check_grounder, grounder_settings\n"
            "from regenerate.recipes import check_checkpoints, get_recipe\n"
            "for check in (lambda: check_checkpoints(get_recipe('fakesound-zeroshot')),\n"
            "              lambda: check_grounder(grounder_settings('tag'))):\n"
            "    try:\n        check()\n    except Exception as err:\n        print(type(err).__name__)\n"
            "print(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules))\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.split() == ["CheckpointUnavailable", "CheckpointUnavailable", "[]"], out
