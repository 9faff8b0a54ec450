"""listen: a local web app to look at a corpus (inspector) and to run a blind listening test (answers in SQLite).

A consumer of ``pipeline/`` and ``detector/`` like ``flows/``; the server needs Starlette and uvicorn only when it
is started (``listen.app.create_app``, ``listen.server.serve``).
"""

from listen.config import SessionConfig, load_session_config

__all__ = ["SessionConfig", "load_session_config"]
