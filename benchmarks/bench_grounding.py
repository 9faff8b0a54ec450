"""Benchmark TAG grounding at real size (random weights): seconds of audio grounded per second, per CPU core.

Builds the published architecture (Cnn8Rnn audio encoder, RoBERTa-base CLAP text tower, 512-d matcher)
with random weights and grounds ``--clip-s`` seconds of noise against ``--phrases`` phrases of ``--tokens``
token ids each (an AudioCaps phrase is ~4-10 RoBERTa tokens plus <s> and </s>), the way ``ground_sources``
runs one clip with a caption not seen before; and with the phrase embeddings cached. Reported: audio-encoder
time, text time per phrase, total per clip, x real time (clip seconds / wall seconds), parameters, peak RSS.

Usage: ``python benchmarks/bench_grounding.py [--threads 1] [--repeats 3] [--clip-s 10] [--phrases 3] [--tokens 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time


def run(threads: int, repeats: int, clip_s: float, n_phrases: int, tokens: int) -> dict:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from grounding.tag_model import TagGroundingModel, TagModelConfig

    torch.manual_seed(0)
    model = TagGroundingModel(TagModelConfig()).eval()
    params = {name: sum(p.numel() for p in part.parameters()) / 1e6 for name, part in model.named_children()}
    rng = np.random.default_rng(0)
    waveform = torch.from_numpy((0.1 * rng.standard_normal(int(clip_s * 32000))).astype(np.float32))
    ids = torch.from_numpy(rng.integers(3, 50000, size=(n_phrases, tokens)))
    ids[:, 0], ids[:, -1] = 0, 2  # <s> ... </s>
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model.ground(waveform[: 32000], model.embed_phrases(ids[:1], mask[:1]))  # warm-up
        audio_s, text_s, total_s, cached_s = [], [], [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            embeddings = model.embed_phrases(ids, mask)
            t1 = time.perf_counter()
            model.ground(waveform, embeddings)
            t2 = time.perf_counter()
            model.audio_encoder(waveform[None])
            t3 = time.perf_counter()
            text_s.append((t1 - t0) / n_phrases)
            total_s.append(t2 - t0)
            cached_s.append(t2 - t1)
            audio_s.append(t3 - t2)
    best = min(total_s)
    return {
        "threads": threads,
        "clip_s": clip_s,
        "phrases_per_clip": n_phrases,
        "tokens_per_phrase": tokens,
        "params_m": params,
        "audio_encoder_s": min(audio_s),
        "text_per_phrase_s": min(text_s),
        "clip_total_s": best,
        "x_real_time": clip_s / best,
        "x_real_time_per_core": clip_s / best / threads,
        "clip_total_cached_phrases_s": min(cached_s),
        "x_real_time_cached_phrases_per_core": clip_s / min(cached_s) / threads,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clip-s", type=float, default=10.0)
    parser.add_argument("--phrases", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(run(args.threads, args.repeats, args.clip_s, args.phrases, args.tokens), indent=2))


if __name__ == "__main__":
    main()
