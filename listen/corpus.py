"""The corpus as the app sees it: records by id, the real/fake pairs of a source, facets, and the only files
the server will ever read (each record's audio, resolved inside the corpus folder)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pipeline.audio_io import decode_audio
from pipeline.containment import OutsideCorpus, audio_inside
from pipeline.corpus import MANIFEST
from pipeline.errors import RejectedInput
from pipeline.fakesound_format import read_fakesound_json
from pipeline.manifest import ClipRecord, read_manifest
from pipeline.timemath import samples_to_seconds


@dataclass
class CorpusIndex:
    """Records whose audio lies inside ``root``; the others are listed in ``rejected`` with the reason."""

    root: Path
    records: dict[str, ClipRecord]
    paths: dict[str, Path]
    rejected: list[str] = field(default_factory=list)
    manifest_name: str = MANIFEST

    @classmethod
    def load(cls, root: str | Path, manifest: str | Path = MANIFEST) -> CorpusIndex:
        """Read ``root/manifest``: our JSONL, or a FakeSound JSON (``.json``; its split is the file's stem).
        Audio paths are taken relative to ``root``; a missing duration is read from the audio header."""
        root = Path(root).resolve()
        path = root / manifest
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no manifest (is {root} a corpus folder written by `fakesound build`?)")
        records, paths, rejected = {}, {}, []
        for record in read_fakesound_json(path) if path.suffix == ".json" else read_manifest(path):
            try:
                audio = audio_inside(root, record.audio_path, record.id).resolve()
            except OutsideCorpus:
                rejected.append(f"{record.id}: audio {record.audio_path} lies outside the corpus folder; not served")
                continue
            except RejectedInput as err:
                rejected.append(f"{record.id}: {err.reason}")
                continue
            if not audio.exists():
                rejected.append(f"{record.id}: audio {record.audio_path} not found")
            elif record.id in records:
                rejected.append(f"{record.id}: duplicate clip id in {path.name}")
            else:
                try:  # every clip decoded once: what is served plays to its end (not truncated, no NaN, audio)
                    data, sample_rate = decode_audio(audio)
                except RejectedInput as err:
                    rejected.append(f"{record.id}: {err.reason}")
                    continue
                if record.duration <= 0:
                    record.duration = samples_to_seconds(len(data), sample_rate)
                records[record.id], paths[record.id] = record, audio
        return cls(root, records, paths, rejected, path.name)

    def audio_path(self, clip_id: str) -> Path:
        """The audio of a known clip (KeyError otherwise): the server reads no other corpus file."""
        return self.paths[clip_id]

    def partners(self, clip_id: str) -> list[ClipRecord]:
        """The other clips of the same source: a fake's real clip first, then its sibling fakes."""
        record = self.records[clip_id]
        same = [r for r in self.by_source[record.source_id] if r.id != clip_id]
        return sorted(same, key=lambda r: (r.label, r.id))

    @cached_property
    def by_source(self) -> dict[str, list[ClipRecord]]:
        groups: dict[str, list[ClipRecord]] = defaultdict(list)
        for r in self.records.values():
            groups[r.source_id].append(r)
        return dict(groups)

    def facets(self) -> dict[str, list[str]]:
        """Values to browse by: splits, manipulations, generators."""
        recs = self.records.values()
        return {"split": sorted({r.split for r in recs}), "manipulation": sorted({r.manipulation for r in recs}),
                "generator": sorted({r.generator for r in recs if r.generator})}

    def select(self, split: str = "", manipulation: str = "", generator: str = "") -> list[ClipRecord]:
        """Records matching every non-empty filter, in manifest order."""
        return [r for r in self.records.values()
                if (not split or r.split == split) and (not manipulation or r.manipulation == manipulation)
                and (not generator or r.generator == generator)]
