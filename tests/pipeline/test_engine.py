"""The build engine in the core: layering, resume keys on the resolved runtime, provenance in the corpus."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

from flows.build import STAGES, build_demo
from pipeline.engine import BuildContext, labelled_span
from pipeline.seeding import keyed_int, keyed_rng
from regenerate.recipes import get_recipe

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"pipeline": set(), "grounding": {"pipeline"}, "regenerate": {"pipeline"}, "detector": {"pipeline"},
          "listen": {"pipeline", "detector"}, "flows": {"pipeline", "grounding", "regenerate", "detector", "listen"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(LAYERS)


def test_core_imports_no_stage_and_stages_import_only_the_core():
    for package, allowed in LAYERS.items():
        for path in (ROOT / package).rglob("*.py"):
            wrong = _imported_packages(path) - allowed - {package}
            assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def test_job_key_hashes_the_resolved_runtime_not_the_device_string(tmp_path):
    def key(recipe, device):
        return BuildContext(str(tmp_path), recipe, 0, STAGES, device=device).content_key()

    weight_free = get_recipe("weight-free")
    assert key(weight_free, "auto") == key(weight_free, "cpu") == key(weight_free, "cuda:1")  # numpy on the CPU
    model = get_recipe("fakesound-zeroshot")
    assert key(model, "cpu") == key(model, "cpu:0")
    assert key(model, "cuda") == key(model, "cuda:1") != key(model, "cpu")  # cuda: float16, so other bytes
    assert BuildContext(str(tmp_path), model, 0, STAGES, device="cuda").runtime() == {"device": "cuda",
                                                                                      "dtype": "float16"}


def test_manifest_records_runtime_and_summary_records_the_request(tmp_path):
    records, _ = build_demo(tmp_path / "c", clips=4, seed=2)
    fakes = [r for r in records if r.label == 1]
    assert fakes and all((r.extra["device"], r.extra["dtype"]) == ("cpu", "float32") for r in fakes)
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["request"]["demo"] is True and summary["request"]["clips"] == 4
    assert "out" not in summary["request"]  # the corpus does not depend on where it was built
    assert summary["runtime"] == {"device": "cpu", "dtype": "float32"}


def test_labelled_span_is_the_altered_part_on_the_grid():
    assert labelled_span((1.0, 3.0), None, 0.04) == (1.0, 3.0)
    assert labelled_span((1.0, 3.0), (1.0, 1.51), 0.04) == (1.0, 1.52)
    assert labelled_span((1.0, 3.0), (1.1, 3.0), 0.04) == (1.08, 3.0)


def test_keyed_randomness_is_stable_and_keyed():
    assert keyed_int(0, "a") == keyed_int(0, "a") != keyed_int(1, "a")
    assert keyed_rng(0, "a").random() == keyed_rng(0, "a").random() != keyed_rng(0, "b").random()
    assert keyed_int(0, "demo000_00001") == 1636754352  # pinned: a change would rebuild every corpus


def test_a_worker_keeps_one_set_of_loaded_regenerators(tmp_path):
    from pipeline.engine import _Loaded

    loads = []

    class CountingStages:
        def regenerators(self, recipe, donors, device):
            loads.append((recipe.name, device))
            return {}

        def region_source(self, grounding_path, policy, grounding=None, device="auto"):
            regions.append((grounding, device))
            return object()

    regions: list = []

    def ctx(recipe, device, grounding=None):
        return BuildContext(str(tmp_path), recipe, 0, CountingStages(), device=device, grounding=grounding)

    train, zeroshot = get_recipe("fakesound-train"), get_recipe("fakesound-zeroshot")
    for recipe, device in ((train, "cpu"), (train, "cpu"), (zeroshot, "cpu"), (train, "cpu"), (train, "cuda")):
        _Loaded.get(ctx(recipe, device))
    # loaded once per change of settings or device; never two at once (the previous set is dropped first)
    assert loads == [("fakesound-train", "cpu"), ("fakesound-zeroshot", "cpu"), ("fakesound-train", "cpu"),
                     ("fakesound-train", "cuda")]
    # the region source (an on-the-fly grounding model) likewise: once per change of grounding settings or device
    regions.clear()
    tag = {"backend": "tag", "model": "m", "uses_models": True}
    for grounding in (tag, tag, None, tag):
        _Loaded.regions(ctx(train, "cuda", grounding))
    assert regions == [(tag, "cuda"), (None, "cuda"), (tag, "cuda")]


def test_on_the_fly_grounding_keys_the_jobs_and_its_model_sets_the_runtime(tmp_path):
    weight_free = get_recipe("weight-free")
    plain = BuildContext(str(tmp_path), weight_free, 0, None, device="cuda")  # type: ignore[arg-type]
    energy = dataclasses.replace(plain, grounding={"backend": "energy", "uses_models": False})
    tag = dataclasses.replace(plain, grounding={"backend": "tag", "model": "m", "uses_models": True})
    other_tag = dataclasses.replace(plain, grounding={"backend": "tag", "model": "n", "uses_models": True})
    assert len({c.content_key() for c in (plain, energy, tag, other_tag)}) == 4
    assert plain.runtime() == energy.runtime() == {"device": "cpu", "dtype": "float32"}  # numpy only
    assert tag.runtime()["device"] == "cuda"  # the grounding model runs on the build's device
