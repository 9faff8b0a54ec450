"""Start the app with uvicorn and tell the experimenter the two addresses (participant, inspector)."""

from __future__ import annotations

import ipaddress
import secrets
import sys
from typing import TextIO

from listen.config import ServerSettings

LOOPBACK_NAMES = ("127.0.0.1", "localhost")  # Host headers answered on an IPv4 loopback bind


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: ServerSettings, admin_key: str | None = None, out: TextIO | None = None) -> None:
    """Serve until interrupted. The inspector key is random unless given (it reveals every answer)."""
    import uvicorn

    from listen.app import create_app

    out = out or sys.stdout
    key = admin_key or secrets.token_urlsafe(12)
    app = create_app(settings.corpus, settings.answers, settings.session, key, settings.checkpoint,
                     settings.cache_dir, allowed_hosts=LOOPBACK_NAMES if settings.host in LOOPBACK_NAMES else ("*",),
                     manifest=settings.manifest)
    for line in app.state.index.rejected:
        print(f"not served: {line}", file=out)
    base = f"http://{settings.host if ':' not in settings.host else f'[{settings.host}]'}:{settings.port}"
    print(f"listening test (give this to participants): {base}/test", file=out)
    print(f"inspector (keep this to yourself: it shows the answers): {base}/inspect?key={key}", file=out)
    sess = settings.session
    print(f"answers are saved to {settings.answers}; each participant: {sess.trials} trials from splits "
          f"{list(sess.splits)}, fakes of {list(sess.manipulations) or 'every manipulation'}, seed {sess.seed}",
          file=out)
    if not is_loopback(settings.host):
        print(f"warning: serving on {settings.host}, reachable from other machines; anyone with the inspector "
              "address sees the answer key", file=out)
    out.flush()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
