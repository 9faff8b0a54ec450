"""Time our AudioSR inference at the published size (random weights): per-stage seconds for one 5.12 s chunk.

    python benchmarks/bench_audiosr.py [--quick] [--device cpu|cuda] [--threads N] [--steps N] [--json PATH]

Prints a table: front end (features, cutoff, low-pass), condition encoder (VAE encode), one DDIM step with
classifier-free guidance (UNet on a batch of 2), VAE decode, vocoder, band replacement, the full-chunk estimate
for 50 steps, and peak memory. Without ``--quick`` it also runs a real ``upsample_chunk`` with ``--steps`` steps
and compares it with the estimate. ``--json`` also writes the figures (``benchmarks/gpu_check.py`` reads them).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from regenerate.audiosr import AudioSRUpsampler, audiosr_config
from regenerate.audiosr import features as F
from regenerate.audiosr.sampling import guided_velocity, unconditional_like

CHUNK_SECONDS = 5.12


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def dtype_of(module: torch.nn.Module) -> torch.dtype:
    """The dtype a component computes in (its first floating parameter): the VAE, condition encoder and vocoder
    may stay float32 while the UNet runs in half precision."""
    return next(p.dtype for p in module.parameters() if p.is_floating_point())


def synchronize(device: torch.device) -> None:
    """Wait for ``device``'s queued kernels (the chosen GPU, not the default one); a no-op on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> tuple[float, object]:
    """Median seconds of ``repeats`` runs (after one warm-up run when repeating), and the last result."""
    result = fn() if repeats > 1 else None
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        result = fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def band_limited_chunk(seconds: float = CHUNK_SECONDS, cutoff_hz: float = 8000.0) -> np.ndarray:
    """Seeded noise band-limited to ``cutoff_hz`` at 48 kHz (what AudioSR is asked to extend)."""
    samples = round(seconds * F.SAMPLE_RATE)
    rng = np.random.default_rng(0)
    spectrum = np.fft.rfft(rng.standard_normal(samples)) * (np.fft.rfftfreq(samples, 1 / F.SAMPLE_RATE) < cutoff_hz)
    return (np.fft.irfft(spectrum, samples) * 0.1).astype(np.float32)


