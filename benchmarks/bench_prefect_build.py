"""Prefect at scale: a weight-free build through a served deployment on a loopback server, against the plain CLI.

Composes the demo sources once, then builds the same source manifest twice — with ``fakesound build`` and with
``prefect deployment run build-fakesound/default --watch`` against ``fakesound serve`` on a fresh loopback server —
and prints: wall time of each (the Prefect one includes scheduling and the run's start), the overhead, task runs,
the server's SQLite size, and the API latency of the queries a run page makes (flow run, its task runs, artifacts,
logs; median of 5). Usage: ``python benchmarks/bench_prefect_build.py [--clips 20000] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _latency(call, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _page_queries(flow_run_id) -> dict[str, float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        return {
            "flow run (ms)": _latency(lambda: client.read_flow_run(flow_run_id)),
            "its task runs, 200 (ms)": _latency(lambda: client.read_task_runs(flow_run_filter=runs, limit=200)),
            "artifacts (ms)": _latency(lambda: client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))),
            "logs, 200 (ms)": _latency(lambda: client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200)),
            "task runs": float(client._client.post("/task_runs/count", json={
                "flow_runs": {"id": {"any_": [str(flow_run_id)]}}}).json()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-prefect-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PREFECT_HOME": str(work / "home"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_CLI_PROMPT": "false"}
    port = _free_port()
    env["PREFECT_API_URL"] = api = f"http://127.0.0.1:{port}/api"
    os.environ.update({k: env[k] for k in ("PREFECT_HOME", "PREFECT_API_URL")})

    from pipeline.compose import compose_demo_sources

    manifest, _ = compose_demo_sources(work / "sources", args.clips // 2, args.seed)
    fakesound = [sys.executable, "-m", "flows.cli"]
    started = time.perf_counter()
    subprocess.run([*fakesound, "build", "--sources", str(manifest), "--out", str(work / "cli"), "--seed",
                    str(args.seed), "--workers", str(args.workers), "--quiet"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    cli_s = time.perf_counter() - started

    procs = []
    try:
        procs.append(subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                       str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        _wait(f"{api}/health", 180)
        procs.append(subprocess.Popen([*fakesound, "serve", "--only", "build-fakesound/default"], env=env, cwd=work,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        _wait(f"{api}/deployments/name/build-fakesound/default", 120)
        started = time.perf_counter()
        subprocess.run([str(BIN / "prefect"), "deployment", "run", "build-fakesound/default", "--param",
                        f"sources={manifest}", "--param", f"out={work / 'prefect'}", "--param", f"seed={args.seed}",
                        "--param", f"workers={args.workers}", "--watch", "--watch-timeout", "86400"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        prefect_s = time.perf_counter() - started

        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            (run,) = client.read_flow_runs()
        queries = _page_queries(run.id)
        same = (work / "cli" / "manifest.jsonl").read_bytes() == (work / "prefect" / "manifest.jsonl").read_bytes()
        result = {
            "clips": args.clips, "workers": args.workers, "cli wall (s)": round(cli_s, 1),
            "prefect wall (s)": round(prefect_s, 1), "overhead (%)": round(100 * (prefect_s / cli_s - 1), 1),
            "server db (MB)": round((work / "home" / "prefect.db").stat().st_size / 1e6, 1),
            "same manifest": same, **{k: round(v, 1) for k, v in queries.items()},
        }
        print(json.dumps(result, indent=1))
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
