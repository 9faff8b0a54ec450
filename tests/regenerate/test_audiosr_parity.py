"""Our diffusers-built AudioSR components vs independent re-implementations in the OFFICIAL key layout.

The reference modules below are written from upstream's structure description (openai ``UNetModel`` with
``extra_sa_layer``, LDM ``Encoder``/``Decoder``, HiFi-GAN v1 ``Generator``). Their real-size key lists are first
checked against the official key fixture, then tiny random instances are converted with
``convert_official_state_dict`` and must compute the same function as our modules.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as tf
from torch import nn

from regenerate.audiosr import AudioSRModel, audiosr_config, convert_official_state_dict, tiny_audiosr_config

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "audiosr_keys.json"


# ---------------------------------------------------------------- openai UNet (official names)


class RefResBlock(nn.Module):
    def __init__(self, ch: int, emb: int, out: int):
        super().__init__()
        self.in_layers = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(ch, out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, out))
        self.out_layers = nn.Sequential(
            nn.GroupNorm(32, out), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(out, out, 3, padding=1)
        )
        self.skip_connection = nn.Identity() if ch == out else nn.Conv2d(ch, out, 1)

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class RefAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q, self.to_k, self.to_v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = (f(x).reshape(b, n, self.heads, -1).transpose(1, 2) for f in (self.to_q, self.to_k, self.to_v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        return self.to_out((weights @ v).transpose(1, 2).reshape(b, n, d))


class RefGEGLU(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Linear(dim, dim * 8)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * tf.gelu(gate)


class RefTransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attn1, self.attn2 = RefAttention(dim, heads), RefAttention(dim, heads)
        self.ff = nn.Module()
        self.ff.net = nn.Sequential(RefGEGLU(dim), nn.Dropout(0.0), nn.Linear(dim * 4, dim))
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x)) + x
        return self.ff.net(self.norm3(x)) + x


class RefSpatialTransformer(nn.Module):
    def __init__(self, ch: int, heads: int):
        super().__init__()
        self.norm = nn.GroupNorm(32, ch, eps=1e-6)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([RefTransformerBlock(ch, heads)])
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        y = self.transformer_blocks[0](y)
        return self.proj_out(y.transpose(1, 2).reshape(b, c, h, w)) + x


class RefDown(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class RefUp(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(tf.interpolate(x, scale_factor=2, mode="nearest"))


class RefSeq(nn.ModuleList):
    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, RefResBlock) else layer(x)
        return x


class RefUNet(nn.Module):
    """openai UNetModel with extra_sa_layer, context_dim None (both transformers self-attention)."""

    def __init__(self, c: dict):
        super().__init__()
        mc, temb = c["model_channels"], c["model_channels"] * 4
        self.mc = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.input_blocks = nn.ModuleList([RefSeq([nn.Conv2d(c["in_channels"], mc, 3, padding=1)])])
        chans, ch, ds = [mc], mc, 1

        def attn(width):
            heads = width // c["num_head_channels"]
            return [RefSpatialTransformer(width, heads), RefSpatialTransformer(width, heads)]

        for level, mult in enumerate(c["channel_mult"]):
            for _ in range(c["num_res_blocks"]):
                layers = [RefResBlock(ch, temb, mult * mc)]
                ch = mult * mc
                layers += attn(ch) if ds in c["attention_resolutions"] else []
                self.input_blocks.append(RefSeq(layers))
                chans.append(ch)
            if level != len(c["channel_mult"]) - 1:
                self.input_blocks.append(RefSeq([RefDown(ch)]))
                chans.append(ch)
                ds *= 2
        self.middle_block = RefSeq([RefResBlock(ch, temb, ch), *attn(ch), RefResBlock(ch, temb, ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(c["channel_mult"]))[::-1]:
            for i in range(c["num_res_blocks"] + 1):
                layers = [RefResBlock(ch + chans.pop(), temb, mc * mult)]
                ch = mc * mult
                layers += attn(ch) if ds in c["attention_resolutions"] else []
                if level and i == c["num_res_blocks"]:
                    layers.append(RefUp(ch))
                    ds //= 2
                self.output_blocks.append(RefSeq(layers))
        self.out = nn.Sequential(nn.GroupNorm(32, ch), nn.SiLU(), nn.Conv2d(mc, c["out_channels"], 3, padding=1))

    def forward(self, x, t):
        half = self.mc // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        emb = self.time_embed(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))
        hs, h = [], x
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


# ---------------------------------------------------------------- LDM VAE + HiFi-GAN (official names)


class RefVaeResnet(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin, eps=1e-6), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout, eps=1e-6), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(tf.silu(self.norm1(x)))
        h = self.conv2(tf.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class RefVaeAttention(nn.Module):
    def __init__(self, ch: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(ch, ch, 1) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x)
        q, k, v = (f(y).reshape(b, c, h * w) for f in (self.q, self.k, self.v))
        weights = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(c), dim=-1)  # [b, hw(query), hw(key)]
        return x + self.proj_out((v @ weights.transpose(1, 2)).reshape(b, c, h, w))


def _mid(ch: int, groups: int) -> nn.Module:
    mid = nn.Module()
    mid.block_1, mid.attn_1, mid.block_2 = (
        RefVaeResnet(ch, ch, groups),
        RefVaeAttention(ch, groups),
        RefVaeResnet(ch, ch, groups),
    )
    return mid


class RefEncoder(nn.Module):
    def __init__(self, widths: list[int], blocks: int, z: int, groups: int):
        super().__init__()
        self.conv_in = nn.Conv2d(1, widths[0], 3, padding=1)
        self.down, cin = nn.ModuleList(), widths[0]
        for i, width in enumerate(widths):
            level = nn.Module()
            level.block = nn.ModuleList([RefVaeResnet(cin if j == 0 else width, width, groups) for j in range(blocks)])
            if i < len(widths) - 1:
                level.downsample = nn.Module()
                level.downsample.conv = nn.Conv2d(width, width, 3, stride=2)
            self.down.append(level)
            cin = width
        self.mid = _mid(cin, groups)
        self.norm_out, self.conv_out = nn.GroupNorm(groups, cin, eps=1e-6), nn.Conv2d(cin, 2 * z, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if hasattr(level, "downsample"):
                h = level.downsample.conv(tf.pad(h, (0, 1, 0, 1)))
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(tf.silu(self.norm_out(h)))


class RefDecoder(nn.Module):
    def __init__(self, widths: list[int], blocks: int, z: int, groups: int):
        super().__init__()
        cin = widths[-1]
        self.conv_in = nn.Conv2d(z, cin, 3, padding=1)
        self.mid = _mid(cin, groups)
        levels = [None] * len(widths)
        for i in reversed(range(len(widths))):
            level = nn.Module()
            level.block = nn.ModuleList(
                [RefVaeResnet(cin if j == 0 else widths[i], widths[i], groups) for j in range(blocks + 1)]
            )
            cin = widths[i]
            if i > 0:
                level.upsample = nn.Module()
                level.upsample.conv = nn.Conv2d(cin, cin, 3, padding=1)
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out, self.conv_out = nn.GroupNorm(groups, cin, eps=1e-6), nn.Conv2d(cin, 1, 3, padding=1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for i in reversed(range(len(self.up))):
            for block in self.up[i].block:
                h = block(h)
            if i > 0:
                h = self.up[i].upsample.conv(tf.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(tf.silu(self.norm_out(h)))


class RefResBlock1(nn.Module):
    def __init__(self, ch: int, k: int, dilations: list[int]):
        super().__init__()
        self.convs1 = nn.ModuleList([nn.Conv1d(ch, ch, k, dilation=d, padding=(k * d - d) // 2) for d in dilations])
        self.convs2 = nn.ModuleList([nn.Conv1d(ch, ch, k, padding=(k - 1) // 2) for _ in dilations])

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = c2(tf.leaky_relu(c1(tf.leaky_relu(x, 0.1)), 0.1)) + x
        return x


class RefHifiGan(nn.Module):
    def __init__(self, v: dict):
        super().__init__()
        ch = v["upsample_initial_channel"]
        self.conv_pre = nn.Conv1d(v["model_in_dim"], ch, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(ch // 2**i, ch // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(v["upsample_rates"], v["upsample_kernel_sizes"], strict=True))
        )
        self.resblocks = nn.ModuleList(
            RefResBlock1(ch // 2 ** (i + 1), k, d)
            for i in range(len(self.ups))
            for k, d in zip(v["resblock_kernel_sizes"], v["resblock_dilation_sizes"], strict=True)
        )
        self.kernels = len(v["resblock_kernel_sizes"])
        self.conv_post = nn.Conv1d(ch // 2 ** len(self.ups), 1, 7, padding=3)

    def forward(self, mel):  # [B, mels, frames]
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            x = up(tf.leaky_relu(x, 0.1))
            x = sum(self.resblocks[i * self.kernels + j](x) for j in range(self.kernels)) / self.kernels
        return torch.tanh(self.conv_post(tf.leaky_relu(x)))


class RefVae(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        vae, vocoder = config["vae"], config["vocoder"]
        widths, blocks, z, groups = (
            vae["block_out_channels"],
            vae["layers_per_block"],
            vae["latent_channels"],
            vae["norm_num_groups"],
        )
        self.encoder, self.decoder = RefEncoder(widths, blocks, z, groups), RefDecoder(widths, blocks, z, groups)
        self.quant_conv, self.post_quant_conv = nn.Conv2d(2 * z, 2 * z, 1), nn.Conv2d(z, z, 1)
        self.vocoder = RefHifiGan(vocoder)


def _official_keys() -> dict[str, list[int]]:
    fixture = json.loads(FIXTURE.read_text())
    return {prefix + rest: shape for prefix, group in fixture["mapped"].items() for rest, shape in group.items()}


def _shapes(module: nn.Module, prefix: str) -> dict[str, list[int]]:
    return {prefix + k: list(v.shape) for k, v in module.state_dict().items()}


def test_reference_modules_have_exactly_the_official_keys_at_real_size():
    official = _official_keys()
    config = audiosr_config()
    with torch.device("meta"):
        unet, vae = RefUNet(config["unet"]), RefVae(config)
    assert _shapes(unet, "model.diffusion_model.") == {k: v for k, v in official.items() if k.startswith("model.")}
    first = {k: v for k, v in official.items() if k.startswith("first_stage_model.")}
    assert _shapes(vae, "first_stage_model.") == first


def _randomize(module: nn.Module, seed: int) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(
                torch.randn(p.shape, generator=gen) * (0.2 if p.dim() > 1 else 0.5) + (1.0 if p.dim() == 1 else 0.0)
            )
    return module.eval()


@pytest.fixture(scope="module")
def tiny_pair() -> tuple[nn.Module, nn.Module, AudioSRModel]:
    config = tiny_audiosr_config()
    ref_unet, ref_vae = _randomize(RefUNet(config["unet"]), 1), _randomize(RefVae(config), 2)
    official = _shapes_free(ref_unet, "model.diffusion_model.") | _shapes_free(ref_vae, "first_stage_model.")
    official |= {"cond_stage_models.0.vae." + k[len("first_stage_model.") :]: v for k, v in official.items()
                 if k.startswith(("first_stage_model.encoder.", "first_stage_model.quant_conv."))}  # fmt: skip
    official["scale_factor"] = torch.tensor(0.5)
    converted, ignored = convert_official_state_dict(official, config)
    assert ignored == []
    ours = AudioSRModel(config).eval()
    ours.load_state_dict(converted, strict=True)
    return ref_unet, ref_vae, ours


def _shapes_free(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v.clone() for k, v in module.state_dict().items()}


@torch.no_grad()
def test_unet_parity(tiny_pair):
    ref_unet, _, ours = tiny_pair
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 16, 8, generator=gen)
    t = torch.tensor([981, 1])
    expected = ref_unet(x, t)
    assert expected.abs().mean() > 0.1
    torch.testing.assert_close(ours.unet(x, t), expected, atol=2e-4, rtol=2e-4)


@torch.no_grad()
def test_vae_encoder_decoder_and_condition_encoder_parity(tiny_pair):
    _, ref_vae, ours = tiny_pair
    gen = torch.Generator().manual_seed(1)
    mel = torch.randn(1, 1, 64, 256, generator=gen)
    moments = ref_vae.quant_conv(ref_vae.encoder(mel))
    torch.testing.assert_close(ours.cond_encoder(mel).parameters, moments, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.vae.encode(mel).latent_dist.parameters, moments, atol=1e-4, rtol=1e-4)
    z = torch.randn(1, 4, 8, 32, generator=gen)
    expected = ref_vae.decoder(ref_vae.post_quant_conv(z))
    torch.testing.assert_close(ours.vae.decode(z).sample, expected, atol=1e-4, rtol=1e-4)


@torch.no_grad()
def test_vocoder_parity(tiny_pair):
    _, ref_vae, ours = tiny_pair
    mel = torch.randn(1, 256, 20, generator=torch.Generator().manual_seed(2))
    expected = ref_vae.vocoder(mel)[:, 0]
    assert expected.shape[-1] == 20 * 480 + 16  # upstream HiFi-GAN's (k - u) // 2 padding adds 16 samples
    torch.testing.assert_close(ours.vocoder(mel.transpose(1, 2)), expected, atol=1e-5, rtol=1e-4)
