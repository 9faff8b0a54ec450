"""The app over HTTP: a participant's session, no answer key on participant pages, the inspector's key, path
escapes refused, answers that cannot be changed or written for someone else."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from listen.app import create_app
from listen.config import SessionConfig
from listen.inspector_routes import ADMIN_COOKIE
from pipeline.manifest import read_manifest, write_manifest

KEY = "inspector-key-for-tests"
SESSION = SessionConfig(trials=4, splits=("train", "val", "test"), seed=3)


@pytest.fixture
def app(corpus, tmp_path):
    return create_app(corpus, tmp_path / "answers.sqlite", SESSION, admin_key=KEY)


def _secrets(corpus) -> set[str]:
    """Strings that would give an answer away: clip and source ids, file names, manipulations, generators."""
    out = set()
    for r in read_manifest(corpus / "manifest.jsonl"):
        out |= {r.id, r.source_id, r.audio_path.rsplit("/", 1)[-1], r.manipulation, r.generator}
    return out - {"", "real"}  # "real" is an answer button, not a clue


def test_participant_session_reveals_nothing_and_cannot_go_back(app, corpus):
    secrets = _secrets(corpus)
    seen = []
    with TestClient(app) as client:
        page = client.get("/test")
        assert page.status_code == 200 and "test.js" in page.text
        seen += [page.text, client.get("/static/test.js").text, client.get("/static/wave.js").text]
        assert client.get("/api/trial").json() == {"started": False}
        assert client.post("/api/start", json={"name": "P01"}).json() == {"resumed": False}
        for i in range(4):
            state = client.get("/api/trial").json()
            seen.append(json.dumps(state))
            assert state["index"] == i and state["answered"] == i and state["total"] == 4
            audio = client.get(state["audio"])
            assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
            seen.append(json.dumps(dict(audio.headers)))
            assert {"etag", "last-modified", "content-disposition"}.isdisjoint(audio.headers)
            if i:
                assert client.get(f"/api/trial/{i - 1}/audio").status_code == 404  # past trials are gone
                again = client.post(f"/api/trial/{i - 1}/answer", json={"answer": "real", "confidence": 3})
                assert again.status_code == 409  # no going back
            assert client.get(f"/api/trial/{i + 1}/audio").status_code == 404  # nor ahead
            body = {"answer": "fake", "confidence": 4, "regions": [[0.1, 0.2]], "response_ms": 900, "replays": 1}
            assert client.post(f"/api/trial/{i}/answer", json=body).json() == {"answered": i + 1, "total": 4}
        done = client.get("/api/trial").json()
        assert done == {"started": True, "done": True, "answered": 4, "total": 4}
        for path in ("/inspect", "/api/inspect/facets", "/api/inspect/clips", "/api/inspect/clip/trainsrc0"):
            assert client.get(path).status_code == 403  # the inspector is closed without the key
    leaked = [s for s in secrets if any(s in text for text in seen)]
    assert leaked == []


def test_answers_validated_and_participants_isolated(app):
    with TestClient(app) as alice, TestClient(app) as bob:
        alice.post("/api/start", json={})
        assert bob.post("/api/trial/0/answer", json={"answer": "real", "confidence": 1}).status_code == 403
        bob.post("/api/start", json={"name": "bob"})
        bad = [{"answer": "maybe", "confidence": 3}, {"answer": "real", "confidence": 9},
               {"answer": "fake", "confidence": 2, "regions": [[0.3, 0.1]]}, {"answer": "fake", "regions": "x"}]
        for body in bad:
            assert alice.post("/api/trial/0/answer", json=body).status_code == 400, body
        assert alice.post("/api/trial/0/answer", json={"answer": "real", "confidence": 2}).status_code == 200
        assert bob.get("/api/trial").json()["answered"] == 0  # Bob's session is his own
        assert bob.post("/api/trial/0/answer", json={"answer": "fake", "confidence": 5,
                                                     "regions": [[0.3, 0.9], [0.25, 0.35]]}).status_code == 200
        assert alice.post("/api/start", json={}).json() == {"resumed": True}
        alice.post("/api/leave", json={})
        assert alice.get("/api/trial").json() == {"started": False}
    store = app.state.store
    import sqlite3

    with sqlite3.connect(store.path) as con:
        rows = con.execute("SELECT participant_id, idx, answer, regions FROM answers ORDER BY 1").fetchall()
    assert rows == [(1, 0, 0, "[]"), (2, 0, 1, "[[0.25, 0.5]]")]  # merged and clipped to the 0.5 s clip


def test_inspector_needs_key_and_serves_clips(app):
    with TestClient(app) as client:
        assert client.get("/inspect?key=wrong").status_code == 403
        entered = client.get("/inspect?key=" + KEY + "&clip=a%26b", follow_redirects=False)
        assert entered.status_code == 303 and entered.headers["location"] == "/inspect?clip=a%26b"
        assert KEY not in entered.headers["location"] and client.cookies.get(ADMIN_COOKIE) == KEY
        assert "inspect.js" in client.get("/inspect?clip=trainsrc0").text
        facets = client.get("/api/inspect/facets").json()
        assert facets["split"] == ["test", "train", "val"] and facets["manipulation"] == ["addition", "real", "splice"]
        assert [c["id"] for c in client.get("/api/inspect/clips?split=train&manipulation=splice").json()] == [
            "trainsrc0_0.2_0.4", "trainsrc2_0.2_0.4"]
        clip = client.get("/api/inspect/clip/trainsrc0_0.2_0.4").json()
        assert clip["segments"] == [[0.2, 0.4]] and clip["duration"] == 0.5 and len(clip["peaks"]) == 800
        assert [p["id"] for p in clip["partners"]] == ["trainsrc0"]
        assert client.get("/api/inspect/clip/trainsrc0_0.2_0.4/spectrogram.png").content[:4] == b"\x89PNG"
        assert client.get("/api/inspect/clip/trainsrc0/audio").content[:4] == b"RIFF"
        assert client.get("/api/inspect/clip/trainsrc0/scores").status_code == 404  # no checkpoint given


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fstore.py", "/static/%2e%2e%2f%2e%2e/pyproject.toml",
    "/api/inspect/clip/..%2fmanifest.jsonl/audio", "/api/inspect/clip/%2e%2e/audio",
    "/api/inspect/clip/../../etc/passwd",
    "/manifest.jsonl", "/answers.sqlite", "/audio/train/trainsrc0.wav", "/static/../../corpus/manifest.jsonl",
])
def test_path_escapes_refused(app, path):
    with TestClient(app) as client:
        client.get("/inspect?key=" + KEY)
        response = client.get(path)
        assert response.status_code in (403, 404, 405), (path, response.status_code)
        assert b"import" not in response.content and b"trainsrc" not in response.content


def test_manifest_paths_outside_the_corpus_are_not_served(corpus, tmp_path):
    secret = tmp_path / "secret.wav"
    records = read_manifest(corpus / "manifest.jsonl")
    secret.write_bytes((corpus / records[0].audio_path).read_bytes())
    records[0].audio_path = "../secret.wav"
    records[1].audio_path = str(secret)
    write_manifest(corpus / "manifest.jsonl", records)
    app = create_app(corpus, tmp_path / "a.sqlite", SESSION, admin_key=KEY)
    rejected = app.state.index.rejected
    assert len(rejected) == 2 and all("outside the corpus folder" in line for line in rejected)
    with TestClient(app) as client:
        client.get("/inspect?key=" + KEY)
        for record in records[:2]:
            assert client.get(f"/api/inspect/clip/{record.id}/audio").status_code == 404
        assert client.get(f"/api/inspect/clip/{records[2].id}/audio").status_code == 200


def test_detector_scores_computed_once_and_cached_on_disk(corpus, tmp_path, tiny_detector_checkpoint, monkeypatch):
    from listen import media

    calls = []
    real_load = media.DetectorScores._load
    monkeypatch.setattr(media.DetectorScores, "_load", lambda self: calls.append(1) or real_load(self))
    make = lambda: create_app(corpus, tmp_path / "a.sqlite", SESSION, admin_key=KEY,  # noqa: E731
                              checkpoint=tiny_detector_checkpoint, cache_dir=tmp_path / "cache")
    with TestClient(make()) as client:
        client.get("/inspect?key=" + KEY)
        first = client.get("/api/inspect/clip/trainsrc0_0.2_0.4/scores").json()
        assert client.get("/api/inspect/clip/trainsrc0_0.2_0.4/scores").json() == first
        assert len(first["frame_scores"]) == 25 and 0 <= first["score"] <= 1 and first["frame_s"] == 0.02
    assert len(calls) == 1 and len(list((tmp_path / "cache").rglob("*.json"))) == 1
    monkeypatch.setattr(media.DetectorScores, "_load", lambda self: pytest.fail("recomputed a cached clip"))
    with TestClient(make()) as client:  # a restarted server reads the disk cache
        client.get("/inspect?key=" + KEY)
        assert client.get("/api/inspect/clip/trainsrc0_0.2_0.4/scores").json() == first


def test_fakesound_json_corpus(corpus, tmp_path):
    """FakeSound's own metadata (no durations, split = file stem) works as the manifest."""
    from pipeline.fakesound_format import write_fakesound_json

    write_fakesound_json(corpus / "meta" / "easy.json", read_manifest(corpus / "manifest.jsonl"))
    with pytest.raises(ValueError, match=r"splits in the corpus: \['easy'\]"):
        create_app(corpus, tmp_path / "a.sqlite", SESSION, manifest="meta/easy.json")
    app = create_app(corpus, tmp_path / "a.sqlite", SessionConfig(trials=2, splits=("easy",)), admin_key=KEY,
                     manifest="meta/easy.json")
    assert app.state.index.rejected == [] and len(app.state.index.records) == 10
    with TestClient(app) as client:
        client.post("/api/start", json={})
        state = client.get("/api/trial").json()
        assert state["duration"] == 0.5
        answer = {"answer": "fake", "confidence": 3, "regions": [[0.2, 0.4]]}
        assert client.post("/api/trial/0/answer", json=answer).status_code == 200
        client.get("/inspect?key=" + KEY)
        # FakeSound JSON does not say how a fake was made: its fakes are "unknown"
        assert client.get("/api/inspect/facets").json()["manipulation"] == ["real", "unknown"]
