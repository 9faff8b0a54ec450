"""One corpus per folder: a lock file so one build writes a folder at a time, and an identity record so a folder
never mixes two corpora.

* **Lock** (``.lock``): created with ``O_EXCL`` and holding the holder's command, pid, host, start time and
  process instance (boot id + the kernel's start time of the pid, from ``/proc``). A live lock refuses the second
  run in one line naming the pid; a lock whose process is gone (same host) is stale and taken over with a one-line
  notice. A pid that is alive but belongs to another process instance (the pid was reused after the holder died, or
  the machine rebooted) is stale too. A lock from another host cannot be checked: it refuses at once
  (:class:`LockedElsewhere`, one line naming host and pid and how to clear it), for flows as well (they wait for a
  lock of this host only), so nothing waits for ever on a dead node's lock.
* **Identity** (``.identity.json``): what makes the corpus what it is (recipe, seed, settings, runtime), written
  atomically at the start of the first build. Shards of one corpus (runs over different source manifests into one
  folder) share it; a build with another identity refuses, naming the fields that differ, or with ``overwrite``
  replaces the corpus (the layout's files only: anything else in the folder is left alone).

The temporary-file sweep runs only under the lock (:func:`claim`), so it can never delete a live run's files.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pipeline import corpus
from pipeline.atomic import atomic_write_text
from pipeline.errors import ConfigError, FakesoundError

LOCK = ".lock"
IDENTITY = ".identity.json"
#: A lock file still empty this long after it was made is from a process killed between create and write.
UNWRITTEN_LOCK_S = 10.0
#: Differing fields a refusal names (then "and N more").
SHOWN_CHANGES = 4
REPLACE = "use another folder, or --overwrite (flow: overwrite=True) to replace it"
log = logging.getLogger(__name__)


class FolderBusy(FakesoundError):
    """Another build holds the folder's lock."""


class LockedElsewhere(FolderBusy):
    """The folder's lock is held from another host, whose process this one cannot check."""


class OtherCorpus(ConfigError):
    """The folder holds a corpus built with another identity."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def process_instance(pid: int) -> str | None:
    """What tells this process from a later one with the same pid: boot id + start time (clock ticks since boot,
    field 22 of ``/proc/<pid>/stat``); None where ``/proc`` does not say (not Linux, or the pid is gone)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) ": the comm may hold spaces and brackets
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def _stale(holder: dict[str, Any] | None, path: Path) -> bool:
    """A lock of this host whose process is gone: no such pid, or the pid now names another process instance (or
    the lock was never written, and is old)."""
    if holder is None:
        try:
            return time.time() - path.stat().st_mtime > UNWRITTEN_LOCK_S
        except FileNotFoundError:
            return False
    if holder.get("host") != socket.gethostname():
        return False
    if not _alive(holder["pid"]):
        return True
    recorded, now = holder.get("instance"), process_instance(holder["pid"])
    return recorded is not None and now is not None and recorded != now  # the pid now names another process


def _describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "a run that is starting"
    return f"pid {holder['pid']} on {holder.get('host')}, started {holder.get('started')}"


@contextmanager
def folder_lock(out: str | Path, command: str = "build") -> Iterator[Path]:
    """Hold ``out``'s lock file while the block runs (see the module docstring); released on exit. ``command``
    (what holds it) is named in the refusal another run gets."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    mine = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "instance": process_instance(os.getpid())}
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_lock(path)
            what = holder.get("command", "run") if holder else "run"
            if holder is not None and holder.get("host") != socket.gethostname():
                raise LockedElsewhere(f"{out}: locked by a {what} on another host ({_describe(holder)}), whose process "
                                      f"this machine cannot check; if it is no longer running, remove {path}") from None
            if not _stale(holder, path):
                raise FolderBusy(f"{out}: another {what} is writing this folder ({_describe(holder)}); wait for it "
                                 f"to end, or remove {path} if that process is gone") from None
            _take_over(path, holder)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(mine, fh)
            fh.flush()
            os.fsync(fh.fileno())
        break
    try:
        yield path
    finally:
        if _read_lock(path) == mine:
            path.unlink(missing_ok=True)


def _take_over(path: Path, holder: dict[str, Any] | None) -> None:
    """Remove a stale lock, unless another process took it over first (then the loop sees that one)."""
    aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    if _read_lock(aside) != holder:  # a fresh lock replaced the stale one meanwhile: put it back
        with suppress(FileExistsError):
            os.link(aside, path)
        aside.unlink(missing_ok=True)
        return
    aside.unlink(missing_ok=True)
    log.warning("%s: taking over a stale lock (%s, no longer running)", path.parent, _describe(holder))


def differing_fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Names of the fields that differ between two identities (nested dicts as ``outer.inner``)."""
    names = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            names += differing_fields(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


def _describe_change(old: Mapping[str, Any], new: Mapping[str, Any], name: str) -> str:
    value: Any = (old, new)
    parts = name.split(".")
    for part in parts:
        value = tuple(v.get(part) if isinstance(v, Mapping) else None for v in value)
    return f"{name} {value[0]!r} -> {value[1]!r}"


def _clear(out: Path, recorded: Mapping[str, Any]) -> None:
    """Remove the corpus layout's entries (the identity record first, so a kill mid-way leaves a folder that refuses
    to resume until an overwrite runs again, never a mix); the demo's composed sources only if it was a demo."""
    names = [IDENTITY, corpus.AUDIO_DIR, corpus.MANIFEST, corpus.REJECTED, corpus.SUMMARY, corpus.LICENSES,
             corpus.RECORDS_DIR, *(f"{s}.json" for s in corpus.SPLITS)]
    if (recorded.get("request") or {}).get("demo"):
        names.append(corpus.DEMO_SOURCES)
    for path in (out / n for n in names):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _holds_corpus(out: Path) -> bool:
    return (out / corpus.MANIFEST).exists() or (out / corpus.RECORDS_DIR).exists()


def check_identity(out: Path, identity: Mapping[str, Any], overwrite: bool) -> None:
    """Record ``identity`` in ``out``, or check it against the one there (``overwrite``: replace that corpus)."""
    path = out / IDENTITY
    wanted = json.loads(json.dumps(identity, sort_keys=True))  # as it reads back (tuples -> lists)
    recorded: dict[str, Any] = {}
    if path.exists():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {"unreadable": True}
    if overwrite:
        _clear(out, recorded)
    elif recorded == wanted:
        return
    elif recorded:
        names = differing_fields(recorded, wanted)
        changes = "; ".join(_describe_change(recorded, wanted, n) for n in names[:SHOWN_CHANGES])
        changes += f" and {len(names) - SHOWN_CHANGES} more" if len(names) > SHOWN_CHANGES else ""
        raise OtherCorpus(f"{out}: holds another corpus ({changes}); {REPLACE}")
    elif _holds_corpus(out):
        raise OtherCorpus(f"{out}: holds a corpus with no identity record (built by an older version, or an "
                          f"overwrite was interrupted); {REPLACE}")
    atomic_write_text(path, json.dumps(wanted, indent=2, sort_keys=True))


@contextmanager
def claim(out: str | Path, identity: Mapping[str, Any], overwrite: bool = False) -> Iterator[Path]:
    """Lock ``out``, check or record the corpus identity, sweep temporary files a killed build left; yield ``out``."""
    out = Path(out).absolute()
    with folder_lock(out):
        check_identity(out, identity, overwrite)
        corpus.remove_partial_files(out)
        yield out
