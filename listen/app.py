"""The Starlette app: a participant's blind test at ``/test`` and the experimenter's inspector at ``/inspect``.

Two audiences, two doors:

* participants get a random token cookie and see only their *current* trial: its audio and waveform come
  from ``/api/trial/<n>/...``, where ``n`` is the trial number, never a clip id, file name or label;
* the inspector shows everything (ids, labels, regions, detector scores), so it needs the experimenter's key:
  ``/inspect?key=KEY`` (printed at start) sets a cookie; without it every inspector route answers 403.

Only two kinds of file are ever read: each manifest record's audio (looked up by clip id, resolved inside the
corpus folder when the index is built) and the app's own static files.
"""

from __future__ import annotations

import functools
import hmac
import importlib.resources
import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from detector.human import CONFIDENCE_LEVELS
from listen.config import SessionConfig
from listen.corpus import CorpusIndex
from listen.media import DetectorScores, clip_media, spectrogram_png
from listen.sampler import draw_trials
from listen.store import AnswerRejected, AnswerStore
from pipeline.audio_io import read_audio

PARTICIPANT_COOKIE = "fakesound_participant"
ADMIN_COOKIE = "fakesound_inspector"
STATIC_DIR = Path(str(importlib.resources.files("listen") / "static"))
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _audio_response(path: Path) -> Response:
    """The file's bytes with a neutral type and no name, date or ETag (nothing that differs by clip but audio)."""
    media = "audio/flac" if path.suffix.lower() == ".flac" else "audio/wav"
    return Response(path.read_bytes(), media_type=media)


