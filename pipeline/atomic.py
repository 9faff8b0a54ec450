"""Atomic file writes: write to a temporary name beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import EnvironmentProblem


class DiskFull(OSError, EnvironmentProblem):
    """No space (or quota) left while writing ``filename``: an environment problem (raised, never a rejection;
    the rerun after space is freed makes the file). The partial file was removed; ``str()`` is one line."""

    def __str__(self) -> str:
        return (f"{self.filename}: no space left on device; nothing partial was kept. Free space and run the same "
                "command again: finished files are kept and skipped")


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed onto ``target``.

    On any exception — Ctrl-C included, from the moment the temporary file is created — it is removed, so a
    finished-file name never holds partial content and no ``.part`` file is left; a full disk or quota is raised as
    :class:`DiskFull`. ``suffix`` defaults to the target's (some encoders infer the format).
    """
    target = Path(target)
    # the name is known before the file exists, so an interrupt landing right after its creation still removes it
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}{target.suffix if suffix is None else suffix}.part"
    created = False  # by this call (set right after the exclusive create)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # finished files follow the umask
        created = True
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        if created or not isinstance(err, FileExistsError):  # never remove another writer's file of that name
            tmp.unlink(missing_ok=True)
        if _is_disk_full(err):
            code = err.errno if isinstance(err, OSError) and err.errno == errno.EDQUOT else errno.ENOSPC
            raise DiskFull(code, os.strerror(code), str(target)) from err
        raise


def _is_disk_full(err: BaseException) -> bool:
    """ENOSPC / EDQUOT, raised by the OS or reported by an encoder (libsndfile raises its own error class)."""
    if isinstance(err, DiskFull):
        return False
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    return "No space left on device" in str(err) or "Disk quota exceeded" in str(err)


def atomic_write_text(target: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
