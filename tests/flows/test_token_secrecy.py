"""The Hub token never reaches a log, an artifact, an error message or a published file, even when the Hub
(here the local stand-in) quotes the request's ``Authorization`` header back in its error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tiny_corpus import make_tiny_corpus

from flows.cli import main

REPO = "fakesound-tests/secret"
SENTINEL = "hf_SENTINELtoken0123456789abcdefXYZ"
ECHO = "Forbidden for {authorization}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    make_tiny_corpus(root, seed=3)
    return root


@pytest.fixture
def sentinel_env(hub, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    caplog.set_level(logging.DEBUG)  # every library's debug logging, httpx and huggingface_hub included
    return hub


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert SENTINEL not in text and SENTINEL[3:] not in text


def test_cli_push_failure_and_success_never_print_the_token(sentinel_env, corpus, capfd, caplog):
    hub = sentinel_env
    hub.state.fail["commit"] = (403, ECHO)
    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO, "--token", SENTINEL]) == 2
    out, err = capfd.readouterr()
    errors = [line for line in err.splitlines() if "error" in line]  # (datasets' progress bars share stderr)
    assert len(errors) == 1 and errors[0].startswith("fakesound push: error: push to") and "hf_***" in errors[0]
    # httpcore's DEBUG trace prints response headers, so there the server's own echo shows; nothing above it may
    _assert_clean(out, err, *(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO))
    caplog.clear()
    assert main(["push", "--corpus", str(corpus), "--repo-id", REPO]) == 0  # token from HF_TOKEN
    out2, err2 = capfd.readouterr()
    assert "new commit" in out2
    _assert_clean(out2, err2, caplog.text, *(r.getMessage() for r in caplog.records))  # DEBUG included
    files = hub.repo(REPO).head.files
    _assert_clean(*(b.decode("latin-1") for b in files.values()))


def test_push_flow_logs_artifacts_and_states_never_hold_the_token(prefect_api, sentinel_env, corpus, monkeypatch):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    import flows.hub

    hub = sentinel_env
    monkeypatch.setattr(flows.hub, "push_task", flows.hub.push_task.with_options(retry_delay_seconds=0))
    hub.state.fail["commit"] = (503, ECHO)  # transient: logged with its traceback, retried, then committed
    retried = flows.hub.push_to_hub(corpus=str(corpus), repo_id=REPO, return_state=True)
    hub.state.fail["commit"] = (403, ECHO)  # final failure: the flow run's state message carries the error
    failed = flows.hub.push_to_hub(corpus=str(corpus), repo_id=REPO, splits=["train"], return_state=True)
    assert retried.is_completed() and failed.is_failed()
    APILogWorker.drain_all(timeout=10)

    async def read_back(run_id):
        async with get_client() as client:
            logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            artifacts = await client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            run = await client.read_flow_run(run_id)
        return [log.message for log in logs], [repr(a.data) + repr(a.description) for a in artifacts], run

    texts = []
    for state in (retried, failed):
        logs, artifacts, run = asyncio.run(read_back(state.state_details.flow_run_id))
        texts += [*logs, *artifacts, str(run.state.message), repr(run.parameters)]
    assert any("hf_***" in t for t in texts), "the masked error should be visible in the logs"
    assert any("Traceback" in t or "PublishError" in t for t in texts)
    _assert_clean(*texts, repr(failed.result(raise_on_failure=False)), str(failed.message))
