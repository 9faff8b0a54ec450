"""Recipes are typed configs: defaults written once, overrides checked, the README's table matches the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from regenerate import configs
from regenerate.recipes import DESCRIPTIONS, RECIPES, get_recipe, recipe_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_misspelt_or_inapplicable_overrides_raise_and_list_the_known_ones():
    with pytest.raises(ConfigError, match=r"no setting 'stpes'; known: .*steps"):
        get_recipe("fakesound-train", stpes=5)
    with pytest.raises(ConfigError, match="no setting 'guidance'"):  # weight-free has no diffusion
        get_recipe("weight-free", guidance=3.0)
    with pytest.raises(ConfigError, match=r"unknown recipe 'nope'; known: debug-audioldm, debug-audioldm2, fakesound"):
        get_recipe("nope")


def test_overrides_reach_their_section_by_short_or_full_name():
    recipe = get_recipe("fakesound-train", steps=7, **{"inpaint.guidance": 2.0}, audiosr_steps=3, region_max_s=2.0)
    assert (recipe.inpaint.steps, recipe.inpaint.guidance, recipe.audiosr.steps) == (7, 2.0, 3)
    assert recipe.region.max_s == 2.0 and recipe.inpaint.checkpoint == configs.AUDIOLDM2.checkpoint
    assert get_recipe("fakesound-train", steps=None) == RECIPES["fakesound-train"]  # unset options change nothing
    zeroshot = get_recipe("fakesound-zeroshot", audiosr="haoheliu/audiosr_basic")  # adds AudioSR with its defaults
    assert zeroshot.audiosr == configs.AudioSRConfig(checkpoint="haoheliu/audiosr_basic")


def test_identity_holds_only_the_sections_the_backends_read():
    weight_free = RECIPES["weight-free"].to_dict()
    assert {"genuine_splice", "addition", "vocoder"} <= set(weight_free) and "inpaint" not in weight_free
    train = RECIPES["fakesound-train"].to_dict()
    assert "vocoder" not in train and train["inpaint"]["guidance"] == configs.AUDIOLDM2.guidance
    assert RECIPES["fakesound-zeroshot"].to_dict()["audiosr"] is None


def test_model_defaults_come_from_the_backend_configs():
    assert RECIPES["fakesound-zeroshot"].inpaint is configs.AUDIOLDM
    for name in ("fakesound-train", "fakesound-easy", "fakesound-hard"):
        assert RECIPES[name].inpaint is configs.AUDIOLDM2 and RECIPES[name].audiosr == configs.AudioSRConfig()


def test_readme_recipe_table_is_made_from_the_code():
    stale = "README's recipe table is stale: paste regenerate.recipes.recipe_table()"
    assert recipe_table() in README.read_text(), stale
    assert set(DESCRIPTIONS) == set(RECIPES)
