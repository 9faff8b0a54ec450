"""`fakesound listen` on the command line: safe defaults, a real server process killed mid-session."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flows.cli import main
from listen.inspector_routes import ADMIN_COOKIE
from listen.participant_routes import PARTICIPANT_COOKIE
from listen.server import is_loopback

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_safe():
    from flows.cli import build_parser

    args = build_parser().parse_args(["listen", "--corpus", "c"])
    assert args.host == "127.0.0.1" and is_loopback(args.host) and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert PARTICIPANT_COOKIE != ADMIN_COOKIE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(corpus: Path, answers: Path, port: int) -> subprocess.Popen:
    """``fakesound listen`` in its own process, returned once it accepts connections."""
    cmd = [sys.executable, "-m", "flows.cli", "listen", "--corpus", str(corpus), "--answers", str(answers),
           "--port", str(port), "--trials", "4", "--splits", "train", "val", "test", "--seed", "5"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/test", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("server did not start in 60 s")


def test_killed_server_keeps_every_submitted_answer_and_resumes(corpus, tmp_path):
    answers, port = tmp_path / "answers.sqlite", free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(corpus, answers, port)
    try:
        client = httpx.Client(base_url=base)
        assert httpx.get(f"{base}/test", headers={"host": "rebound.example"}).status_code == 400  # DNS rebinding
        client.post("/api/start", json={"name": "P1"})
        for i in range(2):
            assert client.post(f"/api/trial/{i}/answer", json={"answer": "real", "confidence": 3}).status_code == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with sqlite3.connect(answers) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT participant_id, idx FROM answers").fetchall() == [(1, 0), (1, 1)]
    proc = start_server(corpus, answers, port)
    try:
        state = client.get("/api/trial").json()  # same browser cookie: the participant carries on at trial 3
        assert (state["index"], state["answered"], state["total"]) == (2, 2, 4)
        for i in (2, 3):
            assert client.post(f"/api/trial/{i}/answer", json={"answer": "fake", "confidence": 5,
                                                               "regions": [[0.2, 0.4]]}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert main(["listen", "--answers", str(answers), "--export-csv", str(tmp_path / "a.csv")]) == 0
    assert len((tmp_path / "a.csv").read_text().splitlines()) == 5
    assert main(["benchmark", "--human", str(answers), "--out", str(tmp_path / "bench"), "--bootstrap", "20"]) == 0
    assert "| humans |" in (tmp_path / "bench" / "results.md").read_text()
    assert main(["benchmark", "--checkpoint", "ckpt", "--out", str(tmp_path / "b2")]) == 2  # manifest missing


def test_build_prints_the_inspect_command_and_benchmark_flow_takes_answers(corpus, tmp_path, capsys):
    from answers_helpers import scripted_answers

    from flows.detector_flows import benchmark_detector

    assert main(["demo", "--out", str(tmp_path / "my demo"), "--clips", "4", "--quiet"]) == 0
    assert f"fakesound listen --corpus '{tmp_path / 'my demo'}'" in capsys.readouterr().out
    db = scripted_answers(corpus, tmp_path / "a.sqlite").path
    results = benchmark_detector.fn(str(tmp_path / "bench"), n_boot=0, human_answers=[str(db)])
    assert {r["checkpoint"] for r in results["rows"]} == {"humans"}
