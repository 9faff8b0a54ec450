"""The participant's API: start, the current trial (number, waveform, audio), answer it, leave.

Nothing here names a clip: the server maps the participant's cookie and trial number to the clip.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from detector.human import CONFIDENCE_LEVELS
from listen.config import SessionConfig
from listen.corpus import CorpusIndex
from listen.sampler import draw_trials
from listen.store import AnswerRejected, AnswerStore

if TYPE_CHECKING:
    from listen.app import ClipMedia

PARTICIPANT_COOKIE = "fakesound_participant"
COOKIE_MAX_AGE_S = 7 * 86400


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def participant_routes(index: CorpusIndex, store: AnswerStore, session: SessionConfig, media: ClipMedia) -> list:
    def participant(request: Request) -> int | None:
        return store.participant(request.cookies.get(PARTICIPANT_COOKIE))

    async def start(request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        if participant(request) is not None:
            return JSONResponse({"resumed": True})
        name = str(body.get("name", "")) if isinstance(body, dict) else ""
        token, _ = store.create_participant(
            name, session, lambda n: draw_trials(index.records.values(), session, n), index.manifest_name
        )
        response = JSONResponse({"resumed": False})
        response.set_cookie(PARTICIPANT_COOKIE, token, httponly=True, samesite="strict", max_age=COOKIE_MAX_AGE_S)
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
        wave = media.waveform(trial.clip_id)
        return JSONResponse({
            "started": True, "done": False, "index": trial.index, "answered": answered, "total": total,
            "duration": wave["duration"], "peaks": wave["peaks"], "confidence_levels": CONFIDENCE_LEVELS,
            "audio": f"/api/trial/{trial.index}/audio",
        })

    def trial_audio(request: Request) -> Response:
        who = participant(request)
        trial = store.current_trial(who) if who is not None else None
        if trial is None or request.path_params["index"] != trial.index:
            return JSONResponse({"error": "not your current trial"}, status_code=404)
        return media.audio_response(trial.clip_id)

    async def answer(request: Request) -> Response:
        who = participant(request)
        if who is None:
            return JSONResponse({"error": "start the test first"}, status_code=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected an object")
            store.record_answer(
                who, request.path_params["index"], {"real": 0, "fake": 1}[body.get("answer")],
                _opt_int(body.get("confidence")), body.get("regions") or [], _opt_int(body.get("response_ms")),
                _opt_int(body.get("replays")) or 0,
            )
        except AnswerRejected as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        except (KeyError, ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": "answer must be {answer: 'real'|'fake', confidence, regions}"},
                                status_code=400)
        answered, total = store.progress(who)
        return JSONResponse({"answered": answered, "total": total})

    return [
        Route("/api/start", start, methods=["POST"]),
        Route("/api/leave", leave, methods=["POST"]),
        Route("/api/trial", trial_state),
        Route("/api/trial/{index:int}/audio", trial_audio),
        Route("/api/trial/{index:int}/answer", answer, methods=["POST"]),
    ]
