"""Publishing a corpus: a ``datasets.DatasetDict`` (one split per corpus split), a dataset card, a Hub push.

The pushed repository is exactly the folder :func:`export_hub_folder` writes (the ``--dry-run``
output): ``README.md`` (card with ``configs``/``dataset_info`` metadata) and
``data/<split>-<i>-of-<n>.parquet`` shards, the layout ``DatasetDict.push_to_hub`` makes. The
parquet bytes are a pure function of the corpus, so pushing an unchanged corpus again changes
nothing; everything goes up in one commit, so a failed push leaves no half-pushed revision.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.audio_io import decode_audio
from pipeline.containment import OutsideCorpus, audio_inside
from pipeline.corpus import LICENSES, MANIFEST, SUMMARY
from pipeline.errors import FakesoundError, RejectedInput
from pipeline.licences import demote_headings
from pipeline.manifest import FAKE, ClipRecord, read_manifest

SPLIT_ORDER = ("train", "val", "validation", "dev", "test")
DEFAULT_MAX_SHARD_BYTES = 500 * 1024**2
AUDIO_ROWS_PER_BATCH = 64  # rows per Arrow write while building (10 s clips: ~40 MB)
DATA_DIR = "data"
LABEL_NAMES = ("real", "fake")  # ClassLabel index = corpus label: 0 real, 1 fake
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")
# Licence names as written in attribution files -> Hub licence ids (checked most specific first).
_LICENCES = (
    ("cc-by-nc-sa-4.0", r"CC[ -]BY[ -]NC[ -]SA[ -]4\.0"), ("cc-by-nc-sa-3.0", r"CC[ -]BY[ -]NC[ -]SA[ -]3\.0"),
    ("cc-by-nc-4.0", r"CC[ -]BY[ -]NC[ -]4\.0"), ("cc-by-nc-3.0", r"CC[ -]BY[ -]NC[ -]3\.0"),
    ("cc-by-sa-4.0", r"CC[ -]BY[ -]SA[ -]4\.0"), ("cc-by-sa-3.0", r"CC[ -]BY[ -]SA[ -]3\.0"),
    ("cc-by-4.0", r"CC[ -]BY[ -]4\.0"), ("cc-by-3.0", r"CC[ -]BY[ -]3\.0"), ("cc0-1.0", r"CC0"),
)


class PublishError(FakesoundError, ValueError):
    """A corpus that cannot be published, or a push that failed; ``str()`` is one line.

    ``transient`` marks failures worth retrying (Hub 5xx/429, connection errors).
    """

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Corpus:
    """A built corpus folder, checked: records grouped by split (in publishing order)."""

    root: Path
    splits: dict[str, list[ClipRecord]]
    licenses_text: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class HubFolder:
    """An exported repository folder: relative file paths (sorted) and rows per split."""

    path: Path
    files: tuple[str, ...]
    num_rows: dict[str, int]


@dataclass(frozen=True)
class PushResult:
    """Outcome of a push: the revision now on the Hub and whether this push made it."""

    repo_id: str
    commit_oid: str
    commit_url: str
    new_commit: bool
    files: tuple[str, ...]


def _split_rank(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def load_corpus(corpus_dir: str | Path, splits: Sequence[str] | None = None) -> Corpus:
    """Read and check a corpus folder; ``splits`` (default: all present) must each hold clips."""
    root = Path(corpus_dir)
    if not root.is_dir():
        raise PublishError(f"{root}: corpus folder not found")
    if not (root / MANIFEST).is_file():
        raise PublishError(f"{root}: not a fakesound corpus (no {MANIFEST}; build one with `fakesound build`)")
    try:
        records = read_manifest(root / MANIFEST)
    except (OSError, ValueError) as err:
        raise PublishError(f"{root / MANIFEST}: unreadable manifest ({err})") from err
    by_split: dict[str, list[ClipRecord]] = {}
    for record in records:
        if not _SPLIT_RE.match(record.split or ""):
            raise PublishError(f"{root / MANIFEST}: clip {record.id!r} has no valid split (got {record.split!r})")
        by_split.setdefault(record.split, []).append(record)
    wanted = list(splits) if splits else sorted(by_split, key=_split_rank)
    if not wanted:
        raise PublishError(f"{root}: the corpus has no clips")
    empty = [s for s in wanted if not by_split.get(s)]
    if empty:
        present = ", ".join(sorted(by_split))
        raise PublishError(f"{root}: split(s) {', '.join(empty)} have no clips (present: {present})")
    for split in wanted:
        ids = Counter(r.id for r in by_split[split])
        dupes = sorted(i for i, n in ids.items() if n > 1)
        if dupes:
            raise PublishError(f"{root / MANIFEST}: duplicate clip ids in split {split}: {', '.join(dupes[:5])}")
        for record in by_split[split]:
            audio = _audio_of(root, record)
            if not audio.exists():
                raise PublishError(f"{audio}: audio of clip {record.id!r} is missing")
            try:  # nothing that does not decode is published (truncated, corrupt, NaN/Inf, a folder, not audio)
                decode_audio(audio)
            except RejectedInput as err:
                raise PublishError(f"{err.item}: audio of clip {record.id!r} cannot be published: "
                                   f"{err.reason}") from None
    if not (root / LICENSES).is_file():
        raise PublishError(f"{root}: {LICENSES} missing (a published corpus must carry the source audio's licences: "
                           f"write one there; builds copy it from the sources folder)")
    summary: dict[str, Any] = {}
    if (root / SUMMARY).is_file():
        try:
            summary = json.loads((root / SUMMARY).read_text(encoding="utf-8"))
        except ValueError as err:
            raise PublishError(f"{root / SUMMARY}: not valid JSON ({err})") from err
    return Corpus(root, {s: by_split[s] for s in wanted}, (root / LICENSES).read_text(encoding="utf-8"), summary)


def _audio_of(root: str | Path, record: ClipRecord) -> Path:
    """The clip's audio file, never one outside the corpus folder (see :mod:`pipeline.containment`)."""
    try:
        return audio_inside(root, record.audio_path, record.id)
    except OutsideCorpus as err:
        raise PublishError(f"{Path(root) / MANIFEST}: {err}") from None
    except RejectedInput as err:  # a symlink loop
        raise PublishError(f"{err}") from None


