"""The blind sequence: balanced, seeded per participant, one clip per source while possible."""

from __future__ import annotations

import pytest

from listen.config import SessionConfig, load_session_config
from listen.sampler import draw_trials
from pipeline.manifest import read_manifest

ALL_SPLITS = ("train", "val", "test")


def test_balanced_seeded_and_distinct_sources(corpus):
    records = read_manifest(corpus / "manifest.jsonl")
    session = SessionConfig(trials=4, splits=ALL_SPLITS, seed=7)
    first = draw_trials(records, session, participant=1)
    assert [r.id for r in first] == [r.id for r in draw_trials(records, session, participant=1)]
    assert sum(r.label for r in first) == 2 and len(first) == 4
    assert len({r.source_id for r in first}) == 4  # never a real clip next to its own fake
    others = {tuple(r.id for r in draw_trials(records, session, participant=p)) for p in range(1, 9)}
    assert len(others) > 1


def test_fills_from_used_sources_when_short_and_refuses_too_few(corpus):
    records = read_manifest(corpus / "manifest.jsonl")
    trials = draw_trials(records, SessionConfig(trials=10, splits=ALL_SPLITS), participant=3)
    assert len({r.id for r in trials}) == 10 and sum(r.label for r in trials) == 5
    with pytest.raises(ValueError, match="need 6 fake and 6 real"):
        draw_trials(records, SessionConfig(trials=12, splits=ALL_SPLITS), participant=1)
    with pytest.raises(ValueError, match="have 1 fake and 1 real"):
        draw_trials(records, SessionConfig(trials=4), participant=1)  # default: the test split only


def test_manipulation_filter_and_config_file(corpus, tmp_path):
    records = read_manifest(corpus / "manifest.jsonl")
    cfg = tmp_path / "session.toml"
    cfg.write_text('[session]\ntrials = 4\nsplits = ["train", "val", "test"]\nmanipulations = ["splice"]\n')
    session = load_session_config(cfg)
    assert session == SessionConfig(trials=4, splits=ALL_SPLITS, manipulations=("splice",))
    assert {r.manipulation for r in draw_trials(records, session, 2) if r.label} == {"splice"}
    cfg.write_text("[session]\ntrails = 4\n")
    with pytest.raises(ValueError, match="unknown session settings"):
        load_session_config(cfg)
