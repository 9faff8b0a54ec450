"""FakeSound's reals restored: metadata entries from the real release, synthetic audio standing in for AudioCaps.

The hidden "FakeSound real" of each clip is what FakeSound would have had (the original at the release rate,
16-bit); its fake is a hard splice of it. The restore sees only the fakes and the sources.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from fakesound_release import ORIGINAL_RATE, make_release, original_clip

from pipeline.audio_io import resample
from pipeline.fakesound_format import read_fakesound_json, resolve_release_path
from pipeline.fakesound_reals import RestoreRealsRequest, align, restore_reals
from pipeline.manifest import read_manifest, write_manifest


@pytest.fixture(scope="module")
def release(tmp_path_factory, fixtures_dir):
    return make_release(tmp_path_factory.mktemp("release"), fixtures_dir)


def _request(root, out, **kw):
    return RestoreRealsRequest(metadata=(str(root / "meta" / "easy.json"), str(root / "meta" / "zeroshot.json")),
                               fakes_root=str(root / "unpacked"), sources=str(root / "sources" / "manifest.jsonl"),
                               out=str(out), **kw)


def test_restored_reals_match_their_fakes_and_mismatches_are_reported(release, tmp_path):
    root, hidden, cases, easy_sources = release
    out = tmp_path / "paired"
    records, rejections = restore_reals(_request(root, out, workers=2))
    reals = {(r.split, r.id): r for r in records if r.label == 0}
    licences = (out / "LICENSES.md").read_text()  # what is known of the terms, and what is not
    assert f"**Fakes** ({len(records) - len(reals)})" in licences and "`ZeyuXie/FakeSound`" in licences
    assert f"**Reals** ({len(reals)}): restored from the source clips of `manifest.jsonl`" in licences
    assert "sources' folder has no LICENSES.md: their licence is **unknown**" in licences
    assert all(f"| {r.id} | {r.extra['source']} |" in licences for r in reals.values())
    assert set(reals) == {("easy", easy_sources[0]), ("easy", cases["shifted"])} | {
        ("zeroshot", s) for split, s in hidden if split == "zeroshot"}

    exact = reals["easy", easy_sources[0]]
    audio, _ = sf.read(out / exact.audio_path, dtype="float32")
    np.testing.assert_array_equal(audio, hidden["easy", easy_sources[0]])  # the very clip FakeSound had
    fake = next(r for r in records if r.label == 1 and r.source_id == exact.id)
    fake_info, real_info = sf.info(str(out / fake.audio_path)), sf.info(str(out / exact.audio_path))
    assert (real_info.samplerate, real_info.frames, real_info.subtype, real_info.format) == (
        fake_info.samplerate, fake_info.frames, fake_info.subtype, fake_info.format)
    assert exact.extra["shift_s"] == 0 and exact.extra["checks"][fake.id]["snr_db"] == float("inf")
    assert exact.extra["padded_s"] == 0 and fake.caption == exact.caption == f"caption of {exact.id}"

    moved = reals["easy", cases["shifted"]]
    assert moved.extra["shift_s"] == pytest.approx(0.3)
    assert min(c["matched_snr_db"] for c in moved.extra["checks"].values()) > 60
    audio, _ = sf.read(out / moved.audio_path, dtype="float32")
    interior = slice(1600, None)  # the first 50 ms differ: resampling a clip alone rings at its start
    assert np.max(np.abs(audio - hidden["easy", cases["shifted"]])[interior]) < 1e-3

    for (split, _), real in reals.items():
        if split == "zeroshot":  # 48 -> 32 -> 16 kHz against FakeSound's 48 -> 16 kHz: near, not bit-exact
            assert real.sample_rate == 16000 and real.num_samples == 160000
            assert min(c["matched_snr_db"] for c in real.extra["checks"].values()) > 40

    reasons = {r.item: r.reason for r in rejections}
    assert "does not match fake(s)" in reasons[cases["wrong"]] and "wrong clip or offset" in reasons[cases["wrong"]]
    assert not (out / "audio" / "easy" / f"{cases['wrong']}.wav").exists()
    missing_fake = next(k for k in reasons if k.startswith(cases["missing"]))
    assert reasons[missing_fake] == f"real {cases['missing']} not in the sources"
    assert next(v for k, v in reasons.items() if k.startswith(cases["no_fake"])).startswith("released fake not found")

    easy = read_fakesound_json(out / "easy.json")
    assert sorted(e.id for e in easy if e.label == 0) == sorted(s for sp, s in reals if sp == "easy")
    assert all((out / e.audio_path).is_file() for e in easy)
    assert read_manifest(out / "manifest.jsonl") == records
    summary = json.loads((out / "summary.json").read_text())
    assert summary["released_fakes"] == {"easy": {"32000 Hz x 320000 samples, PCM_16": 4},
                                         "zeroshot": {"16000 Hz x 160000 samples, PCM_16": 2}}


def test_rerun_reuses_finished_pairs(release, tmp_path, monkeypatch):
    import pipeline.fakesound_reals as reals_module

    root = release[0]
    out = tmp_path / "paired"
    first = restore_reals(_request(root, out))
    manifest = (out / "manifest.jsonl").read_bytes()
    monkeypatch.setattr(reals_module, "align", lambda *a, **k: pytest.fail("a finished pair was redone"))
    assert restore_reals(_request(root, out)) == first and (out / "manifest.jsonl").read_bytes() == manifest


def test_a_tighter_shift_window_rejects_the_offset_clip(release, tmp_path):
    root, _, cases, _ = release
    _, rejections = restore_reals(_request(root, tmp_path / "p", max_shift_s=0.1))
    assert "does not match" in {r.item: r.reason for r in rejections}[cases["shifted"]]


def test_alignment_refines_to_a_fraction_of_a_sample():
    rate = 32000
    source = resample(original_clip(3, 2.0), ORIGINAL_RATE, rate).astype(np.float64)
    fake = resample(original_clip(3, 2.0)[12:], ORIGINAL_RATE, rate).astype(np.float64)  # 12 / 48 kHz = 8 samples
    half = resample(original_clip(3, 2.0)[6:], ORIGINAL_RATE, rate).astype(np.float64)  # 6 / 48 kHz = 4 samples
    mask = np.ones(len(fake) - 2000)
    mask[:500] = 0
    whole = align(fake[: len(mask)], source, mask, 100)
    assert whole.shift_samples == pytest.approx(8, abs=0.01) and whole.matched_snr_db > 60
    third = resample(original_clip(3, 2.0)[2:], ORIGINAL_RATE, rate).astype(np.float64)  # 2 / 48 kHz = 1 1/3 samples
    frac = align(third[: len(mask)], source, mask, 100)
    assert frac.shift_samples == pytest.approx(4 / 3, abs=0.1) and frac.matched_snr_db > 35  # whole: 23 dB
    assert align(half[: len(mask)], source, mask, 100).shift_samples == pytest.approx(4, abs=0.01)
    late = np.concatenate([np.zeros(30), source])  # the release starts 30 samples before this source
    assert align(late[: len(mask)], source, mask, 100).shift_samples == -30


def test_release_paths_resolve_from_any_unpack_level(tmp_path):
    target = tmp_path / "FakeSound" / "deepfake_data" / "easy" / "x_1.0_2.0.wav"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    filepath = "FakeSound/deepfake_data/easy/x_1.0_2.0.wav"
    for root in (tmp_path, tmp_path / "FakeSound", tmp_path / "FakeSound" / "deepfake_data"):
        assert resolve_release_path(filepath, root) == target
    assert resolve_release_path(filepath, tmp_path / "elsewhere") == tmp_path / "elsewhere" / filepath


def test_a_fake_with_too_little_audio_outside_its_region_is_not_checked_or_kept(release, tmp_path):
    root = release[0]
    records, rejections = restore_reals(_request(root, tmp_path / "p", min_outside_s=9.5))
    assert not [r for r in records if r.split == "easy"]
    assert any("s outside the fake region (need 9.5 s" in r.reason for r in rejections)


def test_the_best_matching_of_several_sources_with_the_same_youtube_id_is_used(release, tmp_path):
    root, _, cases, easy_sources = release
    sources = [s.__class__(**{**s.to_dict(), "audio_path": str(s.resolve_audio(root / "sources"))})
               for s in read_manifest(root / "sources" / "manifest.jsonl")]  # the manifest moves: absolute paths
    right = next(s for s in sources if s.extra["youtube_id"] == easy_sources[0])
    decoy = next(s for s in sources if s.extra["youtube_id"] == cases["wrong"])
    decoy = decoy.__class__(**{**decoy.to_dict(), "id": "decoy", "extra": {"youtube_id": easy_sources[0]}})
    manifest = tmp_path / "sources.jsonl"
    write_manifest(manifest, [decoy, *sources])
    request = RestoreRealsRequest((str(root / "meta" / "easy.json"),), str(root / "unpacked"), str(manifest),
                                  str(tmp_path / "p"))
    records, _ = restore_reals(request)
    real = next(r for r in records if r.id == easy_sources[0])
    assert real.extra["source"] == right.id


def test_the_sources_licences_are_nested_in_the_restored_corpus():
    from pipeline.licences import restored_reals_licences
    from pipeline.manifest import ClipRecord

    real = ClipRecord(id="Y1", label=0, audio_path="a.wav", extra={"source": "Y1_30"})
    text = restored_reals_licences([real], "/x/unpacked", "/x/sources/manifest.jsonl",
                                   "# Licences and attribution\n\nLicence declared by its dataset card: `cc-by-4.0`.\n")
    assert "### Licences and attribution" in text and "`cc-by-4.0`" in text and "unknown" not in text
    assert "| Y1 | Y1_30 |" in text
