"""One request object per job, accepted alike by the library function, the ``fakesound`` CLI and the Prefect flow.

Each field's default is written here once; the CLI builds its options from these fields (their ``help``
metadata is the option's help text) and the flows take them as parameters, with a test holding the three equal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.source_policy import SourcePolicy

DEFAULT_RECIPE = "weight-free"


def opt(default: Any, help: str, **more: Any) -> Any:
    """A request field with its help text (and optional CLI hints: ``only`` = the sub-commands it appears in)."""
    return field(default=default, metadata={"help": help, **more})


def required(help: str, **more: Any) -> Any:
    return field(metadata={"help": help, **more})


class Request:
    """Shared behaviour of the request dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def field_help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class BuildRequest(Request):
    """Build a FakeSound-style corpus into ``out``: from a source manifest, or (``demo``) from the bundled kit."""

    out: str = required("corpus folder to write")
    sources: str | None = opt(None, "source manifest (JSONL) from `fakesound import-sources`", only="build")
    demo: bool = opt(False, "compose the sources from the bundled demo kit instead of reading `sources`", only="")
    clips: int = opt(300, "demo only: clips in the corpus, an even number: each composed source gives one real "
                          "clip and its fake", only="demo")
    kit: str | None = opt(None, "demo only: demo kit folder (unset: the one shipped with the package)",
                          only="demo")
    seed: int = opt(0, "seed of every random choice (same inputs + seed -> same bytes)")
    recipe: str = opt(DEFAULT_RECIPE, "recipe: backends, region policy and output rate (see README)")
    grounding: str | None = opt(None, "grounding results JSON (unset: grounding_model, else the energy-based "
                                      "fallback for every clip)", only="build")
    grounding_model: str | None = opt(None, "ground each clip's caption while building, when no grounding file is "
                                            "given: `tag` (the default TAG checkpoint), a TAG checkpoint (hub id or "
                                            "local folder), or `energy`; a clip it finds nothing in takes the "
                                            "energy/random fallback (unset: the fallback for every clip)",
                                      only="build")
    checkpoint: str | None = opt(None, "inpainting checkpoint, hub id or local folder (unset: the recipe's)")
    steps: int | None = opt(None, "diffusion steps (unset: the recipe's)")
    guidance: float | None = opt(None, "classifier-free guidance scale (unset: the recipe's)")
    audiosr: str | None = opt(None, "AudioSR checkpoint: hub id, folder or pytorch_model.bin (unset: the recipe's)")
    audiosr_steps: int | None = opt(None, "AudioSR diffusion steps (unset: the recipe's)")
    audiosr_config: str | None = opt(None, "AudioSR architecture JSON, for a checkpoint that is not the published "
                                           "size (unset: the published architecture)")
    batch_size: int | None = opt(None, "clips per generator (GPU) call (unset: the recipe's)")
    n_candidates: int | None = opt(None, "inpainting candidates per clip, the best by CLAP kept (unset: the recipe's)")
    clap: str | None = opt(None, "CLAP checkpoint scoring the candidates (unset: AudioLDM2's own; AudioLDM: "
                                 "laion/clap-htsat-unfused)")
    device: str = opt("auto", "device for model backends: auto, cpu, cuda, cuda:1")
    chunk_size: int | None = opt(None, "clip jobs per worker task, a scheduling unit independent of batch_size "
                                       "(unset: a few chunks per worker, at most 256 jobs and 1000 chunks)")
    workers: int = opt(2, "tasks run at once")
    overwrite: bool = opt(False, "replace a corpus of another identity (recipe, seed, settings) in `out` instead of "
                                 "refusing; also starts a same-identity corpus afresh")

    def __post_init__(self) -> None:
        from pipeline.errors import ConfigError

        if self.demo == (self.sources is not None):
            raise ConfigError("a build takes either `sources` (a source manifest) or demo=True, not both or neither")
        if self.clips < 1 or (self.chunk_size or 1) < 1 or self.workers < 1:
            raise ConfigError(f"clips, chunk_size and workers must be >= 1 (got {self.clips}, {self.chunk_size}, "
                              f"{self.workers})")
        if not self.demo and (self.clips != BuildRequest.clips or self.kit is not None):
            raise ConfigError("`clips` and `kit` apply to demo builds only (a source manifest sets the clips)")
        if self.demo and (self.grounding is not None or self.grounding_model is not None):
            raise ConfigError("`grounding` and `grounding_model` do not apply to demo builds (the demo writes its own)")
        if self.grounding is not None and self.grounding_model is not None:
            raise ConfigError("give `grounding` (a results file) or `grounding_model` (ground while building), "
                              "not both")
        if self.demo and self.clips % 2:
            nearest = " or ".join(str(n) for n in sorted({max(2, self.clips - 1), self.clips + 1}))
            raise ConfigError(f"clips={self.clips}: a demo corpus is made of pairs (each composed source gives one "
                              f"real clip and its fake), so clips must be even: use {nearest}")

    @property
    def demo_sources(self) -> int:
        """Sources the demo composes: one per real/fake pair."""
        return self.clips // 2

    def absolute(self) -> BuildRequest:
        """The same request with its paths absolute (workers may start in another folder)."""
        paths = {n: str(Path(getattr(self, n)).absolute()) for n in ("out", "sources", "grounding", "kit",
                                                                     "audiosr_config") if getattr(self, n) is not None}
        if self.grounding_model is not None and Path(self.grounding_model).exists():  # a local checkpoint folder
            paths["grounding_model"] = str(Path(self.grounding_model).absolute())
        return dataclasses.replace(self, **paths)

    def recipe_overrides(self) -> dict[str, Any]:
        """The recipe settings this request sets (None: left to the recipe)."""
        names = ("checkpoint", "steps", "guidance", "audiosr", "audiosr_steps", "audiosr_config", "batch_size",
                 "n_candidates", "clap")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def provenance(self) -> dict[str, Any]:
        """What of the request shapes the corpus, recorded in its ``summary.json``: no output folder, no
        scheduling settings, and input files by name (the corpus must not change with where it was built)."""
        data = self.to_dict()
        for name in ("out", "chunk_size", "workers", "overwrite"):
            data.pop(name)
        for name in ("sources", "grounding", "kit", "audiosr_config"):
            data[name] = Path(data[name]).name if data[name] else None
        if self.grounding_model is not None and Path(self.grounding_model).is_absolute():  # a local folder, by name
            data["grounding_model"] = Path(self.grounding_model).name
        return data


