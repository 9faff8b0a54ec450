"""Atomic file writes: write to a temporary name beside the target, then rename over it."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import EnvironmentProblem


class DiskFull(OSError, EnvironmentProblem):
    """No space (or quota) left while writing ``filename``: an environment problem (raised, never a rejection;
    the rerun after space is freed makes the file). The partial file was removed; ``str()`` is one line."""

    def __str__(self) -> str:
        return (f"{self.filename}: no space left on device; nothing partial was kept. Free space and run the same "
                "command again: finished files are kept and skipped")


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed onto ``target``.

    On any exception the temporary file is removed, so a finished-file name never holds
    partial content; a full disk or quota is raised as :class:`DiskFull`. ``suffix`` defaults to
    the target's (some encoders infer the format).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=(target.suffix if suffix is None else suffix) + ".part",
            dir=target.parent,
        )
    except OSError as err:
        if _is_disk_full(err):
            raise DiskFull(err.errno, os.strerror(err.errno), str(target)) from err
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; finished files follow the umask
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if _is_disk_full(err):
            raise DiskFull(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from err
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
