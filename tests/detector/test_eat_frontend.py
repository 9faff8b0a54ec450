"""Tiny random EAT: time resolution, frame counts, freezing, and exact loading of official-layout files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from detector.frontends.eat import EATConfig, EATFrontend, EATInputConfig, WeightsUnavailableError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "eat_keys.json"
LAYOUTS = json.loads(FIXTURE.read_text())["layouts"]
TINY = EATConfig(embed_dim=32, depth=2, num_heads=2, max_time_patches=128, num_classes=5)
#: official base dimension -> tiny dimension (decoder groups 48 -> 2)
SHRINK = {768: 32, 2304: 96, 3072: 128, 6144: 128 * 8, 527: 5, 48: 2}


def _tiny_frontend(**kwargs) -> EATFrontend:
    torch.manual_seed(0)
    return EATFrontend(TINY, **kwargs)


def _wave(seconds: float, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.1 * torch.randn(batch, round(seconds * 16000), generator=g)


def test_ten_seconds_gives_63_frames_of_160ms() -> None:
    fe = _tiny_frontend()
    out = fe(_wave(10.0, batch=2))
    # 160000 samples -> 998 fbank frames -> ceil(998 / 16) = 63 rows of 16 x 10 ms = 160 ms
    assert out.shape == (2, 63, 32)
    assert fe.frame_s == pytest.approx(0.16) and fe.sample_rate == 16000 and fe.dim == 32
    assert fe.num_frames(160000) == 63
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("num_samples", [400, 2959, 2960, 16000, 40000])
def test_num_frames_agrees_with_forward(num_samples: int) -> None:
    fe = _tiny_frontend(inputs=EATInputConfig(pad_to_target=False))
    out = fe(_wave(num_samples / 16000))
    assert out.shape[1] == fe.num_frames(num_samples)
    assert fe.num_frames(num_samples) == -(-(1 + (num_samples - 400) // 160) // 16)


def test_too_short_input_is_rejected() -> None:
    fe = _tiny_frontend()
    assert fe.num_frames(399) == 0
    with pytest.raises(ValueError, match="shorter than one"):
        fe(torch.zeros(1, 399))


def test_long_input_is_windowed_at_target_length() -> None:
    """20.48 s = two 10.24 s windows; audio after the first window cannot change its frames."""
    fe = _tiny_frontend(inputs=EATInputConfig(remove_clip_mean=False))
    wave = _wave(20.48)
    changed = wave.clone()
    changed[:, 164080:] = _wave(20.48, seed=7)[:, 164080:]  # fbank frames 0..1023 end at sample 164079
    a, b = fe(wave), fe(changed)
    assert a.shape == (1, fe.num_frames(wave.shape[1]), 32) == (1, 128, 32)
    assert torch.equal(a[:, :64], b[:, :64])
    assert not torch.allclose(a[:, 64:], b[:, 64:])


def test_frequency_pooling_and_layer_selection() -> None:
    fe = _tiny_frontend()
    wave = _wave(1.0)
    x, windows = fe.encoder_input(wave)
    assert windows == 1 and x.shape == (1, 1024, 128)  # padded to EAT's 1024-frame training length
    tokens = fe.encoder(x)
    rows = tokens[:, 1:].reshape(1, 64, 8, 32).mean(2)[:, : fe.num_frames(16000)]
    assert torch.equal(fe(wave), rows)
    first_block = _tiny_frontend(layer=1)
    assert torch.equal(first_block(wave), fe.encoder(x, num_blocks=1)[:, 1:].reshape(1, 64, 8, 32).mean(2)[:, :7])


def test_frozen_has_no_grads_and_finetune_has() -> None:
    fe = _tiny_frontend()
    fe.train()
    assert not fe.encoder.training and not any(p.requires_grad for p in fe.parameters())
    out = fe(_wave(0.5))
    assert not out.requires_grad
    head = torch.nn.Linear(32, 1)
    head(out).sum().backward()
    assert all(p.grad is None for p in fe.parameters())
    fe.unfreeze()
    fe.train()
    assert fe.encoder.training
    fe(_wave(0.5)).sum().backward()
    assert fe.encoder.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


# ---------------------------------------------------------------- official-layout files at tiny size
def _tiny_official(layout: str, seed: int) -> dict[str, torch.Tensor]:
    """Random tensors under the official names of ``layout``, shrunk to TINY (blocks 0..1 only)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in LAYOUTS[layout]["keys"].items():
        block = re.search(r"(?<!decoder\.)blocks\.(\d+)\.", name)
        if block and int(block.group(1)) >= TINY.depth:
            continue
        shape = [SHRINK.get(s, s) for s in shape]
        state[name] = 0.2 * torch.randn(shape, generator=g) + (1.0 if "norm" in name and "weight" in name else 0.0)
    return state


