"""Prefect for the flow tests: one temporary API server (SQLite in a temp dir) for the whole session,
``PREFECT_HOME`` and result storage in temp dirs, no telemetry; and the local Hub stand-in."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import soundfile as sf
from hub_standin import HubStandin

from pipeline.audio_io import read_audio
from pipeline.manifest import ClipRecord


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """Run flows against a throwaway Prefect server (started once: it takes ~10-40 s on 2 cores)."""
    from prefect.settings import (
        PREFECT_HOME,
        PREFECT_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect_home")
    updates = {PREFECT_HOME: str(home), PREFECT_LOCAL_STORAGE_PATH: str(home / "results"),
               PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=240):
        yield


@pytest.fixture
def kit_sources(tmp_path, kit_dir):
    """``kit_sources(names, caption)``: the demo kit's recordings ``names`` copied into ``tmp_path``, as real source
    records (ids without the extension) to build from."""

    def copy(names, caption):
        records = []
        for name in names:
            audio, rate = read_audio(kit_dir / name)
            sf.write(tmp_path / name, audio, rate)
            records.append(ClipRecord(id=name.split(".")[0], label=0, audio_path=name, caption=caption))
        return records

    return copy


@pytest.fixture
def hub(monkeypatch):
    """The Hub stand-in on 127.0.0.1, made the default endpoint; the client uses the LFS path (no Xet)."""
    with HubStandin() as standin:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", standin.endpoint)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", "hf_standin")
        yield standin
