"""Prefect for the flow tests: one temporary API server (SQLite in a temp dir) for the whole session,
``PREFECT_HOME`` and result storage in temp dirs, no telemetry; and the local Hub stand-in."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
from hub_standin import HubStandin


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
def hub(monkeypatch):
    """The Hub stand-in on 127.0.0.1, made the default endpoint; the client uses the LFS path (no Xet)."""
    with HubStandin() as standin:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", standin.endpoint)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
        monkeypatch.setenv("HF_TOKEN", "hf_standin")
        yield standin
