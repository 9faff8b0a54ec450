"""No checkpoint loader unpickles arbitrary objects unless asked: each loader is given a file whose pickle would
run code (touch a marker file) and must refuse it with a clear error, the marker never appearing.

Loaders covered (``grep -rn "torch.load\\|pickle" --include=*.py`` lists them): the detector's training state
(resume), EAT fairseq ``.pt``, AudioSR ``pytorch_model.bin``, and the AudioLDM components diffusers and
transformers load from ``.bin`` files (the detector's own weights are safetensors, which cannot hold code).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch


class Payload:
    """Unpickling this touches ``marker``: the stand-in for code a crafted checkpoint would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _poison(path: Path, marker: Path, state: dict | None = None) -> Path:
    """Write ``state`` (tensors) plus the payload, as ``torch.save`` does for a real checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**(state or {"w": torch.zeros(2)}), "payload": Payload(marker)}, path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "code-ran"


def test_the_payload_really_runs_code_when_unpickled(tmp_path, marker):
    """Guards the tests below: a plain ``weights_only=False`` load does run the payload."""
    torch.load(_poison(tmp_path / "x.pt", marker), weights_only=False)
    assert marker.exists()


def test_resume_refuses_a_training_state_with_objects(tmp_path, marker, monkeypatch):
    train_module = importlib.import_module("detector.train")  # (the package re-exports a function named train)

    out = tmp_path / "run"
    _poison(out / train_module.STATE_FILE, marker)
    monkeypatch.setattr(train_module, "load_corpus", lambda corpus: [])
    monkeypatch.setattr(train_module, "train_val_records", lambda *a: ([], []))
    monkeypatch.setattr(train_module, "make_dataset", lambda *a: [])
    with pytest.raises(ValueError, match="not unpickled") as err:
        train_module.train(tmp_path, out, resume=True)
    assert "\n" not in str(err.value) and not marker.exists()


def test_eat_fairseq_checkpoint_needs_trust_pickle(tmp_path, marker):
    from detector.frontends.eat.frontend import read_fairseq_checkpoint

    path = _poison(tmp_path / "checkpoint.pt", marker, {"model": {"w": torch.zeros(2)}})
    with pytest.raises(Exception, match="trust_pickle=True"):
        read_fairseq_checkpoint(path)
    assert not marker.exists()
    read_fairseq_checkpoint(path, trust_pickle=True)  # asked for: then, and only then, it unpickles
    assert marker.exists()


def test_audiosr_checkpoint_is_not_unpickled(tmp_path, marker):
    from regenerate.audiosr import AudioSRLoadError
    from regenerate.audiosr.loading import read_checkpoint

    path = _poison(tmp_path / "pytorch_model.bin", marker, {"state_dict": {"w": torch.zeros(2)}})
    with pytest.raises(AudioSRLoadError, match="cannot read checkpoint"):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("part", ["unet", "text_encoder"])
def test_audioldm_components_from_bin_files_are_not_unpickled(tmp_path, marker, part):
    import tiny_models
    from safetensors.torch import load_file

    from regenerate.audioldm.audioldm1 import AudioLDMInpainter
    from regenerate.audioldm.loading import CheckpointUnavailableError

    folder = tiny_models.save_checkpoint(tiny_models.audioldm_components(tmp_path / "parts"), tmp_path / "ckpt")
    (weights,) = (folder / part).glob("*.safetensors")
    state = load_file(str(weights))
    weights.unlink()
    bin_name = "diffusion_pytorch_model.bin" if part == "unet" else "pytorch_model.bin"
    _poison(folder / part / bin_name, marker, state)
    with pytest.raises(CheckpointUnavailableError, match=part):
        AudioLDMInpainter.from_pretrained(folder, device="cpu")
    assert not marker.exists()
