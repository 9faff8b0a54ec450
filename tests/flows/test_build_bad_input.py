"""The build's bad-input matrix: each bad source is rejected with a one-line reason, the rest is built."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from flows.build import run_build, thread_executor
from pipeline.audio_io import read_audio
from pipeline.manifest import ClipRecord, read_manifest, write_manifest
from pipeline.timemath import segment_to_samples
from regenerate.recipes import get_recipe


def _write(path, data, rate, **kw):
    sf.write(path, data, rate, **kw)
    return path


@pytest.fixture(scope="module")
def bad_input_corpus(tmp_path_factory, kit_dir):
    root = tmp_path_factory.mktemp("src")
    bg, rate = read_audio(kit_dir / "bg_rain.flac")
    ev, _ = read_audio(kit_dir / "ev_door_close.flac")
    mix = bg.copy()
    mix[3 * rate : 3 * rate + len(ev)] += ev
    sources = {
        "good_flac": _write(root / "good.flac", mix, rate),
        "good_ogg": _write(root / "good.ogg", mix, rate, format="OGG", subtype="VORBIS"),
        "good_mp3": _write(root / "good.mp3", mix, rate, format="MP3", subtype="MPEG_LAYER_III"),
        "stereo_48k_24bit": _write(root / "st.wav", np.stack([mix, mix], 1)[: 7 * rate], rate, subtype="PCM_24"),
        "rate_8k": _write(root / "r8.wav", mix[::4], 8000),
        "rate_22k": _write(root / "r22.wav", np.interp(np.arange(220500) * rate / 22050, np.arange(len(mix)), mix),
                           22050),
        "rate_44k": _write(root / "r44.flac", np.repeat(mix, 2)[:441000] * 0.5, 44100),
        "corrupt": root / "corrupt.wav",
        "empty": _write(root / "empty.wav", np.zeros(0), rate),
        "nan": _write(root / "nan.wav", np.where(np.arange(len(mix)) == 5, np.nan, mix), rate, subtype="FLOAT"),
        "too_short": _write(root / "short.wav", mix[: rate // 2], rate),
        "no_caption": _write(root / "nocap.wav", mix, rate),
        "bad_region": _write(root / "badregion.wav", mix, rate),
    }
    (root / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    records = [
        ClipRecord(id=k, label=0, audio_path=p.name, caption="" if k == "no_caption" else "rain with a door closing")
        for k, p in sources.items()
    ]
    records.append(ClipRecord(id="good_flac", label=0, audio_path="good.ogg", caption="duplicate id"))
    grounding = root / "grounding.json"
    grounding.write_text(json.dumps({
        "bad_region": [{"phrase": "a door", "segments": [[12.0, 14.0]]}],
        "good_flac": [{"phrase": "a door closes", "segments": [[3.0, 3.4]]}],
    }))
    write_manifest(root / "sources.jsonl", records)
    out = tmp_path_factory.mktemp("corpus")
    shutil.copy(kit_dir / "LICENSES.md", out / "LICENSES.md")
    recipe = get_recipe("weight-free", backends=("vocoder",))
    kept, rejections = run_build(out, read_manifest(root / "sources.jsonl"), root, recipe, seed=1,
                                 grounding_path=str(grounding),
                                 donors=(("ev", str(kit_dir / "ev_cow_moo_1.flac"), "a cow moos", "event"),),
                                 executor=thread_executor(2, progress=False))
    return out, root, kept, rejections


def test_each_bad_input_is_rejected_with_its_reason(bad_input_corpus):
    out, _, _, rejections = bad_input_corpus
    reasons = {r.item.rsplit("/", 1)[-1]: r.reason for r in rejections}
    assert "cannot decode" in reasons["corrupt.wav"]
    assert "empty" in reasons["empty.wav"]
    assert "NaN or Inf" in reasons["nan.wav"]
    assert "short" in reasons["short.wav"]
    assert "missing caption" in reasons["nocap.wav"]
    assert "out of range" in reasons["badregion.wav"]
    assert "duplicate source id" in reasons["good_flac"]  # the id, seen twice
    assert all("\n" not in r.reason for r in rejections)
    lines = (out / "rejected.jsonl").read_text().splitlines()
    assert len(lines) == len(rejections) == 7


def test_the_rest_is_built_bit_exact_outside_regions(bad_input_corpus):
    out, _, kept, _ = bad_input_corpus
    manifest = read_manifest(out / "manifest.jsonl")
    assert manifest == kept
    sources = {r.source_id for r in manifest}
    assert sources == {"good_flac", "good_ogg", "good_mp3", "stereo_48k_24bit", "rate_8k", "rate_22k", "rate_44k"}
    by_id = {r.id: r for r in manifest}
    for fake in (r for r in manifest if r.label == 1):
        real = by_id[fake.source_id]
        a, rate = read_audio(out / real.audio_path)
        b, _ = read_audio(out / fake.audio_path)
        assert rate == 32000 == fake.sample_rate and len(a) == len(b) == fake.num_samples
        start, stop = segment_to_samples(fake.segments[0], rate)
        assert np.array_equal(a[:start], b[:start]) and np.array_equal(a[stop:], b[stop:])
        assert not np.array_equal(a[start:stop], b[start:stop])
        assert fake.id == f"{fake.source_id}_{fake.segments[0][0]!r}_{fake.segments[0][1]!r}"
    (fake,) = [r for r in manifest if r.source_id == "good_flac" and r.label == 1]
    (onset, offset), = fake.segments  # the 0.4 s grounded event, widened to the 1 s minimum around it
    assert fake.extra["region_from"].startswith("grounding")
    assert onset <= 3.0 and offset >= 3.4 and offset - onset == pytest.approx(1.0)
    assert not list(out.rglob("*.part"))


def test_one_rejected_request_in_a_batch_rejects_only_itself(real_clip):
    from pipeline.engine import _regenerate_group
    from pipeline.errors import RejectedInput
    from regenerate import RegionRequest, RegionResult, SingleRegenerator

    class RejectsSilence(SingleRegenerator):
        manipulation, name = "test", "test"

        def regenerate(self, request):
            if not request.audio.any():
                raise RejectedInput(request.clip_id, "silent")
            return RegionResult(request.audio[:10], request.sample_rate)

    audio, rate = real_clip
    requests = [RegionRequest(str(i), a, rate, (0.0, 1.0), "c", 0) for i, a in enumerate([audio, audio * 0, audio])]
    made = _regenerate_group(RejectsSilence(), requests)
    assert [type(m).__name__ for m in made] == ["RegionResult", "RejectedInput", "RegionResult"]
    assert _regenerate_group(RejectsSilence(), requests[1:2])[0].reason == "silent"
