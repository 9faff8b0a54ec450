"""Key coverage: every official EAT key (HF release and fairseq) maps onto our encoder with its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from detector.frontends.eat.keymap import EATKeyError, infer_config, map_state_dict, to_native_key
from detector.frontends.eat.model import EATConfig, EATEncoder

FIXTURE = Path(__file__).parents[1] / "fixtures" / "eat_keys.json"
LAYOUTS = json.loads(FIXTURE.read_text())["layouts"]
#: fairseq-only entries that are not part of the encoder (MAE decoder of pre-training).
EXPECTED_DROPPED = {"fairseq_base_pretrain": 14}


def _config_for(layout: str) -> EATConfig:
    entry = LAYOUTS[layout]
    if "config" in entry:
        return EATConfig.from_hf_config(entry["config"])
    return EATConfig.base(finetuned=layout.endswith("finetune"))


def _meta_shapes(cfg: EATConfig) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        encoder = EATEncoder(cfg)
    return {k: tuple(v.shape) for k, v in encoder.state_dict().items()}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_official_key_maps_with_its_shape(layout: str) -> None:
    keys = LAYOUTS[layout]["keys"]
    mapped: dict[str, tuple[int, ...]] = {}
    dropped = []
    for name, shape in keys.items():
        native = to_native_key(name)
        if native is None:
            dropped.append(name)
            continue
        assert native not in mapped, f"two official keys map to {native}"
        mapped[native] = tuple(shape)
    own = _meta_shapes(_config_for(layout))
    assert set(mapped) == set(own), (sorted(set(own) - set(mapped)), sorted(set(mapped) - set(own)))
    assert mapped == own
    assert len(dropped) == EXPECTED_DROPPED.get(layout, 0)
    assert all(".decoder." in name for name in dropped)


@pytest.mark.parametrize("layout", ["fairseq_base_pretrain", "fairseq_base_finetune"])
def test_fairseq_and_hf_names_agree(layout: str) -> None:
    """The model facts give each fairseq key's HF name; both must land on the same parameter."""
    for fairseq_name, hf_name in LAYOUTS[layout]["hf_names"].items():
        expected = None if hf_name is None else to_native_key(hf_name)
        assert to_native_key(fairseq_name) == expected, fairseq_name


def test_real_size_configs_and_counts() -> None:
    assert _config_for("hf_base_finetune") == EATConfig.base(finetuned=True)
    assert _config_for("hf_large_finetune") == EATConfig.large(finetuned=True)
    assert _config_for("hf_base_pretrain") == EATConfig.base()
    with torch.device("meta"):
        base = EATEncoder(EATConfig.base(finetuned=True))
    assert sum(v.numel() for v in base.state_dict().values()) == 90_379_535  # facts: base finetune numel


def test_infer_config_from_shapes() -> None:
    state = {to_native_key(k): torch.empty(v, device="meta") for k, v in LAYOUTS["hf_base_finetune"]["keys"].items()}
    assert infer_config(state) == EATConfig.base(finetuned=True)


def test_renames_that_matter_and_unknown_keys() -> None:
    assert to_native_key("modality_encoders.IMAGE.context_encoder.norm.weight") == "input_norm.weight"
    assert to_native_key("model.pre_norm.bias") == "input_norm.bias"
    assert to_native_key("model.blocks.11.norm1.weight") == "blocks.11.post_attn_norm.weight"
    assert to_native_key("blocks.3.norm2.bias") == "blocks.3.post_mlp_norm.bias"
    assert to_native_key("fc_norm.weight") == "head_norm.weight"
    with pytest.raises(EATKeyError, match="unknown EAT checkpoint key"):
        to_native_key("model.norm.weight")  # EAT has no final norm: such a file is not EAT
    result = map_state_dict({"_ema": {"x": 1}, "blocks.0.norm1.weight": torch.ones(2)})
    assert result.dropped == ["_ema"] and list(result.state) == ["blocks.0.post_attn_norm.weight"]
