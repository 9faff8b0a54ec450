"""The Starlette app: a participant's blind test at ``/test`` and the experimenter's inspector at ``/inspect``.

Two audiences, two doors (:mod:`listen.participant_routes`, :mod:`listen.inspector_routes`):

* participants get a random token cookie and see only their *current* trial: its audio and waveform come
  from ``/api/trial/<n>/...``, where ``n`` is the trial number, never a clip id, file name or label;
* the inspector shows everything (ids, labels, regions, detector scores), so it needs the experimenter's key:
  ``/inspect?key=KEY`` (printed at start) sets a cookie; without it every inspector route answers 403.

Only two kinds of file are ever read: each manifest record's audio (looked up by clip id, resolved inside the
corpus folder when the index is built) and the app's own static files.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from listen.config import SessionConfig
from listen.corpus import CorpusIndex
from listen.media import DetectorScores, clip_media, spectrogram_png
from listen.sampler import draw_trials
from listen.store import AnswerStore
from pipeline.audio_io import read_audio
from pipeline.corpus import MANIFEST

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


class ClipMedia:
    """What both pages draw of a clip, computed once per clip (bounded caches): peaks, spectrogram, raw bytes."""

    def __init__(self, index: CorpusIndex):
        self.index = index
        self.waveform = functools.lru_cache(maxsize=256)(self._waveform)
        self.spectrogram = functools.lru_cache(maxsize=64)(self._spectrogram)

    def _waveform(self, clip_id: str) -> dict[str, Any]:
        return clip_media(self.index.audio_path(clip_id))

    def _spectrogram(self, clip_id: str) -> bytes:
        return spectrogram_png(*read_audio(self.index.audio_path(clip_id)))

    def audio_response(self, clip_id: str) -> Response:
        """The file's bytes with a neutral type and no name, date or ETag (nothing that differs but the audio)."""
        path = self.index.audio_path(clip_id)
        media = "audio/flac" if path.suffix.lower() == ".flac" else "audio/wav"
        return Response(path.read_bytes(), media_type=media)


def create_app(
    corpus: str | Path, answers: str | Path, session: SessionConfig | None = None, admin_key: str = "",
    checkpoint: str | Path | None = None, cache_dir: str | Path | None = None,
    allowed_hosts: Sequence[str] = ("*",), manifest: str | Path = MANIFEST,
) -> Starlette:
    """The app over a corpus folder (``manifest``: our JSONL or a FakeSound JSON, relative to ``corpus``);
    ``admin_key`` opens the inspector (empty: inspector closed).

    ``allowed_hosts``: Host headers to answer (the server passes the loopback names when it binds loopback, so
    a web page that rebinds its own domain name to 127.0.0.1 gets 400, not the app).
    """
    from listen.inspector_routes import inspector_routes
    from listen.participant_routes import participant_routes

    index = CorpusIndex.load(corpus, manifest)
    store = AnswerStore(answers)
    session = session or SessionConfig()
    draw_trials(index.records.values(), session, 1)  # fail at start, not at the first participant
    scores = DetectorScores(checkpoint, cache_dir or Path(corpus) / ".cache" / "listen") if checkpoint else None
    media = ClipMedia(index)
    routes = [
        Route("/", lambda request: RedirectResponse("/test")),
        Route("/test", lambda request: FileResponse(STATIC_DIR / "test.html")),
        *participant_routes(index, store, session, media),
        *inspector_routes(index, admin_key, media, scores, STATIC_DIR / "inspect.html"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.state.index, app.state.store, app.state.session = index, store, session
    return app