def measure_chunk(up: AudioSRUpsampler, repeats: int, steps: int | None = None) -> dict[str, Any]:
    """Per-stage seconds for one chunk: ``stages`` (name, seconds), ``step_s`` (one DDIM step with CFG),
    ``fixed_s`` (everything else), ``estimate_50_s``, ``peak_cuda_gb`` (on ``up.device``; None on the CPU) and,
    when ``steps`` is given, ``end_to_end_s`` of a real ``upsample_chunk`` with that many steps."""
    device, model = up.device, up.model
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    audio = band_limited_chunk()
    rows: list[tuple[str, float]] = []

    def front_end():
        wave, _ = F.normalize_for_model(audio)
        feats = F.extract_features(torch.from_numpy(wave)[None].to(device))
        low = F.lowpass_condition(wave, F.estimate_cutoff_hz(feats.magnitude[0]), "cheby1")
        return F.extract_features(torch.from_numpy(low)[None].to(device)).log_mel, low

    seconds, (lowpass_mel, lowpassed) = timed(front_end, repeats, device)
    rows.append(("front end: 2x mel/STFT, cutoff, low-pass filter", seconds))

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        scale = float(model.scale_factor)
        cond_in = lowpass_mel[:, None].to(dtype_of(model.cond_encoder))
        seconds, posterior = timed(lambda: model.cond_encoder(cond_in), repeats, device)
        rows.append(("VAE encode (low-pass condition encoder)", seconds))
        cond = posterior.sample(generator=gen).float() * scale
        latents = torch.randn(cond.shape, generator=gen).to(device)
        t = torch.tensor(501, device=device)
        uncond = unconditional_like(cond, scale)
        seconds, _ = timed(lambda: guided_velocity(model.unet, latents, t, cond, uncond, 3.5), repeats, device)
        rows.append((f"UNet, one DDIM step with CFG (batch 2, latent {tuple(cond.shape[1:])})", seconds))
        step_s = seconds
        vae_in = (latents / scale).to(dtype_of(model.vae))
        seconds, mel = timed(lambda: model.vae.decode(vae_in).sample.float(), repeats, device)
        rows.append(("VAE decode", seconds))
        vocoder_in = mel[:, 0].to(dtype_of(model.vocoder))
        seconds, wave = timed(lambda: model.vocoder(vocoder_in).float(), repeats, device)
        rows.append(("vocoder (HiFi-GAN 48 kHz)", seconds))
    generated = wave[0, : len(audio)].cpu().numpy()
    seconds, _ = timed(
        lambda: (F.replace_low_mel_bins(mel, lowpass_mel), F.replace_low_band(generated, lowpassed)), repeats, device
    )
    rows.append(("band replacement (mel + STFT)", seconds))
    fixed = sum(s for name, s in rows if "UNet" not in name)
    result: dict[str, Any] = {"stages": rows, "step_s": step_s, "fixed_s": fixed, "estimate_50_s": fixed + 50 * step_s}
    if steps is not None:
        start = time.perf_counter()
        out = up.upsample_chunk(audio, seed=0, steps=steps, guidance=3.5, eta=1.0)
        result["end_to_end_s"] = time.perf_counter() - start
        result["finite"] = bool(np.isfinite(out).all())
    result["peak_cuda_gb"] = torch.cuda.max_memory_allocated(device) / 1024**3 if device.type == "cuda" else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one cold run per stage, no end-to-end check")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=2, help="DDIM steps of the end-to-end check")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    up = AudioSRUpsampler.from_config(audiosr_config(), device=args.device, seed=0)
    build_s = time.perf_counter() - start
    params = {name: sum(p.numel() for p in getattr(up.model, name).parameters())
              for name in ("unet", "vae", "vocoder", "cond_encoder")}  # fmt: skip
    print(f"device {up.device}, dtype {up.dtype}, threads {args.threads}, build {build_s:.1f} s, params (M): "
          + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in params.items()))  # fmt: skip
    rss_model = peak_rss_gb()
    result = measure_chunk(up, repeats=1 if args.quick else 3, steps=None if args.quick else args.steps)

    print(f"\nAudioSR, real-size architecture with random weights, one {CHUNK_SECONDS} s chunk at 48 kHz")
    print(f"{'stage':<66} {'seconds':>9}")
    print("-" * 76)
    for name, seconds in result["stages"]:
        print(f"{name:<66} {seconds:>9.2f}")
    print("-" * 76)
    print(f"{'per DDIM step per 5.12 s chunk (CFG)':<66} {result['step_s']:>9.2f}")
    print(f"{'everything but the steps (front end, VAE enc/dec, vocoder, post)':<66} {result['fixed_s']:>9.2f}")
    print(f"{'estimated full chunk, 50 steps':<66} {result['estimate_50_s']:>9.1f}")
    rtf = result["estimate_50_s"] / CHUNK_SECONDS
    print(f"{'real-time factor at 50 steps (seconds per second of audio)':<66} {rtf:>9.1f}")
    print(f"peak RSS: {rss_model:.2f} GB after building the model, {peak_rss_gb():.2f} GB after all stages")
    if result["peak_cuda_gb"] is not None:
        print(f"peak CUDA memory on {up.device}: {result['peak_cuda_gb']:.2f} GB")
    if "end_to_end_s" in result:
        predicted = result["fixed_s"] + args.steps * result["step_s"]
        print(f"end-to-end upsample_chunk, {args.steps} steps: {result['end_to_end_s']:.1f} s "
              f"(stage sum predicts {predicted:.1f} s)")  # fmt: skip
    if args.json is not None:
        meta = {"device": str(up.device), "dtype": str(up.dtype), "build_s": build_s, "steps": args.steps}
        args.json.write_text(json.dumps({**meta, **result}, indent=2))


if __name__ == "__main__":
    main()