def _reference_tokens(sd: dict[str, torch.Tensor], fbank: torch.Tensor, heads: int, prefix: str) -> torch.Tensor:
    """EAT forward written directly against the HF-release names (independent of our module and key map)."""

    def ln(x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps=1e-6)

    x = F.conv2d(fbank[:, None], sd[prefix + "local_encoder.proj.weight"], sd[prefix + "local_encoder.proj.bias"], 16)
    x = x.flatten(2).transpose(1, 2)
    x = x + sd[prefix + "fixed_positional_encoder.positions"][:, : x.shape[1]]
    x = torch.cat([sd[prefix + "extra_tokens"].expand(x.shape[0], -1, -1), x], dim=1)
    x = ln(x, prefix + "pre_norm")
    b, n, d = x.shape
    i = 0
    while f"{prefix}blocks.{i}.norm1.weight" in sd:
        p = f"{prefix}blocks.{i}."
        qkv = F.linear(x, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        attn = ((q * (d // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        y = (attn @ v).transpose(1, 2).reshape(b, n, d)
        x = ln(x + F.linear(y, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"]), p + "norm1")
        hidden = F.gelu(F.linear(x, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]))
        x = ln(x + F.linear(hidden, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"]), p + "norm2")
        i += 1
    return x


def _tiny_hf_config() -> dict:
    cfg = dict(LAYOUTS["hf_base_finetune"]["config"])
    cfg.update(embed_dim=32, depth=2, num_heads=2, max_length=128, num_classes=5)
    return cfg


def test_hf_safetensors_folder_loads_and_matches_reference(tmp_path: Path) -> None:
    official = _tiny_official("hf_base_finetune", seed=1)
    save_file(official, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(_tiny_hf_config()))
    fe = EATFrontend.from_pretrained(tmp_path)
    assert fe.config == TINY and fe.frozen
    x, _ = fe.encoder_input(_wave(2.0))
    with torch.no_grad():
        ours = fe.encoder(x)
        ref = _reference_tokens(official, x, heads=2, prefix="model.")
        logits = fe.encoder.classify(ours)
        ref_logits = F.linear(
            F.layer_norm(ref[:, 0], (32,), official["model.fc_norm.weight"], official["model.fc_norm.bias"], 1e-5),
            official["model.head.weight"],
            official["model.head.bias"],
        )
    torch.testing.assert_close(ours, ref, atol=2e-5, rtol=1e-5)
    torch.testing.assert_close(logits, ref_logits, atol=2e-5, rtol=1e-5)


def test_official_layout_round_trip_is_exact(tmp_path: Path) -> None:
    """Weights of a model written under the official names come back bit-identical (same outputs)."""
    src = _tiny_frontend()
    e = src.encoder
    official = {
        "model.local_encoder.proj.weight": e.patch_embed.weight,
        "model.local_encoder.proj.bias": e.patch_embed.bias,
        "model.extra_tokens": e.cls_token,
        "model.fixed_positional_encoder.positions": e.pos_table,
        "model.pre_norm.weight": e.input_norm.weight,
        "model.pre_norm.bias": e.input_norm.bias,
        "model.fc_norm.weight": e.head_norm.weight,
        "model.fc_norm.bias": e.head_norm.bias,
        "model.head.weight": e.head.weight,
        "model.head.bias": e.head.bias,
    }
    for i, blk in enumerate(e.blocks):
        for official_part, module in {
            "norm1": blk.post_attn_norm,
            "norm2": blk.post_mlp_norm,
            "attn.qkv": blk.attn.qkv,
            "attn.proj": blk.attn.proj,
            "mlp.fc1": blk.mlp.fc1,
            "mlp.fc2": blk.mlp.fc2,
        }.items():
            official[f"model.blocks.{i}.{official_part}.weight"] = module.weight
            official[f"model.blocks.{i}.{official_part}.bias"] = module.bias
    assert set(official) == {k for k in LAYOUTS["hf_base_finetune"]["keys"] if not re.search(r"blocks\.([2-9]|1\d)", k)}
    path = tmp_path / "eat.safetensors"
    save_file({k: v.detach().contiguous() for k, v in official.items()}, str(path))
    loaded = EATFrontend.from_pretrained(path)  # no config.json: architecture inferred from shapes
    assert loaded.config == EATConfig(embed_dim=32, depth=2, num_heads=1, max_time_patches=128, num_classes=5)
    (tmp_path / "config.json").write_text(json.dumps(_tiny_hf_config()))
    loaded = EATFrontend.from_pretrained(path)
    assert loaded.config == TINY
    for name, tensor in src.encoder.state_dict().items():
        assert torch.equal(loaded.encoder.state_dict()[name], tensor), name
    wave = _wave(3.0, batch=2)
    assert torch.equal(loaded(wave), src(wave))


@pytest.mark.parametrize("use_ema", [False, True])
def test_fairseq_pretraining_checkpoint(tmp_path: Path, use_ema: bool) -> None:
    student = _tiny_official("fairseq_base_pretrain", seed=2)
    teacher = _tiny_official("fairseq_base_pretrain_ema", seed=3)
    torch.save({"cfg": None, "model": {**student, "_ema": teacher}}, tmp_path / "checkpoint.pt")
    fe = EATFrontend.from_pretrained(tmp_path / "checkpoint.pt", use_ema=use_ema)
    chosen = teacher if use_ema else student
    as_hf = {}
    for name, tensor in chosen.items():
        hf = LAYOUTS["fairseq_base_pretrain"]["hf_names"][name]
        if hf is not None:
            as_hf[hf] = tensor
    assert fe.config.num_classes == 0 and fe.config.num_heads == 1  # inferred: 32 / 64 -> 1 head
    x, _ = fe.encoder_input(_wave(1.0))
    with torch.no_grad():
        torch.testing.assert_close(fe.encoder(x), _reference_tokens(as_hf, x, 1, "model."), atol=2e-5, rtol=1e-5)


def test_fairseq_finetuned_fp16_checkpoint(tmp_path: Path) -> None:
    official = {k: v.half() for k, v in _tiny_official("fairseq_base_finetune", seed=4).items()}
    torch.save({"model": official}, tmp_path / "ft.pt")
    fe = EATFrontend.from_pretrained(tmp_path / "ft.pt")
    assert fe.encoder.patch_embed.weight.dtype == torch.float32
    src = official["model.modality_encoders.IMAGE.context_encoder.norm.weight"]
    assert torch.equal(fe.encoder.input_norm.weight, src.float())
    assert torch.equal(fe.encoder.head_norm.bias, official["fc_norm.bias"].float())


def test_mismatched_checkpoint_names_the_problem(tmp_path: Path) -> None:
    official = _tiny_official("hf_base_finetune", seed=5)
    del official["model.blocks.1.norm2.bias"]
    save_file(official, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(_tiny_hf_config()))
    with pytest.raises(ValueError, match=r"missing \['blocks.1.post_mlp_norm.bias'\]"):
        EATFrontend.from_pretrained(tmp_path)


def test_offline_hub_id_gives_one_actionable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(WeightsUnavailableError) as info:
        EATFrontend.from_pretrained("worstchan/EAT-base_epoch30_finetune_AS2M", local_files_only=True)
    message = str(info.value)
    assert "hf download worstchan/EAT-base_epoch30_finetune_AS2M" in message
    assert "HF_HUB_OFFLINE" in message and "local" in message and "\n" not in message
    for missing in (str(tmp_path / "missing" / "eat.safetensors"), "weights/eat.safetensors", "ckpts/EAT_ft.pt"):
        with pytest.raises(FileNotFoundError, match="no such EAT checkpoint"):
            EATFrontend.from_pretrained(missing)


def test_fixed_positional_table_layout() -> None:
    """First half of the channels codes the frequency patch, second half the time patch (sin, then cos)."""
    from detector.frontends.eat.model import sincos_table_2d

    table = sincos_table_2d(768, 768, 8)[0].double()
    q = 768 // 4
    omega = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    k = torch.arange(768 * 8, dtype=torch.float64)
    f_angle, t_angle = torch.outer(k % 8, omega), torch.outer(torch.div(k, 8, rounding_mode="floor"), omega)
    expected = torch.cat([f_angle.sin(), f_angle.cos(), t_angle.sin(), t_angle.cos()], dim=1)
    assert table.shape == (6144, 768)
    assert (table - expected).abs().max() < 2e-4  # float32 evaluation, as in the released tables
