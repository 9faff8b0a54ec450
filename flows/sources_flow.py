"""Prefect face of the sources: ``import-sources`` (a ``datasets`` dataset, or a folder + captions CSV -> source
manifest) and ``restore-fakesound-reals`` (FakeSound's release + sources -> a paired corpus). The work is the
library's (:func:`pipeline.sources.import_job`, :func:`pipeline.fakesound_reals.restore_reals`); parameters are the
requests' fields with their defaults (a test holds them equal to the CLI's options)."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from pipeline.fakesound_reals import RestoreRealsRequest, restore_reals
from pipeline.hf_sources import SourceDatasetError
from pipeline.requests import ImportRequest
from pipeline.sources import import_job

IMP, R = ImportRequest, RestoreRealsRequest  # defaults are read from the requests


def _retry_network(task, task_run, state) -> bool:
    """Retry a dataset that could not be reached (network); bad rows never fail the task, bad columns do not heal."""
    try:
        state.result()
    except SourceDatasetError as err:
        return isinstance(err.__cause__, ConnectionError | TimeoutError)
    except Exception:
        return False
    return False


@task(name="import-hf-sources", retries=2, retry_delay_seconds=30, retry_condition_fn=_retry_network)
def import_task(request: ImportRequest) -> dict[str, Any]:
    result = import_job(request)
    for rejection in result.rejected:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    return {"out": request.out, "sources": len(result.records), "rejected": len(result.rejected)}


@flow(name="import-sources")
def import_sources(
    out: str,
    hf_dataset: str | None = IMP.hf_dataset,
    audio: str | None = IMP.audio,
    captions: str | None = IMP.captions,
    config: str | None = IMP.config,
    split: str | None = IMP.split,
    revision: str | None = IMP.revision,
    audio_column: str | None = IMP.audio_column,
    caption_column: str | None = IMP.caption_column,
    id_column: str | None = IMP.id_column,
    preset: str | None = IMP.preset,
    limit: int | None = IMP.limit,
    streaming: bool = IMP.streaming,
    sample_rate: int = IMP.sample_rate,
    workers: int = IMP.workers,
    min_sample_rate: int = IMP.min_sample_rate,
    max_channels: int = IMP.max_channels,
    min_seconds: float = IMP.min_seconds,
    max_seconds: float = IMP.max_seconds,
    max_caption_chars: int = IMP.max_caption_chars,
    reject_silent: bool = IMP.reject_silent,
) -> dict[str, Any]:
    """Import source clips into ``out`` (resumable): a Hub id, local dataset folder or parquet files
    (``hf_dataset``), or a folder of audio with a captions CSV."""
    request = ImportRequest(
        out=out, hf_dataset=hf_dataset, audio=audio, captions=captions, config=config, split=split,
        revision=revision, audio_column=audio_column, caption_column=caption_column, id_column=id_column,
        preset=preset, limit=limit, streaming=streaming, sample_rate=sample_rate, workers=workers,
        min_sample_rate=min_sample_rate, max_channels=max_channels, min_seconds=min_seconds, max_seconds=max_seconds,
        max_caption_chars=max_caption_chars, reject_silent=reject_silent,
    )
    return import_task(request)


@flow(name="restore-fakesound-reals")
def restore_fakesound_reals(
    metadata: list[str],
    fakes_root: str,
    sources: str,
    out: str,
    max_shift_s: float = R.max_shift_s,
    min_snr_db: float = R.min_snr_db,
    guard_s: float = R.guard_s,
    min_outside_s: float = R.min_outside_s,
    workers: int = R.workers,
) -> dict[str, Any]:
    """Rebuild FakeSound's reals from the sources; fakes without a matching real are logged and listed."""
    records, rejections = restore_reals(RestoreRealsRequest(
        metadata=metadata, fakes_root=fakes_root, sources=sources, out=out, max_shift_s=max_shift_s,
        min_snr_db=min_snr_db, guard_s=guard_s, min_outside_s=min_outside_s, workers=workers))
    for rejection in rejections:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    splits = sorted({r.split for r in records})
    create_table_artifact(table=[{"split": s, "reals": sum(r.split == s and r.label == 0 for r in records),
                                  "fakes": sum(r.split == s and r.label == 1 for r in records)} for s in splits],
                          key="restored-reals", description=f"paired corpus in {out}")
    return {"out": out, "clips": len(records), "rejected": len(rejections)}
