"""A loaded TAG model at work: phrases in, per-frame probabilities and grounding results out."""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np
import torch

from grounding.frames import SegmentRule, phrase_score, probabilities_to_segments
from grounding.results import GroundingResult
from grounding.tag_checkpoint import DEFAULT_TAG_MODEL, load_tag_checkpoint
from grounding.tag_model import TAG_FRAME_S, TagGroundingModel
from pipeline.audio_io import resample
from pipeline.devices import resolve_device


class TagGrounder:
    """Grounds a clip's phrases with a TAG model; phrase embeddings are cached (captions repeat phrases)."""

    def __init__(self, model: TagGroundingModel, tokenizer, max_cached_phrases: int = 4096) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_cached_phrases = max_cached_phrases
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()

    @classmethod
    def from_pretrained(cls, id_or_path: str | os.PathLike = DEFAULT_TAG_MODEL, device: str = "auto") -> TagGrounder:
        """Load a hub id or local folder (see :func:`grounding.tag_checkpoint.load_tag_checkpoint`)."""
        model, tokenizer = load_tag_checkpoint(id_or_path, resolve_device(device))
        return cls(model, tokenizer)

    @property
    def sample_rate(self) -> int:
        return self.model.config.sample_rate

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.inference_mode()
    def phrase_embeddings(self, phrases: list[str]) -> torch.Tensor:
        """(n, dim) unit embeddings, computed in one batch for the phrases not cached yet."""
        new = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if new:
            tokens = self.tokenizer(new, padding=True, truncation=True, return_tensors="pt").to(self.device)
            embedded = self.model.embed_phrases(tokens["input_ids"], tokens["attention_mask"])
            for phrase, vector in zip(new, embedded, strict=True):
                self._cache[phrase] = vector
        for phrase in phrases:
            self._cache.move_to_end(phrase)
        while len(self._cache) > max(self.max_cached_phrases, len(phrases)):
            self._cache.popitem(last=False)
        return torch.stack([self._cache[p] for p in phrases])

    @torch.inference_mode()
    def frame_probabilities(self, audio: np.ndarray, sample_rate: int, phrases: list[str]) -> np.ndarray:
        """(phrases, frames) probability that each phrase sounds in each 40 ms frame of ``audio``."""
        if sample_rate != self.sample_rate:
            audio = resample(audio, sample_rate, self.sample_rate)
        waveform = torch.as_tensor(np.asarray(audio, dtype=np.float32), device=self.device)
        return self.model.ground(waveform, self.phrase_embeddings(phrases)).float().cpu().numpy()

    def ground(
        self, clip_id: str, audio: np.ndarray, sample_rate: int, phrases: list[str], rule: SegmentRule
    ) -> list[GroundingResult]:
        """One result per phrase: its segments under ``rule`` and its score (highest frame probability)."""
        duration = len(audio) / sample_rate
        probabilities = self.frame_probabilities(audio, sample_rate, phrases)
        return [
            GroundingResult(clip_id, phrase, probabilities_to_segments(p, TAG_FRAME_S, duration, rule), phrase_score(p))
            for phrase, p in zip(phrases, probabilities, strict=True)
        ]
