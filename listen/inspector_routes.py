"""The experimenter's inspector: facets, clip lists, one clip with its partners, audio, spectrogram, detector
scores. Every route needs the inspector key (given once as ``/inspect?key=``, then kept in a cookie)."""

from __future__ import annotations

import functools
import hmac
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from listen.corpus import CorpusIndex
from listen.media import DetectorScores
from pipeline.manifest import ClipRecord

if TYPE_CHECKING:
    from listen.app import ClipMedia

ADMIN_COOKIE = "fakesound_inspector"


def _summary(r: ClipRecord) -> dict[str, Any]:
    return {"id": r.id, "label": r.label, "split": r.split, "manipulation": r.manipulation, "generator": r.generator,
            "segments": [list(s) for s in r.segments], "source_id": r.source_id}


def inspector_routes(
    index: CorpusIndex, admin_key: str, media: ClipMedia, scores: DetectorScores | None, page: Path
) -> list:
    def is_admin(request: Request) -> bool:
        given = request.cookies.get(ADMIN_COOKIE, "")
        return bool(admin_key) and hmac.compare_digest(given.encode(), admin_key.encode())

    def inspect_page(request: Request) -> Response:
        key = request.query_params.get("key")
        if key is not None:
            if not admin_key or not hmac.compare_digest(key.encode(), admin_key.encode()):
                return Response("wrong inspector key", status_code=403)
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "key"])
            response = RedirectResponse("/inspect" + (f"?{rest}" if rest else ""), status_code=303)
            response.set_cookie(ADMIN_COOKIE, admin_key, httponly=True, samesite="strict")
            return response
        if not is_admin(request):
            return Response("the inspector needs the key printed by `fakesound listen` (/inspect?key=...)",
                            status_code=403)
        return FileResponse(page)

    def admin_only(handler):
        """403 without the key; 404 for a clip id the index does not hold (only records' audio is ever read)."""

        @functools.wraps(handler)
        def wrapped(request: Request) -> Response:
            if not is_admin(request):
                return JSONResponse({"error": "inspector key required"}, status_code=403)
            clip_id = request.path_params.get("clip_id")
            if clip_id is not None and clip_id not in index.records:
                return JSONResponse({"error": "no such clip"}, status_code=404)
            return handler(request, index.records.get(clip_id))

        return wrapped

    @admin_only
    def facets(request: Request, _: None) -> Response:
        return JSONResponse({**index.facets(), "has_detector": scores is not None, "rejected": index.rejected})

    @admin_only
    def clips(request: Request, _: None) -> Response:
        q = request.query_params
        chosen = index.select(q.get("split", ""), q.get("manipulation", ""), q.get("generator", ""))
        return JSONResponse([_summary(r) for r in chosen])

    @admin_only
    def clip(request: Request, record: ClipRecord) -> Response:
        return JSONResponse({**_summary(record), **media.waveform(record.id), "caption": record.caption,
                             "partners": [_summary(r) for r in index.partners(record.id)]})

    @admin_only
    def clip_audio(request: Request, record: ClipRecord) -> Response:
        return media.audio_response(record.id)

    @admin_only
    def clip_spectrogram(request: Request, record: ClipRecord) -> Response:
        return Response(media.spectrogram(record.id), media_type="image/png")

    @admin_only
    def clip_scores(request: Request, record: ClipRecord) -> Response:
        if scores is None:
            return JSONResponse({"error": "no --checkpoint given"}, status_code=404)
        audio = index.audio_path(record.id)
        key = record.sha256 or f"{record.id}-{audio.stat().st_mtime_ns}"
        return JSONResponse(scores.scores(key, audio))

    return [
        Route("/inspect", inspect_page),
        Route("/api/inspect/facets", facets),
        Route("/api/inspect/clips", clips),
        Route("/api/inspect/clip/{clip_id}", clip),
        Route("/api/inspect/clip/{clip_id}/audio", clip_audio),
        Route("/api/inspect/clip/{clip_id}/spectrogram.png", clip_spectrogram),
        Route("/api/inspect/clip/{clip_id}/scores", clip_scores),
    ]
