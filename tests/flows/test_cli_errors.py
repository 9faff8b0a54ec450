"""CLI errors: project errors and bad input are one line with the same prefix for every sub-command; a bug keeps
its traceback; ``--debug`` shows tracebacks always; ``--version`` names the package version."""

from __future__ import annotations

import importlib.metadata

import pytest

import flows.cli_build
from flows.cli import main


def test_project_errors_are_one_prefixed_line(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["build", "--sources", "s.jsonl", "--out", out, "--steps", "5"]) == 2  # weight-free has no steps
    err = capsys.readouterr().err
    assert err.startswith("fakesound build: error: recipe 'weight-free' has no setting 'steps'; known:")
    assert err.count("\n") == 1
    assert main(["push", "--corpus", str(tmp_path), "--repo-id", "me/x", "--dry-run", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fakesound push: error:") and err.count("\n") == 1


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a programming error")

    monkeypatch.setattr(flows.cli_build, "build", broken)
    with pytest.raises(KeyError, match="a programming error"):  # not swallowed into a one-line "error:"
        main(["demo", "--out", str(tmp_path / "o"), "--clips", "2", "--quiet"])


def test_debug_shows_the_traceback_of_project_errors(tmp_path, capsys):
    assert main(["--debug", "build", "--sources", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "source manifest not found" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fakesound {importlib.metadata.version('fakesound')}"
