"""The build engine in the core: layering, resume keys on the resolved runtime, provenance in the corpus."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from flows.build import STAGES, build_demo
from pipeline.engine import BuildContext, labelled_span
from pipeline.seeding import keyed_int, keyed_rng
from regenerate.recipes import get_recipe

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"pipeline": set(), "grounding": {"pipeline"}, "regenerate": {"pipeline"}, "detector": {"pipeline"},
          "flows": {"pipeline", "grounding", "regenerate", "detector"}}


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