def hub_features():
    """Columns of every split; ``audio`` starts as a ``{bytes, path}`` struct and is cast to ``Audio``."""
    from datasets import ClassLabel, Features, List, Value

    return Features({
        "id": Value("string"),
        "audio": {"bytes": Value("binary"), "path": Value("string")},
        "label": ClassLabel(names=list(LABEL_NAMES)),
        "segments": List(List(Value("float64"))),
        "manipulation": Value("string"),
        "generator": Value("string"),
        "caption": Value("string"),
        "seed": Value("int64"),
        "source_id": Value("string"),
        "sample_rate": Value("int32"),
        "duration": Value("float64"),
        "extra": Value("string"),
    })


def _rows(root: str, records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for data in records:
        record = ClipRecord.from_dict(data)
        path = _audio_of(root, record)
        audio = path.read_bytes()
        if record.sha256 and hashlib.sha256(audio).hexdigest() != record.sha256:
            raise PublishError(f"{path}: audio of clip {record.id!r} does not match the manifest's sha256")
        yield {
            "id": record.id,
            "audio": {"bytes": audio, "path": Path(record.audio_path).name},
            "label": record.label,
            "segments": [list(s) for s in record.segments],
            "manipulation": record.manipulation,
            "generator": record.generator,
            "caption": record.caption,
            "seed": record.seed,
            "source_id": record.source_id,
            "sample_rate": record.sample_rate,
            "duration": record.duration,
            "extra": json.dumps(record.extra, sort_keys=True, ensure_ascii=False),
        }


def to_dataset_dict(corpus: Corpus, cache_dir: str | Path | None = None):
    """The corpus as a ``DatasetDict`` with an ``Audio`` column (audio bytes embedded, not decoded).

    ``cache_dir``: a fresh folder for the Arrow files (big corpora); None builds in a temporary
    folder and keeps the tables in memory. Never the shared datasets cache, so nothing stale is reused.
    """
    if cache_dir is None:
        with tempfile.TemporaryDirectory(prefix="fakesound-arrow-") as tmp:
            return _build_dataset_dict(corpus, Path(tmp), keep_in_memory=True)
    return _build_dataset_dict(corpus, Path(cache_dir), keep_in_memory=False)


def _build_dataset_dict(corpus: Corpus, cache_dir: Path, keep_in_memory: bool):
    from datasets import Audio, DatasetDict
    from datasets import Dataset as HFDataset
    from datasets.exceptions import DatasetGenerationError

    features = hub_features()
    splits = {}
    for split, records in corpus.splits.items():
        try:
            ds = HFDataset.from_generator(
                _rows, features=features, cache_dir=str(cache_dir), keep_in_memory=keep_in_memory, split=split,
                writer_batch_size=AUDIO_ROWS_PER_BATCH,
                gen_kwargs={"root": str(corpus.root), "records": [r.to_dict() for r in records]},
            )
        except DatasetGenerationError as err:
            if isinstance(err.__cause__, PublishError):
                raise err.__cause__ from None
            raise
        splits[split] = ds.cast_column("audio", Audio())
    return DatasetDict(splits)


def detect_license(licenses_text: str) -> str:
    """Hub licence id from an attribution file: the one licence named (CC0 parts never restrict a mix), or a
    ShareAlike licence whose other parts are its own BY version; anything else is ``other``."""
    found = [lid for lid, pattern in _LICENCES if re.search(pattern, licenses_text, flags=re.IGNORECASE)]
    restrictive = [f for f in found if f != "cc0-1.0"] or found
    if len(restrictive) == 1:
        return restrictive[0]
    share_alike = [f for f in restrictive if "-sa-" in f]
    if len(share_alike) == 1 and set(restrictive) <= {share_alike[0], share_alike[0].replace("-sa", "")}:
        return share_alike[0]
    return "other"


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < bound:
            return name
    return "n>1M"


def _stats_table(corpus: Corpus) -> str:
    counts = Counter(
        (split, r.manipulation, r.generator or "-", LABEL_NAMES[r.label])
        for split, records in corpus.splits.items() for r in records
    )
    lines = ["| split | manipulation | generator | label | clips |", "|---|---|---|---|---:|"]
    for (split, manipulation, generator, label), n in sorted(counts.items(), key=lambda kv: (_split_rank(kv[0][0]),
                                                                                             kv[0][1:])):
        lines.append(f"| {split} | {manipulation} | {generator} | {label} | {n} |")
    lines += ["", "| split | clips | real | fake | hours |", "|---|---:|---:|---:|---:|"]
    for split, records in corpus.splits.items():
        fakes = sum(r.label == FAKE for r in records)
        hours = sum(r.duration for r in records) / 3600
        lines.append(f"| {split} | {len(records)} | {len(records) - fakes} | {fakes} | {hours:.3f} |")
    return "\n".join(lines)


def dataset_card(corpus: Corpus, dataset_dict, license: str | None = None, pretty_name: str | None = None,
                 repo_id: str | None = None) -> str:
    """README.md text: Hub metadata (licence, configs, dataset_info) and a card for detector researchers."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    licence = license or detect_license(corpus.licenses_text)
    name = pretty_name or f"FakeSound-style corpus ({corpus.root.name})"
    total = sum(len(r) for r in corpus.splits.values())
    card_data = DatasetCardData(
        license=licence, pretty_name=name, task_categories=["audio-classification"],
        tags=["audio", "deepfake-detection", "audio-deepfake", "manipulation-localization", "fakesound"],
        size_categories=[_size_category(total)],
    )
    MetadataConfigs({"default": {"data_files": [
        {"split": s, "path": f"{DATA_DIR}/{s}-*"} for s in corpus.splits
    ]}}).to_dataset_card_data(card_data)
    split_dict = SplitDict()
    for split, ds in dataset_dict.items():
        split_dict.add(SplitInfo(name=split, num_bytes=ds.data.nbytes, num_examples=len(ds)))
    info = DatasetInfo(features=next(iter(dataset_dict.values())).features, splits=split_dict,
                       dataset_size=sum(ds.data.nbytes for ds in dataset_dict.values()))
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)

    recipe = corpus.summary.get("recipe")
    recipe_name = recipe.get("name") if isinstance(recipe, dict) else recipe
    provenance = {k: corpus.summary[k] for k in ("recipe", "seed", "grounding") if k in corpus.summary}
    load_id = repo_id or "<namespace>/<name>"
    first_split = next(iter(corpus.splits))
    body = f"""
# {name}

A FakeSound-style deepfake general-audio corpus built with fakesound: real captioned
clips, and fakes made from them by regenerating one key region (found by grounding the caption) and splicing it
back. Outside the region a fake is bit-identical to its real clip. Every real clip and its fakes stay in one split.

## Task

Deepfake general-audio detection and localisation: say **whether** a clip was manipulated (`label`) and
**where** (`segments`, the manipulated spans in seconds).

## Labels

`label` is **1 = fake, 0 = real** (class names `{LABEL_NAMES[0]}`, `{LABEL_NAMES[1]}`), the polarity of
FakeSound's data and code. `segments` is empty for real clips.

## Columns

| column | meaning |
|---|---|
| `id` | clip id (fakes: `<source_id>_<onset>_<offset>`, as in FakeSound) |
| `audio` | the clip (16-bit WAV bytes) |
| `label` | 1 fake, 0 real |
| `segments` | manipulated spans `[onset, offset]` in seconds |
| `manipulation` | how the region was made (`real` for real clips) |
| `generator` | the generator (model or weight-free backend) that made the region |
| `caption` | the source clip's caption |
| `seed` | the seed the clip was made with |
| `source_id` | the real clip a fake was made from (its own id for real clips) |
| `sample_rate` | Hz |
| `duration` | seconds |
| `extra` | generator settings and provenance (JSON text) |

## Statistics

{_stats_table(corpus)}

## Recipe

Recipe: `{recipe_name or "not recorded"}`. Build settings as recorded in the corpus's `summary.json`:

```json
{json.dumps(provenance, indent=2, sort_keys=True)}
```

## Reading the audio

`audio` holds each clip's WAV file as bytes. With `torchcodec` installed, `datasets` decodes it for you:

```python
from datasets import load_dataset

ds = load_dataset("{load_id}", split="{first_split}")
clip = ds[0]["audio"]             # a torchcodec AudioDecoder (pip install torchcodec)
samples = clip.get_all_samples()  # samples.data: (channels, frames) float32 tensor; samples.sample_rate
```

Without torchcodec, read the bytes and decode them with soundfile:

```python
import io

import soundfile as sf
from datasets import Audio, load_dataset

ds = load_dataset("{load_id}", split="{first_split}").cast_column("audio", Audio(decode=False))
row = ds[0]
wave, sample_rate = sf.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
```

## Real clips

{_real_clips_text(corpus)}

## Manipulations

| manipulation | what was done to the region |
|---|---|
{_manipulations_table(corpus)}

## Limitations

- Fakes are hard splices: outside the region a fake equals its real clip sample for sample, and every real clip
  and its fakes share a split. Detectors trained here learn region boundaries and in-region artefacts, not
  content that differs from the real clip.
- Every clip is 16-bit PCM at the corpus's one sample rate, so no codec or rate cue separates real from fake;
  robustness to compression or resampling is not tested by this corpus.
- Fake labels are the altered span, snapped outward to a 40 ms grid; a fake keeps its real clip's caption.
{_demo_limitation(corpus)}
## Citation

The task, the manipulation pipeline and the metadata format follow FakeSound:

```bibtex
@inproceedings{{xie24d_interspeech,
  title     = {{FakeSound: Deepfake General Audio Detection}},
  author    = {{Xie, Zeyu and Li, Baihan and Xu, Xuenan and Liang, Zheng and Yu, Kai and Wu, Mengyue}},
  booktitle = {{Interspeech 2024}},
  year      = {{2024}},
  note      = {{arXiv:2406.08052}}
}}
```

## Licence and attribution of the source audio

Licence: `{licence}`. The fakes are derived from the source recordings below, so they carry the same terms.

{demote_headings(corpus.licenses_text.strip())}
"""
    return f"---\n{card_data.to_yaml()}\n---\n{body}"


#: What each manipulation did to a fake's region (names as the regenerators record them).
MANIPULATIONS = {
    "inpainting": "regenerated by latent-diffusion inpainting (AudioLDM or AudioLDM 2) conditioned on the caption, "
                  "the rest of the clip given as context, optionally upsampled by AudioSR (FakeSound's manipulation)",
    "splice": "replaced by a stretch of another recording (a donor, never the clip itself), crossfaded at the edges",
    "addition": "a donor sound event mixed into the region at a seeded level; the label is the event's own span",
    "vocoder": "resynthesised from its log-mel spectrogram by Griffin-Lim: the spectral envelope is kept, the phase "
               "and fine structure are not",
}


def is_demo_corpus(corpus: Corpus) -> bool:
    """True when every source came from the demo composer (its source ids)."""
    from pipeline.compose import DEMO_SOURCE_ID

    return all(DEMO_SOURCE_ID.match(r.source_id) for records in corpus.splits.values() for r in records)


def _real_clips_text(corpus: Corpus) -> str:
    if is_demo_corpus(corpus):
        return ("This is fakesound's offline demo corpus. Its real clips are **composed soundscapes**, not field "
                "recordings: one background recording of the project's demo kit (45 modified recordings from the "
                "games 0 A.D. and Minetest) with one to three kit sound events mixed over it at seeded times and "
                "levels. They are real recordings, mixed; they were never generated.")
    return ("The real clips are the source clips, decoded, resampled to the corpus's sample rate and re-encoded as "
            "16-bit WAV exactly as the fakes are (so the encoding does not tell them apart).")


def _manipulations_table(corpus: Corpus) -> str:
    present = sorted({r.manipulation for records in corpus.splits.values() for r in records if r.label == FAKE})
    return "\n".join(f"| `{m}` | {MANIPULATIONS.get(m, 'see the `generator` and `extra` columns')} |" for m in present)


def _demo_limitation(corpus: Corpus) -> str:
    if not is_demo_corpus(corpus):
        return ""
    return ("- A demo: 45 game-sound recordings, composed scenes and weight-free manipulations. It shows the "
            "pipeline end to end; detector figures measured on it do not carry over to FakeSound or to real audio.\n")


def _shard_count(ds, max_shard_bytes: int) -> int:
    return max(1, math.ceil(ds.data.nbytes / max_shard_bytes))


def _write_folder(corpus: Corpus, folder: Path, work: Path, max_shard_bytes: int, license: str | None,
                  pretty_name: str | None, repo_id: str | None) -> HubFolder:
    dataset_dict = to_dataset_dict(corpus, cache_dir=work)
    files = []
    for split, ds in dataset_dict.items():
        n = _shard_count(ds, max_shard_bytes)
        for i in range(n):
            rel = f"{DATA_DIR}/{split}-{i:05d}-of-{n:05d}.parquet"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            ds.shard(num_shards=n, index=i, contiguous=True).to_parquet(str(folder / rel))
            files.append(rel)
    card = dataset_card(corpus, dataset_dict, license=license, pretty_name=pretty_name, repo_id=repo_id)
    (folder / "README.md").write_text(card, encoding="utf-8")
    files.append("README.md")
    return HubFolder(folder, tuple(sorted(files)), {s: len(ds) for s, ds in dataset_dict.items()})


def export_hub_folder(
    corpus_dir: str | Path, out_dir: str | Path, *, splits: Sequence[str] | None = None,
    license: str | None = None, pretty_name: str | None = None, repo_id: str | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> HubFolder:
    """Write the repository a push would make (README.md + parquet shards) into ``out_dir``.

    The folder is built beside ``out_dir`` and swapped in at the end; an existing ``out_dir`` is
    replaced only if it is empty or a previous export (README.md and data/ only).
    """
    corpus = load_corpus(corpus_dir, splits)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or set(p.name for p in out.iterdir()) - {"README.md", DATA_DIR}):
        raise PublishError(f"{out}: exists and is not an earlier export; choose an empty or new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        work = staging / ".arrow"
        folder = _write_folder(corpus, staging / "repo", work, max_shard_bytes, license, pretty_name, repo_id)
        if out.exists():
            shutil.rmtree(out)
        (staging / "repo").rename(out)
        return HubFolder(out, folder.files, folder.num_rows)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _one_line(err: BaseException) -> str:
    message = getattr(err, "server_message", None) or str(err) or type(err).__name__
    return " ".join(message.split("\n")[0].split()) if message else type(err).__name__


def _raise_redacted(message: str, transient: bool, cause: BaseException, token: str | None) -> None:
    """Raise :class:`PublishError` with the Hub token masked; a cause that quotes the token (a server echoing
    the request's headers) is dropped from the chain, so no traceback or log line can carry it."""
    from huggingface_hub import get_token

    secret = token or get_token()
    leaked = bool(secret) and any(secret in text for text in (message, str(cause), repr(cause)))
    if secret:
        message = message.replace(secret, "hf_***")
    if leaked:
        raise PublishError(message + " (the Hub's reply quoted the token; masked)", transient=transient) from None
    raise PublishError(message, transient=transient) from cause


def push_folder(
    folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
    endpoint: str | None = None, revision: str | None = None, commit_message: str = "Upload fakesound corpus",
) -> PushResult:
    """Commit an exported folder to a dataset repo in ONE commit (created if missing).

    Unchanged files are skipped by the Hub client, so an identical push makes no commit; parquet
    files under ``data/`` that the folder no longer has are deleted in the same commit.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.hf_api import RepoFile

    folder = Path(folder)
    local = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        parent = api.dataset_info(repo_id, revision=revision).sha
        remote = [
            f.path for f in api.list_repo_tree(repo_id, repo_type="dataset", revision=parent, recursive=True)
            if isinstance(f, RepoFile)
        ]
        stale = [p for p in remote if p.startswith(f"{DATA_DIR}/") and p not in local]
        operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(folder / p)) for p in local]
        operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
        commit = api.create_commit(repo_id, operations, commit_message=commit_message, repo_type="dataset",
                                   revision=revision, parent_commit=parent)
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else 0
        _raise_redacted(f"push to {repo_id} failed, nothing was committed: {_one_line(err)}",
                        status == 429 or status >= 500, err, token)
    except Exception as err:  # the Hub client's transport errors (httpx) do not derive from OSError
        if isinstance(err, OSError) or type(err).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore"):
            _raise_redacted(f"push to {repo_id} failed, cannot reach {api.endpoint}: {_one_line(err)}", True, err,
                            token)
        raise
    return PushResult(repo_id, commit.oid, commit.commit_url, commit.oid != parent, tuple(local))


def push_corpus(
    corpus_dir: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
    endpoint: str | None = None, splits: Sequence[str] | None = None, license: str | None = None,
    pretty_name: str | None = None, revision: str | None = None, work_dir: str | Path | None = None,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> PushResult:
    """Export the corpus to a temporary folder (under ``work_dir``) and push it in one commit."""
    with tempfile.TemporaryDirectory(prefix="fakesound-push-", dir=work_dir) as tmp:
        exported = export_hub_folder(corpus_dir, Path(tmp) / "repo", splits=splits, license=license,
                                     pretty_name=pretty_name, repo_id=repo_id, max_shard_bytes=max_shard_bytes)
        return push_folder(exported.path, repo_id, private=private, token=token, endpoint=endpoint,
                           revision=revision)
