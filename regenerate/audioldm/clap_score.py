"""CLAP text-audio similarity for best-of-N candidate selection (upstream ``cos_similarity`` + ``argmax``).

Upstream AudioLDM and AudioLDM 2 generate ``n_candidate_gen_per_text`` candidates per clip (batched candidate-major:
row ``k * B + i`` is candidate ``k`` of clip ``i``), embed each decoded waveform (resampled to 48 kHz) and its
caption with CLAP, and keep the candidate with the highest cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.audio_io import resample
from regenerate.configs import AUDIOLDM1_CLAP  # noqa: F401 - written there, with the other defaults


class ClapScorer:
    """Cosine similarity of CLAP audio and text embeddings, one score per (waveform, caption) row."""

    def __init__(self, model: Any, tokenizer: Any, feature_extractor: Any, name: str = ""):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.name = name

    @property
    def sample_rate(self) -> int:
        return int(self.feature_extractor.sampling_rate)

    @property
    def max_samples(self) -> int:
        return int(self.feature_extractor.nb_max_samples)

    @classmethod
    def from_pretrained(cls, id_or_path: str | Path, device: str | torch.device = "cpu") -> ClapScorer:
        """A full CLAP checkpoint (``ClapModel`` + processor files) by hub id (cache first) or local folder."""
        from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel

        from regenerate.audioldm.loading import CheckpointUnavailableError, check_tokenizer, hub_offline

        source = str(id_or_path)
        try:
            offline = hub_offline() or Path(source).exists()
            model = ClapModel.from_pretrained(source, local_files_only=offline)
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=offline)
            features = ClapFeatureExtractor.from_pretrained(source, local_files_only=offline)
        except Exception as error:
            raise CheckpointUnavailableError(
                f"CLAP checkpoint {source!r} for best-of-N could not be loaded ({str(error).splitlines()[0][:120]}); "
                f"pre-download it with `hf download {source}` and set HF_HUB_OFFLINE=1, pass a local folder as "
                "`clap`, or set n_candidates=1"
            ) from error
        check_tokenizer(tokenizer, "CLAP tokenizer", model.config.text_config.vocab_size)
        return cls(model.to(device, torch.float32), tokenizer, features, name=source)

    @torch.no_grad()
    def score(self, waves: Sequence[np.ndarray], sample_rate: int, captions: Sequence[str]) -> torch.Tensor:
        """``[len(waves)]`` cosine similarities; waves longer than CLAP's 10 s are centre-cropped (deterministic,
        where the feature extractor would crop at random)."""
        clips = [self._fit(resample(np.asarray(w, dtype=np.float32), sample_rate, self.sample_rate)) for w in waves]
        first = next(self.model.parameters())
        features = self.feature_extractor(clips, sampling_rate=self.sample_rate, return_tensors="pt")
        audio = self.model.get_audio_features(input_features=features.input_features.to(first.device, first.dtype))
        tokens = self.tokenizer(list(captions), padding=True, truncation=True, return_tensors="pt")
        text = self.model.get_text_features(
            input_ids=tokens.input_ids.to(first.device), attention_mask=tokens.attention_mask.to(first.device)
        )
        return F.cosine_similarity(_embeds(audio).float(), _embeds(text).float(), dim=-1).cpu()

    def _fit(self, wave: np.ndarray) -> np.ndarray:
        extra = len(wave) - self.max_samples
        return wave[extra // 2 : extra // 2 + self.max_samples] if extra > 0 else wave


def _embeds(output: Any) -> torch.Tensor:
    """``get_*_features`` returns a tensor (transformers 4) or an output with ``pooler_output`` (5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


def pick_candidates(similarity: torch.Tensor, clips: int) -> list[int]:
    """Row index of the best candidate of each clip (candidate-major rows; the first on ties, as ``argmax``)."""
    if similarity.numel() % clips:
        raise ValueError(f"{similarity.numel()} scores do not split into {clips} clips")
    per_clip = similarity.reshape(-1, clips)  # [candidates, clips]
    return [int(per_clip[:, i].argmax()) * clips + i for i in range(clips)]
