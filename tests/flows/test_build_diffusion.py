"""End-to-end builds with the diffusion recipes on tiny random checkpoints saved in the published layouts."""

import pytest
import tiny_models
from tiny_corpus import assert_fakes_are_hard_splices

from flows.build import run_build, thread_executor
from flows.cli import main
from pipeline.compose import compose_demo_sources
from pipeline.manifest import read_manifest
from regenerate.recipes import get_recipe


@pytest.fixture(scope="module")
def sources(tmp_path_factory, kit_dir):
    root = tmp_path_factory.mktemp("sources")
    manifest, grounding = compose_demo_sources(root, 3, seed=7, kit_dir=kit_dir)
    return read_manifest(manifest), root, str(grounding)


@pytest.fixture(scope="module")
def audiosr_checkpoint(tmp_path_factory):
    return tiny_models.save_audiosr(tmp_path_factory.mktemp("audiosr"))


def test_fakesound_easy_recipe_builds_with_audioldm2_and_audiosr(tmp_path, sources, audiosr_checkpoint):
    records, root, grounding = sources
    checkpoint = tiny_models.save_checkpoint(
        tiny_models.audioldm2_components(tmp_path / "parts"), tmp_path / "audioldm2", audioldm2=True
    )
    recipe = get_recipe("fakesound-easy", checkpoint=str(checkpoint), steps=2, audiosr=str(audiosr_checkpoint),
                        audiosr_steps=1, audiosr_config=str(audiosr_checkpoint / "config.json"))
    out = tmp_path / "corpus"
    built, rejections = run_build(out, records, root, recipe, seed=5, grounding_path=grounding,
                                  device="cpu", executor=thread_executor(1, progress=False))
    assert rejections == []
    for fake in assert_fakes_are_hard_splices(out, built, 32000):
        assert 1.0 <= fake.segments[0][1] - fake.segments[0][0] <= 4.0
        info = fake.extra
        assert fake.manipulation == "inpainting" and fake.generator == "audioldm2"
        assert info["checkpoint"] == str(checkpoint) and info["steps"] == 2 and info["guidance"] == 2.5
        assert info["n_candidates"] == 3 and info["candidate"] in (0, 1, 2) and info["clap"] == "text_encoder"
        assert info["audiosr"] == str(audiosr_checkpoint) and info["audiosr_steps"] == 1
        assert info["recipe"] == "fakesound-easy" and fake.seed is not None


def test_fakesound_zeroshot_through_the_cli_at_16k_without_audiosr(tmp_path, sources):
    _, root, grounding = sources
    checkpoint = tiny_models.save_checkpoint(tiny_models.audioldm_components(tmp_path / "parts"), tmp_path / "ldm")
    out = tmp_path / "corpus"
    argv = ["build", "--sources", str(root / "sources.jsonl"), "--out", str(out), "--recipe", "fakesound-zeroshot",
            "--checkpoint", str(checkpoint), "--steps", "2", "--grounding", grounding, "--device", "cpu",
            "--workers", "1", "--quiet", "--clap", str(tiny_models.save_clap(tmp_path / "clap"))]
    assert main(argv) == 0
    built = read_manifest(out / "manifest.jsonl")
    for fake in assert_fakes_are_hard_splices(out, built, 16000):
        assert fake.generator == "audioldm" and fake.extra["audiosr"] is None and fake.extra["steps"] == 2
        assert fake.extra["n_candidates"] == 3 and isinstance(fake.extra["clap_score"], float)
    # same seed, fresh folder: the same corpus, byte for byte
    assert main([*argv[:4], str(tmp_path / "again"), *argv[5:]]) == 0
    assert (out / "manifest.jsonl").read_bytes() == (tmp_path / "again" / "manifest.jsonl").read_bytes()


@pytest.mark.parametrize(("recipe", "rate", "generator"), [("debug-audioldm", 16000, "debug-audioldm"),
                                                           ("debug-audioldm2", 32000, "debug-audioldm2")])  # fmt: skip
def test_debug_recipes_run_the_whole_diffusion_path_from_the_cli_without_weights(tmp_path, sources, recipe, rate,
                                                                                  generator):  # fmt: skip
    _, root, grounding = sources
    out = tmp_path / "corpus"
    argv = ["build", "--sources", str(root / "sources.jsonl"), "--out", str(out), "--recipe", recipe,
            "--grounding", grounding, "--device", "cpu", "--workers", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    for fake in assert_fakes_are_hard_splices(out, read_manifest(out / "manifest.jsonl"), rate):
        assert fake.generator == generator and fake.extra["checkpoint"] == "debug"  # the manifest says: noise
        assert fake.extra["n_candidates"] == 2 and fake.extra["candidate"] in (0, 1)
        assert fake.extra["audiosr"] == ("debug" if recipe == "debug-audioldm2" else None)
