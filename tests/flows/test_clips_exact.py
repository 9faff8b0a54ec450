"""``--clips N`` gives exactly N clips, or says why before anything is written (demo clips come in pairs)."""

from __future__ import annotations

import pytest

from flows.build import build_demo, thread_executor
from flows.cli import main


@pytest.mark.parametrize("clips", [2, 10])
def test_demo_makes_exactly_the_clips_asked_for(clips, tmp_path):
    records, rejections = build_demo(tmp_path / "c", clips, 1, executor=thread_executor(2, progress=False))
    assert len(records) == clips and sum(r.label for r in records) == clips // 2 and not rejections


@pytest.mark.parametrize(("clips", "advice"), [("7", "use 6 or 8"), ("1", "must be even: use 2")])
def test_an_odd_count_is_refused_in_one_line_before_any_file(clips, advice, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["demo", "--out", str(out), "--clips", clips, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fakesound demo: error: clips={clips}: ") and advice in err and "\n" not in err
    assert not out.exists()


def test_help_states_the_pair_rule(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "an even number" in " ".join(capsys.readouterr().out.split())
