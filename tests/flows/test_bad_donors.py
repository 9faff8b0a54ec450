"""A poisoned donor never stops a build: it is skipped where donors are drawn, reported, and the rest is built.

(Issue 12's first finding: a NaN source that passed an older import crashed ``fakesound build`` when it was
drawn as a donor for another clip.)
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from flows.build import run_build, thread_executor
from pipeline.manifest import ClipRecord
from regenerate.recipes import get_recipe

GOOD = ("bg_rain.flac", "bg_river.flac", "bg_stream.flac", "bg_harbour.flac")


@pytest.fixture
def sources(tmp_path, kit_sources):
    records = kit_sources(GOOD, "water and wind")
    rate = sf.info(tmp_path / GOOD[-1]).samplerate
    bad = {"nan.wav": np.where(np.arange(rate * 10) == 7, np.nan, 0.1), "silent.wav": np.zeros(rate * 10)}
    for name, data in bad.items():
        sf.write(tmp_path / name, data, rate, subtype="FLOAT")
    records += [ClipRecord(id=n.split(".")[0], label=0, audio_path=n, caption="poison") for n in bad]
    return tmp_path, records


def test_bad_source_donors_are_skipped_and_reported(sources, tmp_path):
    root, records = sources
    recipe = get_recipe("weight-free", backends=("splice", "addition"))
    kept, rejections = run_build(tmp_path / "out", records, root, recipe, seed=2,
                                 executor=thread_executor(2, progress=False))
    donor_lines = {r.item.rsplit("/", 1)[-1]: r.reason for r in rejections if r.stage == "donor"}
    assert set(donor_lines) == {"nan.wav", "silent.wav"}
    assert "NaN or Inf" in donor_lines["nan.wav"] and "silence" in donor_lines["silent.wav"]
    assert all(reason.startswith("skipped as a donor: ") and "\n" not in reason for reason in donor_lines.values())
    assert {r.source_id for r in kept} >= {"bg_rain", "bg_river", "bg_stream", "bg_harbour"} - {
        r.item for r in rejections}
    assert sum(r.label for r in kept) >= 3  # fakes were made with the good donors
    used = {r.extra.get("donor_id") for r in kept if r.label == 1} - {None}
    assert used and not used & {"nan", "silent"}


def test_a_bad_given_donor_is_skipped(sources, tmp_path, kit_dir):
    root, records = sources
    donors = (("cow", str(kit_dir / "ev_cow_moo_1.flac"), "a cow moos", "event"),
              ("nan", str(root / "nan.wav"), "poison", "event"), ("gone", str(root / "gone.wav"), "gone", "event"))
    kept, rejections = run_build(tmp_path / "out", records[:2], root, get_recipe("weight-free", backends=("addition",)),
                                 seed=0, donors=donors, executor=thread_executor(1, progress=False))
    assert [r.stage for r in rejections] == ["donor", "donor"]
    assert "nan.wav" in rejections[0].item and "file not found" in rejections[1].reason
    assert len(kept) == 4


def test_when_every_donor_is_rejected_the_message_names_the_rejections(sources, tmp_path, capsys):
    """Sources that are fine as clips but useless as donors (digital silence): a splice build cannot start; its one
    line says why there is no donor (count and the first rejection), before any progress bar."""
    from flows.cli import main
    from pipeline.manifest import write_manifest

    root, _ = sources
    for name in ("quiet_a.wav", "quiet_b.wav"):
        sf.write(root / name, np.zeros(32000 * 3), 32000, subtype="PCM_16")
    manifest = write_manifest(root / "quiet.jsonl", [ClipRecord(id=n.split(".")[0], label=0, audio_path=n,
                                                                caption="silence") for n in ("quiet_a.wav",
                                                                                             "quiet_b.wav")])
    out = tmp_path / "out"
    assert main(["build", "--sources", str(manifest), "--out", str(out), "--recipe", "weight-free"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and "no donor clips given" in err, err
    assert "all 2 donor candidate(s) were rejected (first: " in err and "quiet_a.wav" in err and "silence" in err
    assert "%" not in captured.err and not (out / "manifest.jsonl").exists()
