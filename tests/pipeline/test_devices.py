"""Device resolution: a GPU index the process cannot see fails at once with what to use instead."""

from __future__ import annotations

import pytest
import torch

from pipeline.devices import resolve_device, runtime
from pipeline.errors import ConfigError


def test_auto_and_plain_names_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert runtime("cpu") == {"device": "cpu", "dtype": "float32"}


def test_an_index_beyond_the_visible_gpus_names_the_pinning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ConfigError, match=r"'cuda:1'.*sees 1 GPU\(s\) \(CUDA_VISIBLE_DEVICES=3\).*device=cuda"):
        resolve_device("cuda:1")
