"""The blind sequence: per participant, a seeded, balanced, shuffled draw of fake and real clips.

A participant hears at most one clip of each source while that is possible: hearing a real clip and then
its own fake turns a detection test into a comparison (fakes are bit-identical outside the region). When
the selection has too few sources, real clips of already used sources fill the rest (never the same clip).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from listen.config import SessionConfig
from pipeline.errors import ConfigError
from pipeline.manifest import ClipRecord


def eligible(records: Iterable[ClipRecord], session: SessionConfig) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """(fakes, reals) of the session's splits; fakes limited to its manipulations when any are named."""
    fakes, reals = [], []
    for r in records:
        if r.split not in session.splits:
            continue
        if r.is_fake and (not session.manipulations or r.manipulation in session.manipulations):
            fakes.append(r)
        elif not r.is_fake:
            reals.append(r)
    return fakes, reals


def draw_trials(records: Iterable[ClipRecord], session: SessionConfig, participant: int) -> list[ClipRecord]:
    """``session.trials`` clips, ``trials // 2`` fake and the rest real, in a random order.

    Seeded by ``(session.seed, participant)``: the same participant number always gets the same sequence,
    different participants different ones. Raises ConfigError (a ValueError) when the selection is too small.
    """
    records = list(records)
    fakes, reals = eligible(records, session)
    n_fake = session.trials // 2
    n_real = session.trials - n_fake
    if len(fakes) < n_fake or len(reals) < n_real:
        raise ConfigError(
            f"{session.trials} trials need {n_fake} fake and {n_real} real clips; splits {list(session.splits)}"
            f"{' / manipulations ' + str(list(session.manipulations)) if session.manipulations else ''} have "
            f"{len(fakes)} fake and {len(reals)} real (lower --trials or add --splits; splits in the corpus: "
            f"{sorted({r.split for r in records})})"
        )
    rng = np.random.default_rng([session.seed, participant])
    chosen_fakes, used = _pick_distinct_sources(fakes, n_fake, set(), rng)
    chosen_reals, _ = _pick_distinct_sources(reals, n_real, used, rng)
    trials = chosen_fakes + chosen_reals
    return [trials[i] for i in rng.permutation(len(trials))]


def _pick_distinct_sources(
    pool: list[ClipRecord], n: int, used: set[str], rng: np.random.Generator
) -> tuple[list[ClipRecord], set[str]]:
    """``n`` clips of ``pool`` in a random order, preferring sources not in ``used`` (and not repeated)."""
    order = [pool[i] for i in rng.permutation(len(pool))]
    chosen, seen = [], set(used)
    for r in order:
        if len(chosen) < n and r.source_id not in seen:
            chosen.append(r)
            seen.add(r.source_id)
    for r in order:
        if len(chosen) < n and r not in chosen:
            chosen.append(r)
    return chosen, seen
