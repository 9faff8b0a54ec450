"""Reading a Prefect run back from the API in tests."""

from __future__ import annotations


def run_logs(flow_run_id, until, timeout_s: float = 20.0) -> list[str]:
    """The run's log messages (logs reach the API in batches, so wait until ``until(messages)`` or the timeout)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout_s
    while True:
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        messages = [m.message for m in logs]
        if until(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.5)