@dataclass(frozen=True)
class PushRequest(Request):
    """Publish a built corpus to a Hugging Face dataset repo in one commit (``dry_run``: write that repo to a folder).

    The token is never part of a request (it would be logged and stored with the run): the CLI takes ``--token``
    or ``HF_TOKEN``; the flow loads a Prefect Secret block inside its task.
    """

    corpus: str = required("corpus folder (with manifest.jsonl)")
    repo_id: str = required("dataset repo, e.g. my-org/fakesound-demo")
    private: bool = opt(False, "create the repo private (ignored if it exists)")
    dry_run: str | None = opt(None, "write the repo folder (README.md + parquet) here instead of pushing (unset: push)")
    splits: list[str] | None = opt(None, "splits to publish (unset: all)")
    license: str | None = opt(None, "Hub licence id (unset: detected from LICENSES.md)")
    name: str | None = opt(None, "pretty name for the dataset card (unset: from the repo id)")
    endpoint: str | None = opt(None, "Hub endpoint (unset: HF_ENDPOINT or huggingface.co)")


#: ImportRequest fields that only a dataset import (``hf_dataset``) reads.
DATASET_ONLY = ("config", "split", "revision", "audio_column", "caption_column", "id_column", "preset", "limit",
                "streaming", "sample_rate", "workers")


