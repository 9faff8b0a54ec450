"""Latent inpainting vs plain text-to-audio of the same pipeline, at the published sizes (random weights).

    python benchmarks/bench_inpainting.py [--quick] [--models audioldm audioldm2] [--seconds 10] [--steps 3]
    python benchmarks/bench_inpainting.py --device cuda --fp16 --batch 1 8 16 --steps 100   # GPU throughput

Builds AudioLDM-S-full-v2 and AudioLDM 2 (base) from their published component configs
(``benchmarks/configs/*.json``) with random weights (or loads ``--checkpoint-audioldm``/``--checkpoint-audioldm2``),
then times, for the same clip length and latent size:

* our ``inpaint`` (mel + VAE encode, DDIM with re-noised known latents, VAE decode + vocoder), and
* diffusers' ``AudioLDMPipeline`` / ``AudioLDM2Pipeline`` text-to-audio on the same components.

Seconds per denoising step are gaps between consecutive step callbacks (so text encoding, VAE and vocoder
are excluded): the smallest gap (least disturbed by other load) and the median, over ``--repeats`` interleaved
calls; the target is inpaint/text-to-audio <= 1.05. On a shared CPU those timings are noisy, so the work an
inpainting step adds (fresh noise, re-noising, masked merge) is also timed on its own and given as a share of
a text-to-audio step. Also printed: end-to-end seconds per call,
clips/hour (batch * 3600 / end-to-end s) and peak memory (process RSS sampled during the call; CUDA: peak
allocated). Text-to-audio runs at the padded length inpainting uses (a multiple of 0.32 s), so both UNets see
the same latent size.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regenerate.debug_models import roberta_tokenizer, t5_tokenizer

CONFIGS = Path(__file__).resolve().parent / "configs"
CAPTION = "A dog barks twice while rain falls on a tin roof"


# -- random-weight components from the published configs ------------------------------------------------------
def build_audioldm(folder: Path) -> dict[str, Any]:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import ClapTextConfig, ClapTextModelWithProjection, SpeechT5HifiGan, SpeechT5HifiGanConfig

    cfg = json.loads((CONFIGS / "audioldm_s_full_v2.json").read_text())
    return {
        "vae": AutoencoderKL(**cfg["vae"]),
        "unet": UNet2DConditionModel(**cfg["unet"]),
        "text_encoder": ClapTextModelWithProjection(ClapTextConfig(**cfg["text_encoder"])),
        "tokenizer": roberta_tokenizer(folder, cfg["tokenizer_max_length"]),
        "vocoder": SpeechT5HifiGan(SpeechT5HifiGanConfig(**cfg["vocoder"])),
        "scheduler": DDIMScheduler(**cfg["scheduler"]),
    }


def build_audioldm2(folder: Path) -> dict[str, Any]:
    from diffusers import AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel, AutoencoderKL, DDIMScheduler
    from transformers import (
        ClapConfig,
        ClapModel,
        GPT2Config,
        GPT2LMHeadModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    cfg = json.loads((CONFIGS / "audioldm2.json").read_text())
    unet = {k: v for k, v in cfg["unet"].items() if k not in ("sample_size",)}
    return {
        "vae": AutoencoderKL(**cfg["vae"]),
        "unet": AudioLDM2UNet2DConditionModel(sample_size=cfg["unet"]["sample_size"], **unet),
        "text_encoder": ClapModel(ClapConfig(**cfg["text_encoder"])),
        "text_encoder_2": T5EncoderModel(T5Config(**cfg["text_encoder_2"])),
        "projection_model": AudioLDM2ProjectionModel(**cfg["projection_model"]),
        "language_model": GPT2LMHeadModel(GPT2Config(**cfg["language_model"])),
        "tokenizer": roberta_tokenizer(folder, cfg["tokenizer_max_length"]),
        "tokenizer_2": t5_tokenizer(cfg["tokenizer_2_max_length"]),
        "vocoder": SpeechT5HifiGan(SpeechT5HifiGanConfig(**cfg["vocoder"])),
        "scheduler": DDIMScheduler(**cfg["scheduler"]),
    }


def load_inpainter(name: str, checkpoint: str | None, device: str, dtype: torch.dtype, folder: Path):
    from regenerate.audioldm import AudioLDM2Inpainter, AudioLDMInpainter

    cls = AudioLDMInpainter if name == "audioldm" else AudioLDM2Inpainter
    if checkpoint:
        return cls.from_pretrained(checkpoint, device=device, dtype=dtype)
    with torch.device("cpu"):
        parts = (build_audioldm if name == "audioldm" else build_audioldm2)(folder)
    return cls(**parts).to(device, dtype)


def float32_decoding(vae: Any) -> Any:
    """A view of ``vae`` (the same parameters) whose ``decode`` casts latents to float32 first.

    diffusers' AudioLDM pipelines make latents in the prompt embeddings' dtype (fp16 with ``--fp16``) and hand
    them to the VAE, which stays float32 as in the inpainter: without the cast the first fp16 call fails with
    "Input type (c10::Half) and bias type (float) should be the same"."""
    view = copy.copy(vae)
    decode = vae.decode
    view.decode = lambda z, *args, **kwargs: decode(z.to(torch.float32), *args, **kwargs)
    return view


def text_to_audio_pipeline(inpainter) -> Any:
    """diffusers' own pipeline over the same component objects (the VAE decoding in float32, as ours)."""
    from diffusers import AudioLDM2Pipeline, AudioLDMPipeline

    common = {"vae": float32_decoding(inpainter.vae), "unet": inpainter.unet, "vocoder": inpainter.vocoder}
    common |= {"scheduler": inpainter.scheduler, "text_encoder": inpainter.text_encoder}
    common["tokenizer"] = inpainter.tokenizer
    if inpainter.generator_name == "audioldm":
        pipe = AudioLDMPipeline(**common)
    else:
        pipe = AudioLDM2Pipeline(
            **common,
            text_encoder_2=inpainter.text_encoder_2,
            projection_model=inpainter.projection_model,
            language_model=inpainter.language_model,
            tokenizer_2=inpainter.tokenizer_2,
            feature_extractor=None,
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe


# -- measuring ------------------------------------------------------------------------------------------------
class PeakMemory:
    """Peak process RSS (sampled every 5 ms) or peak CUDA allocation during a ``with`` block, in GB."""

    def __init__(self, device: torch.device):
        self.device, self.peak_gb, self._stop = device, 0.0, threading.Event()

    @staticmethod
    def rss_gb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024**2
        return 0.0

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak_gb = max(self.peak_gb, self.rss_gb())

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self.peak_gb = self.rss_gb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_gb = torch.cuda.max_memory_allocated(self.device) / 1024**3
        else:
            self._stop.set()
            self._thread.join()


def run_timed(fn: Callable[[Callable[..., None]], object], device: torch.device) -> dict[str, float]:
    """Run ``fn(step_callback)``; median seconds between step callbacks, end-to-end seconds, peak memory."""
    stamps: list[float] = []

    def on_step(*_: object) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        stamps.append(time.perf_counter())

    with PeakMemory(device) as memory:
        start = time.perf_counter()
        fn(on_step)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        total = time.perf_counter() - start
    return {"gaps": list(np.diff(stamps)), "total_s": total, "peak_gb": memory.peak_gb}


def masking_overhead_s(inpainter, batch: int, num_samples: int, device: torch.device, repeats: int = 20) -> float:
    """Median seconds of the work an inpainting step adds to a text-to-audio step: fresh per-clip noise,
    re-noising the original latents to the step's timestep, and the masked merge (same calls as ``denoise``)."""
    from regenerate.ddim import DDIMSchedule, RowNoise

    frames = inpainter.padded_frames(num_samples) // inpainter.vae_factor
    bins = inpainter.mel.config.n_mels // inpainter.vae_factor
    shape = (inpainter.unet.config.in_channels, frames, bins)
    x0 = torch.randn((batch, *shape), device=device)
    latents = torch.randn((batch, *shape), device=device)
    mask = torch.zeros(batch, 1, frames, 1, dtype=torch.bool, device=device)
    mask[:, :, frames // 3 : frames // 2] = True
    noise = RowNoise([torch.Generator("cpu").manual_seed(i) for i in range(batch)], device)
    schedule = DDIMSchedule.make(inpainter.scheduler.alphas_cumprod, 100, 1.0)
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        known = schedule.q_sample(x0, 50, noise.draw(shape))
        torch.where(mask, latents, known)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_model(name: str, args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        inpainter = load_inpainter(name, getattr(args, f"checkpoint_{name}"), str(device), dtype, Path(tmp))
        build_s = time.perf_counter() - start
    pipe = text_to_audio_pipeline(inpainter)
    params = sum(p.numel() for p in inpainter.unet.parameters()) / 1e6
    samples = round(args.seconds * inpainter.sample_rate)
    padded_s = inpainter.padded_frames(samples) * inpainter.hop / inpainter.sample_rate
    print(f"\n{name}: built in {build_s:.1f} s, UNet {params:.0f} M params, {args.seconds} s clips "
          f"-> {padded_s:.2f} s padded, {args.steps} steps, guidance {args.guidance}, eta {args.eta}")  # fmt: skip
    rng = np.random.default_rng(0)
    rows = []
    for batch in args.batch:
        clips = [(0.1 * rng.standard_normal(samples)).astype(np.float32) for _ in range(batch)]
        region = (args.seconds * 0.4, args.seconds * 0.6)
        seeds = list(range(batch))

        def inpaint(callback, clips=clips, region=region, seeds=seeds, batch=batch):
            inpainter.inpaint(clips, [region] * batch, [CAPTION] * batch, seeds, steps=args.steps,
                              guidance=args.guidance, eta=args.eta, callback=callback)  # fmt: skip

        def text_to_audio(callback, batch=batch):
            generators = [torch.Generator("cpu").manual_seed(s) for s in range(batch)]
            pipe([CAPTION] * batch, audio_length_in_s=padded_s, num_inference_steps=args.steps,
                 guidance_scale=args.guidance, eta=args.eta, generator=generators, callback=callback)  # fmt: skip

        modes = {"text-to-audio": text_to_audio, "inpainting": inpaint}
        if args.warmup:
            for fn in modes.values():
                fn(lambda *_: None)
        runs: dict[str, list[dict]] = {mode: [] for mode in modes}
        for _ in range(args.repeats):  # interleaved, so load changes on a shared machine hit both alike
            for mode, fn in modes.items():
                runs[mode].append(run_timed(fn, device))
        summary = {
            mode: {
                "step_s": min(g for r in rs for g in r["gaps"]),  # least disturbed step
                "step_median_s": statistics.median(g for r in rs for g in r["gaps"]),
                "total_s": min(r["total_s"] for r in rs),
                "peak_gb": max(r["peak_gb"] for r in rs),
            }
            for mode, rs in runs.items()
        }
        base = summary["text-to-audio"]
        extra = masking_overhead_s(inpainter, batch, samples, device)
        print(f"batch {batch}: inpainting's extra work per step (noise, re-noise, merge) {extra * 1e3:.2f} ms = "
              f"{100 * extra / base['step_s']:.3f}% of a text-to-audio step -> expected ratio "
              f"{(base['step_s'] + extra) / base['step_s']:.4f}")  # fmt: skip
        for mode, m in summary.items():
            rows.append({"model": name, "batch": batch, "mode": mode, **m, "ratio": m["step_s"] / base["step_s"],
                         "median_ratio": m["step_median_s"] / base["step_median_s"],
                         "clips_per_hour": batch * 3600 / m["total_s"]})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="AudioLDM only, 2.56 s clips, 3 steps")
    parser.add_argument("--models", nargs="+", default=["audioldm", "audioldm2"], choices=["audioldm", "audioldm2"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=3, help="DDIM steps per call (>= 3: per-step needs 2 gaps)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--guidance", type=float, default=3.5)
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fp16", action="store_true", help="half-precision UNet/text encoders (CUDA)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--warmup", action="store_true", help="one untimed call per mode first (GPU)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved timed calls per mode")
    parser.add_argument("--checkpoint-audioldm", default=None, help="time a real checkpoint (hub id or folder)")
    parser.add_argument("--checkpoint-audioldm2", default=None, help="time a real checkpoint (hub id or folder)")
    args = parser.parse_args()
    if args.quick:
        args.models, args.seconds, args.steps, args.repeats = ["audioldm"], 2.56, 3, 1
    if args.steps < 3:
        parser.error("--steps must be >= 3")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = torch.float16 if args.fp16 else torch.float32
    print(f"device {device}, dtype {dtype}, threads {args.threads}")
    rows = [row for name in args.models for row in bench_model(name, args, device, dtype)]

    columns = ("model", "batch", "mode", "s/step(min)", "ratio", "s/step(med)", "ratio")
    columns += ("total s", "clips/h", "peak GB")
    header = f"{columns[0]:<10} {columns[1]:>5} {columns[2]:<14}" + "".join(f" {c:>11}" for c in columns[3:])
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        numbers = (r["step_s"], r["ratio"], r["step_median_s"], r["median_ratio"], r["total_s"])
        print(f"{r['model']:<10} {r['batch']:>5} {r['mode']:<14}" + "".join(f" {x:>11.3f}" for x in numbers)
              + f" {r['clips_per_hour']:>11.0f} {r['peak_gb']:>11.2f}")  # fmt: skip
    worst = max(r["ratio"] for r in rows if r["mode"] == "inpainting")
    print(f"\nworst inpainting/text-to-audio seconds-per-step ratio: {worst:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
