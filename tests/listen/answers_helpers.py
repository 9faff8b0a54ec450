"""A scripted answers file with a hand-computed score (shared by the scoring and the browser tests)."""

from __future__ import annotations

from pathlib import Path

from listen.config import SessionConfig
from listen.store import AnswerStore
from pipeline.manifest import ClipRecord, read_manifest

# (clip id, answer, confidence, regions): two fakes (splice, addition) and two reals of the train split.
SCRIPT = [
    ("trainsrc0_0.2_0.4", 1, 4, [(0.2, 0.4)]),  # fake, called fake, region exact       -> score 0.9
    ("trainsrc1_0.2_0.4", 0, 2, []),            # fake (addition), called real          -> score 0.3
    ("trainsrc2", 0, 5, []),                     # real, called real                     -> score 0.0
    ("trainsrc0", 1, 1, [(0.1, 0.3)]),           # real, called fake, a 0.2 s region     -> score 0.6
]

# Pooled over the four answers ("all"): 2 of 4 right; ranking 0.9 > 0.6 > 0.3 > 0.0 puts one real above one fake
# (AUC 3/4, FNR = FPR = 1/2 at 0.6); at 1 s: 1 hit, 2 marked, 2 true segments; at 20 ms: 10 of 20 and 10 of 20;
# events: the exact region is the only hit of 2 marked and 2 true.
EXPECTED_ALL = {"acc_clip": 0.5, "acc_any_frame": 0.5, "auc": 0.75, "eer": 0.5, "seg_f1_1s": 0.5,
                "seg_f1_20ms": 0.5, "event_f1": 0.5}
# splice group = the splice fake + both reals: right on 2 of 3; the fake (0.9) outranks both reals; at 1 s
# 1 hit of 2 marked and 1 true -> F1 2/3. addition group: right on 1 of 3; 0.3 sits between the reals.
EXPECTED_SPLICE = {"acc_clip": 2 / 3, "auc": 1.0, "eer": 0.0, "seg_f1_1s": 2 / 3}
EXPECTED_ADDITION = {"acc_clip": 1 / 3, "auc": 0.5, "seg_f1_1s": 0.0}


def scripted_answers(corpus: Path, db: Path) -> AnswerStore:
    """Write the script as participant 1's complete session (clips in script order)."""
    records = {r.id: r for r in read_manifest(corpus / "manifest.jsonl")}
    chosen: list[ClipRecord] = [records[cid] for cid, *_ in SCRIPT]
    store = AnswerStore(db)
    _, number = store.create_participant("scripted", SessionConfig(trials=4), lambda n: chosen, "manifest.jsonl")
    for i, (_, answer, confidence, regions) in enumerate(SCRIPT):
        store.record_answer(number, i, answer, confidence, regions, response_ms=1000 + i, replays=i % 2)
    return store