@dataclass(frozen=True)
class ImportRequest(Request):
    """Import real source clips into ``out`` (``manifest.jsonl``, the ``sources`` of a build, and ``rejected.jsonl``):
    from a ``datasets`` dataset (``hf_dataset``), or from a folder of audio plus a captions CSV (``audio``,
    ``captions``). Resumable: a rerun encodes only clips not finished before."""

    out: str = required("folder to write: manifest.jsonl, rejected.jsonl and, for a dataset, audio/")
    hf_dataset: str | None = opt(None, "Hub id, local dataset folder (save_to_disk or data files) or parquet file(s)")
    audio: str | None = opt(None, "instead of hf_dataset: folder of source audio (with captions)")
    captions: str | None = opt(None, "with audio: CSV of audiocap_id,youtube_id,start_time,caption")
    config: str | None = opt(None, "dataset configuration (subset) name")
    split: str | None = opt(None, "split to import (unset: every split; records keep their hf_split)")
    revision: str | None = opt(None, "Hub revision: branch, tag or commit (unset: the default branch)")
    audio_column: str | None = opt(None, "audio column (unset: by preset)")
    caption_column: str | None = opt(None, "caption column (unset: by preset)")
    id_column: str | None = opt(None, "clip id column (unset: by preset; none found: the audio's content hash)")
    preset: str | None = opt(None, "column preset: audiocaps, clotho, generic (unset: chosen by the dataset's columns)")
    limit: int | None = opt(None, "import at most this many distinct clips (unset: all)")
    streaming: bool = opt(False, "read rows as they download (with limit, only what is needed is fetched)")
    sample_rate: int = opt(32000, "output rate in Hz, soxr-resampled (0: keep each clip's own rate)")
    workers: int = opt(2, "clips decoded and encoded at once (output does not depend on it)")
    # the source policy (pipeline/source_policy.py says why each limit is what it is)
    min_sample_rate: int = opt(SourcePolicy.min_sample_rate, "sources recorded below this rate (Hz) are rejected")
    max_channels: int = opt(SourcePolicy.max_channels, "sources with more channels are rejected (fewer are mixed)")
    min_seconds: float = opt(SourcePolicy.min_seconds, "shorter sources are rejected (no room for a fake region)")
    max_seconds: float = opt(SourcePolicy.max_seconds, "longer sources are rejected (cut them into clips first)")
    max_caption_chars: int = opt(SourcePolicy.max_caption_chars, "captions longer than this are rejected")
    reject_silent: bool = opt(SourcePolicy.reject_silent, "reject sources that are digital silence")

    def __post_init__(self) -> None:
        from pipeline.errors import ConfigError

        self.policy  # noqa: B018 - raises ConfigError on limits that contradict each other
        if self.hf_dataset is not None and (self.audio is not None or self.captions is not None):
            raise ConfigError("an import takes `hf_dataset`, or `audio` with `captions`, not both")
        if self.hf_dataset is None:
            if self.audio is None or self.captions is None:
                raise ConfigError("give `hf_dataset` (a datasets dataset), or both `audio` and `captions`")
            set_here = [n for n in DATASET_ONLY if getattr(self, n) != getattr(ImportRequest, n)]
            if set_here:
                raise ConfigError(f"{', '.join(set_here)} apply to a dataset import (hf_dataset) only")
            return
        from pipeline.hf_sources import PRESETS

        if self.preset is not None and self.preset not in PRESETS:
            raise ConfigError(f"unknown preset {self.preset!r} (known: {', '.join(sorted(PRESETS))})")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1, got {self.limit}")
        if self.sample_rate < 0:
            raise ConfigError(f"sample_rate must be positive, or 0 to keep each clip's rate, got {self.sample_rate}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")

    @property
    def policy(self) -> SourcePolicy:
        """What a source clip and its caption must meet to be imported."""
        return SourcePolicy(self.min_sample_rate, self.max_channels, self.min_seconds, self.max_seconds,
                            self.max_caption_chars, self.reject_silent)

    @property
    def output_rate(self) -> int | None:
        """The rate sources are written at (None: each clip's own)."""
        return self.sample_rate or None