def create_app(
    corpus: str | Path, answers: str | Path, session: SessionConfig | None = None, admin_key: str = "",
    checkpoint: str | Path | None = None, cache_dir: str | Path | None = None,
) -> Starlette:
    """The app over a corpus folder; ``admin_key`` opens the inspector (empty: inspector closed)."""
    index = CorpusIndex.load(corpus)
    store = AnswerStore(answers)
    session = session or SessionConfig()
    draw_trials(index.records.values(), session, 1)  # fail at start, not at the first participant
    scores = DetectorScores(checkpoint, cache_dir or Path(corpus) / ".cache" / "listen") if checkpoint else None

    def participant(request: Request) -> int | None:
        return store.participant(request.cookies.get(PARTICIPANT_COOKIE))

    def is_admin(request: Request) -> bool:
        given = request.cookies.get(ADMIN_COOKIE, "")
        return bool(admin_key) and hmac.compare_digest(given.encode(), admin_key.encode())

    def clip_or_404(clip_id: str):
        record = index.records.get(clip_id)
        if record is None:
            raise _NotFound
        return record

    @functools.lru_cache(maxsize=256)
    def media_of(clip_id: str) -> dict[str, Any]:
        return clip_media(index.audio_path(clip_id))

    @functools.lru_cache(maxsize=64)
    def spectrogram_of(clip_id: str) -> bytes:
        return spectrogram_png(*read_audio(index.audio_path(clip_id)))

    # ---- participant -------------------------------------------------------------------------------------
    async def start(request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        name = str(body.get("name", "")) if isinstance(body, dict) else ""
        existing = participant(request)
        if existing is not None:
            return JSONResponse({"resumed": True})
        token, _ = store.create_participant(
            name, session, lambda n: draw_trials(index.records.values(), session, n), index.manifest_name
        )
        response = JSONResponse({"resumed": False})
        response.set_cookie(PARTICIPANT_COOKIE, token, httponly=True, samesite="strict", max_age=7 * 86400)
        return response

    def leave(request: Request) -> Response:
        """Forget this browser's participant (the answers stay): the next person starts afresh."""
        response = JSONResponse({"left": True})
        response.delete_cookie(PARTICIPANT_COOKIE, httponly=True, samesite="strict")
        return response

    def trial_state(request: Request) -> Response:
        who = participant(request)
        if who is None:
            return JSONResponse({"started": False})
        trial = store.current_trial(who)
        answered, total = store.progress(who)
        if trial is None:
            return JSONResponse({"started": True, "done": True, "answered": answered, "total": total})
        media = media_of(trial.clip_id)
        return JSONResponse({
            "started": True, "done": False, "index": trial.index, "answered": answered, "total": total,
            "duration": media["duration"], "peaks": media["peaks"], "confidence_levels": CONFIDENCE_LEVELS,
            "audio": f"/api/trial/{trial.index}/audio",
        })

    def trial_audio(request: Request) -> Response:
        who = participant(request)
        trial = store.current_trial(who) if who is not None else None
        if trial is None or request.path_params["index"] != trial.index:
            return JSONResponse({"error": "not your current trial"}, status_code=404)
        return _audio_response(index.audio_path(trial.clip_id))

    async def answer(request: Request) -> Response:
        who = participant(request)
        if who is None:
            return JSONResponse({"error": "start the test first"}, status_code=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected an object")
            choice = {"real": 0, "fake": 1}[body.get("answer")]
            confidence = body.get("confidence")
            store.record_answer(
                who, request.path_params["index"], choice, confidence if confidence is None else int(confidence),
                body.get("regions") or [], _opt_int(body.get("response_ms")), _opt_int(body.get("replays")) or 0,
            )
        except AnswerRejected as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        except (KeyError, ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": "answer must be {answer: 'real'|'fake', confidence, regions}"},
                                status_code=400)
        answered, total = store.progress(who)
        return JSONResponse({"answered": answered, "total": total})

    # ---- inspector ---------------------------------------------------------------------------------------
    def inspect_page(request: Request) -> Response:
        key = request.query_params.get("key")
        if key is not None:
            if not admin_key or not hmac.compare_digest(key.encode(), admin_key.encode()):
                return Response("wrong inspector key", status_code=403)
            rest = "&".join(f"{k}={v}" for k, v in request.query_params.multi_items() if k != "key")
            response = RedirectResponse("/inspect" + (f"?{rest}" if rest else ""), status_code=303)
            response.set_cookie(ADMIN_COOKIE, admin_key, httponly=True, samesite="strict")
            return response
        if not is_admin(request):
            return Response("the inspector needs the key printed by `fakesound listen` (/inspect?key=...)",
                            status_code=403)
        return FileResponse(STATIC_DIR / "inspect.html")

    def admin_only(handler):
        @functools.wraps(handler)
        def wrapped(request: Request) -> Response:
            if not is_admin(request):
                return JSONResponse({"error": "inspector key required"}, status_code=403)
            try:
                return handler(request)
            except _NotFound:
                return JSONResponse({"error": "no such clip"}, status_code=404)
        return wrapped

    @admin_only
    def facets(request: Request) -> Response:
        return JSONResponse({**index.facets(), "has_detector": scores is not None, "rejected": index.rejected})

    @admin_only
    def clips(request: Request) -> Response:
        q = request.query_params
        chosen = index.select(q.get("split", ""), q.get("manipulation", ""), q.get("generator", ""))
        return JSONResponse([_summary(r) for r in chosen])

    @admin_only
    def clip(request: Request) -> Response:
        record = clip_or_404(request.path_params["clip_id"])
        return JSONResponse({**_summary(record), **media_of(record.id), "caption": record.caption,
                             "partners": [_summary(r) for r in index.partners(record.id)]})

    @admin_only
    def clip_audio(request: Request) -> Response:
        return _audio_response(index.audio_path(clip_or_404(request.path_params["clip_id"]).id))

    @admin_only
    def clip_spectrogram(request: Request) -> Response:
        return Response(spectrogram_of(clip_or_404(request.path_params["clip_id"]).id), media_type="image/png")

    @admin_only
    def clip_scores(request: Request) -> Response:
        record = clip_or_404(request.path_params["clip_id"])
        if scores is None:
            return JSONResponse({"error": "no --checkpoint given"}, status_code=404)
        key = record.sha256 or f"{record.id}-{index.audio_path(record.id).stat().st_mtime_ns}"
        return JSONResponse(scores.scores(key, index.audio_path(record.id)))

    routes = [
        Route("/", lambda request: RedirectResponse("/test")),
        Route("/test", lambda request: FileResponse(STATIC_DIR / "test.html")),
        Route("/api/start", start, methods=["POST"]),
        Route("/api/leave", leave, methods=["POST"]),
        Route("/api/trial", trial_state),
        Route("/api/trial/{index:int}/audio", trial_audio),
        Route("/api/trial/{index:int}/answer", answer, methods=["POST"]),
        Route("/inspect", inspect_page),
        Route("/api/inspect/facets", facets),
        Route("/api/inspect/clips", clips),
        Route("/api/inspect/clip/{clip_id}", clip),
        Route("/api/inspect/clip/{clip_id}/audio", clip_audio),
        Route("/api/inspect/clip/{clip_id}/spectrogram.png", clip_spectrogram),
        Route("/api/inspect/clip/{clip_id}/scores", clip_scores),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(SecurityHeaders)
    app.state.index, app.state.store, app.state.session = index, store, session
    return app


class _NotFound(Exception):
    pass


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _summary(r) -> dict[str, Any]:
    return {"id": r.id, "label": r.label, "split": r.split, "manipulation": r.manipulation, "generator": r.generator,
            "segments": [list(s) for s in r.segments], "source_id": r.source_id}
