"""Answers in SQLite: participants, their drawn sequences (with the truth), and one row per submitted answer.

Every write is one short transaction on its own connection (WAL journal, ``synchronous=FULL``), so a killed
server loses at most the answer whose request was in flight, and a restarted one resumes each participant
at their next trial. A participant is known only by a random token (kept in a cookie; only its SHA-256 is
stored); an answer is accepted only for that participant's *current* trial, which is how "no going back"
and "no overwriting someone else's answer" are enforced on the server rather than in the page.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from detector.human import SCHEMA, confidence_ok
from listen.config import SessionConfig
from pipeline.manifest import ClipRecord
from pipeline.timemath import Segment, merge_segments


class AnswerRejected(ValueError):
    """An answer the store refuses (bad content, or not the participant's current trial); ``status`` for HTTP."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Trial:
    """What the server may know about a participant's current trial (the page gets none of the truth)."""

    participant: int
    index: int
    total: int
    clip_id: str
    duration: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AnswerStore:
    """The answers file. Thread-safe: each call opens its own connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        finally:
            con.close()

    def create_participant(
        self, name: str, session: SessionConfig, draw: Callable[[int], Sequence[ClipRecord]], manifest: str
    ) -> tuple[str, int]:
        """A new participant with its sequence ``draw(participant_number)``; returns (secret token, number).

        The participant row and the whole sequence are written in one transaction.
        """
        token = secrets.token_urlsafe(24)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                number = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM participants").fetchone()[0]
                trials = draw(number)
                con.execute(
                    "INSERT INTO participants (id, token_sha256, name, seed, session, created_at) VALUES (?,?,?,?,?,?)",
                    (number, _hash(token), name[:80], session.seed, json.dumps(session.to_dict()), time.time()),
                )
                con.executemany(
                    "INSERT INTO trials (participant_id, idx, clip_id, label, segments, manipulation, generator, "
                    "split, duration, manifest) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(number, i, r.id, r.label, json.dumps([list(s) for s in r.segments]), r.manipulation,
                      r.generator, r.split, r.duration, manifest) for i, r in enumerate(trials)],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return token, number

    def participant(self, token: str | None) -> int | None:
        """The participant number of a token, or None."""
        if not token:
            return None
        with self._connect() as con:
            row = con.execute("SELECT id FROM participants WHERE token_sha256 = ?", (_hash(token),)).fetchone()
        return None if row is None else row[0]

    def current_trial(self, participant: int) -> Trial | None:
        """The first unanswered trial, or None when the participant has finished."""
        with self._connect() as con:
            total = con.execute("SELECT COUNT(*) FROM trials WHERE participant_id = ?", (participant,)).fetchone()[0]
            row = con.execute(
                "SELECT t.idx, t.clip_id, t.duration FROM trials t LEFT JOIN answers a USING (participant_id, idx) "
                "WHERE t.participant_id = ? AND a.idx IS NULL ORDER BY t.idx LIMIT 1", (participant,),
            ).fetchone()
        return None if row is None else Trial(participant, row[0], total, row[1], row[2])

    def progress(self, participant: int) -> tuple[int, int]:
        """(answered, total)."""
        with self._connect() as con:
            return con.execute(
                "SELECT (SELECT COUNT(*) FROM answers WHERE participant_id = ?), "
                "(SELECT COUNT(*) FROM trials WHERE participant_id = ?)", (participant, participant),
            ).fetchone()

    def record_answer(
        self, participant: int, index: int, answer: int, confidence: int | None, regions: Sequence[Segment],
        response_ms: int | None, replays: int,
    ) -> None:
        """Store one answer to the participant's current trial, atomically; refuses anything else."""
        if answer not in (0, 1):
            raise AnswerRejected("answer must be 'real' or 'fake'")
        if not confidence_ok(confidence):
            raise AnswerRejected("confidence out of range")
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                row = con.execute(
                    "SELECT t.idx, t.duration FROM trials t LEFT JOIN answers a USING (participant_id, idx) "
                    "WHERE t.participant_id = ? AND a.idx IS NULL ORDER BY t.idx LIMIT 1", (participant,),
                ).fetchone()
                if row is None or row[0] != index:
                    raise AnswerRejected("this trial cannot be answered now (answers cannot be changed)", 409)
                clean = _clean_regions(regions, row[1]) if answer == 1 else []
                con.execute(
                    "INSERT INTO answers (participant_id, idx, answer, confidence, regions, response_ms, replays, "
                    "answered_at) VALUES (?,?,?,?,?,?,?,?)",
                    (participant, index, answer, confidence, json.dumps([list(s) for s in clean]), response_ms,
                     max(0, int(replays)), time.time()),
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise


def _clean_regions(regions: Sequence[Segment], duration: float) -> list[Segment]:
    """Regions clipped to the clip, overlaps merged, rounded to 1 ms; malformed ones refused."""
    try:
        spans = [(max(0.0, float(a)), min(duration, float(b))) for a, b in regions]
    except (TypeError, ValueError) as err:
        raise AnswerRejected("regions must be [[onset, offset], ...] in seconds") from err
    if any(not b > a for a, b in spans):
        raise AnswerRejected("a region must have onset < offset inside the clip")
    return [(round(a, 3), round(b, 3)) for a, b in merge_segments(spans)]
