"""fakesound's shared core: manifest, formats, time maths, audio I/O and splicing.

It imports no stage package; every stage imports it.
"""

from pipeline.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from pipeline.audio_io import quantize_pcm16, read_audio, resample, write_audio
from pipeline.errors import RejectedInput, Rejection, read_rejections
from pipeline.fakesound_format import (
    fakesound_audio_id,
    read_fakesound2_jsonl,
    read_fakesound_json,
    write_fakesound_json,
)
from pipeline.hashing import config_hash, sha256_file
from pipeline.manifest import FAKE, REAL, ClipRecord, iter_manifest, read_manifest, write_manifest
from pipeline.splice import fit_length, match_loudness, splice, splice_many
from pipeline.timemath import (
    DEFAULT_FRAME_S,
    FAKESOUND_GRID_S,
    Segment,
    frame_labels_to_segments,
    samples_to_seconds,
    seconds_to_samples,
    segment_to_samples,
    segments_to_frame_labels,
    snap_segment,
    snap_to_grid,
)

__all__ = [
    "DEFAULT_FRAME_S", "FAKE", "FAKESOUND_GRID_S", "REAL", "ClipRecord", "RejectedInput", "Rejection", "Segment",
    "atomic_path", "atomic_write_bytes", "atomic_write_text", "config_hash", "fakesound_audio_id", "fit_length",
    "frame_labels_to_segments", "iter_manifest", "match_loudness", "quantize_pcm16", "read_audio",
    "read_fakesound2_jsonl", "read_fakesound_json", "read_manifest", "read_rejections", "resample",
    "samples_to_seconds", "seconds_to_samples", "segment_to_samples", "segments_to_frame_labels", "sha256_file",
    "snap_segment", "snap_to_grid", "splice", "splice_many", "write_audio", "write_fakesound_json", "write_manifest",
]
