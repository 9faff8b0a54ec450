"""Time our AudioSR inference at the published size (random weights): per-stage seconds for one 5.12 s chunk.

    python benchmarks/bench_audiosr.py [--quick] [--device cpu|cuda] [--threads N] [--steps N]

Prints a table: front end (features, cutoff, low-pass), condition encoder (VAE encode), one DDIM step with
classifier-free guidance (UNet on a batch of 2), VAE decode, vocoder, band replacement, the full-chunk estimate
for 50 steps, and peak memory. Without ``--quick`` it also runs a real ``upsample_chunk`` with ``--steps`` steps
and compares it with the estimate.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from regenerate.audiosr import AudioSRUpsampler, audiosr_config
from regenerate.audiosr import features as F
from regenerate.audiosr.sampling import guided_velocity, unconditional_like

CHUNK_SECONDS = 5.12


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(fn: Callable[[], object], repeats: int, device: torch.device) -> tuple[float, object]:
    """Median seconds of ``repeats`` runs (after one warm-up run when repeating), and the last result."""
    result = fn() if repeats > 1 else None
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one cold run per stage, no end-to-end check")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=2, help="DDIM steps of the end-to-end check")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else 3

    start = time.perf_counter()
    up = AudioSRUpsampler.from_config(audiosr_config(), device=args.device, seed=0)
    build_s = time.perf_counter() - start
    device, model, dtype = up.device, up.model, up.dtype
    params = {name: sum(p.numel() for p in getattr(model, name).parameters()) for name in ("unet", "vae", "vocoder")}
    params["cond_encoder"] = sum(p.numel() for p in model.cond_encoder.parameters())
    print(f"device {device}, dtype {dtype}, threads {args.threads}, build {build_s:.1f} s, params (M): "
          + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in params.items()))  # fmt: skip
    rss_model = peak_rss_gb()

    samples = round(CHUNK_SECONDS * F.SAMPLE_RATE)
    rng = np.random.default_rng(0)
    audio = np.fft.irfft(np.fft.rfft(rng.standard_normal(samples)) * (np.fft.rfftfreq(samples, 1 / 48000) < 8000))
    audio = (audio * 0.1).astype(np.float32)
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
        seconds, posterior = timed(lambda: model.cond_encoder(lowpass_mel[:, None].to(dtype)), repeats, device)
        rows.append(("VAE encode (low-pass condition encoder)", seconds))
        cond = posterior.sample(generator=gen).float() * scale
        latents = torch.randn(cond.shape, generator=gen).to(device)
        t = torch.tensor(501, device=device)
        uncond = unconditional_like(cond, scale)
        seconds, _ = timed(lambda: guided_velocity(model.unet, latents, t, cond, uncond, 3.5), repeats, device)
        rows.append((f"UNet, one DDIM step with CFG (batch 2, latent {tuple(cond.shape[1:])})", seconds))
        step_s = seconds
        seconds, mel = timed(lambda: model.vae.decode((latents / scale).to(dtype)).sample.float(), repeats, device)
        rows.append(("VAE decode", seconds))
        seconds, wave = timed(lambda: model.vocoder(mel[:, 0].to(dtype)).float(), repeats, device)
        rows.append(("vocoder (HiFi-GAN 48 kHz)", seconds))
    generated = wave[0, :samples].cpu().numpy()
    seconds, _ = timed(
        lambda: (F.replace_low_mel_bins(mel, lowpass_mel), F.replace_low_band(generated, lowpassed)), repeats, device
    )
    rows.append(("band replacement (mel + STFT)", seconds))
    fixed = sum(s for name, s in rows if "UNet" not in name)
    estimate = fixed + 50 * step_s

    print(f"\nAudioSR, real-size architecture with random weights, one {CHUNK_SECONDS} s chunk at 48 kHz")
    print(f"{'stage':<66} {'seconds':>9}")
    print("-" * 76)
    for name, seconds in rows:
        print(f"{name:<66} {seconds:>9.2f}")
    print("-" * 76)
    print(f"{'per DDIM step per 5.12 s chunk (CFG)':<66} {step_s:>9.2f}")
    print(f"{'everything but the steps (front end, VAE enc/dec, vocoder, post)':<66} {fixed:>9.2f}")
    print(f"{'estimated full chunk, 50 steps':<66} {estimate:>9.1f}")
    print(f"{'real-time factor at 50 steps (seconds per second of audio)':<66} {estimate / CHUNK_SECONDS:>9.1f}")
    print(f"peak RSS: {rss_model:.2f} GB after building the model, {peak_rss_gb():.2f} GB after all stages")
    if device.type == "cuda":
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 1024**3:.2f} GB")

    if not args.quick:
        start = time.perf_counter()
        up.upsample_chunk(audio, seed=0, steps=args.steps, guidance=3.5, eta=1.0)
        real = time.perf_counter() - start
        predicted = fixed + args.steps * step_s
        print(f"end-to-end upsample_chunk, {args.steps} steps: {real:.1f} s (stage sum predicts {predicted:.1f} s)")


if __name__ == "__main__":
    main()
