"""Prefect face of the sources: ``import-sources`` (a ``datasets`` dataset -> source FLACs + manifest) and
``restore-fakesound-reals`` (FakeSound's release + sources -> a paired corpus). The work is the library's
(:mod:`pipeline.hf_sources`, :mod:`pipeline.fakesound_reals`); defaults come from its request dataclasses."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from pipeline.fakesound_reals import RealsCheck, RestoreRealsRequest, restore_reals
from pipeline.hf_sources import HFSourceRequest, SourceDatasetError, import_hf_sources

_IMPORT = {f.name: f.default for f in fields(HFSourceRequest) if f.name not in ("dataset", "out")}
_CHECK = RealsCheck()


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
def import_task(request: HFSourceRequest) -> dict[str, Any]:
    result = import_hf_sources(request)
    for rejection in result.rejected:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    return {"out": request.out, "sources": len(result.records), "rejected": len(result.rejected)}


@flow(name="import-sources")
def import_sources(
    dataset: str,
    out: str,
    config: str | None = _IMPORT["config"],
    split: str | None = _IMPORT["split"],
    revision: str | None = _IMPORT["revision"],
    audio_column: str | None = _IMPORT["audio_column"],
    caption_column: str | None = _IMPORT["caption_column"],
    id_column: str | None = _IMPORT["id_column"],
    preset: str | None = _IMPORT["preset"],
    limit: int | None = _IMPORT["limit"],
    streaming: bool = _IMPORT["streaming"],
    sample_rate: int | None = _IMPORT["sample_rate"],
    workers: int = _IMPORT["workers"],
) -> dict[str, Any]:
    """Import a Hub id, local dataset folder or parquet files as source clips into ``out`` (resumable)."""
    request = HFSourceRequest(
        dataset=dataset, out=out, config=config, split=split, revision=revision, audio_column=audio_column,
        caption_column=caption_column, id_column=id_column, preset=preset, limit=limit, streaming=streaming,
        sample_rate=sample_rate, workers=workers,
    )
    return import_task(request)


@flow(name="restore-fakesound-reals")
def restore_fakesound_reals(
    metadata: list[str],
    fakes_root: str,
    sources: str,
    out: str,
    max_shift_s: float = _CHECK.max_shift_s,
    min_snr_db: float = _CHECK.min_snr_db,
    workers: int = 2,
) -> dict[str, Any]:
    """Rebuild FakeSound's reals from the sources; fakes without a matching real are logged and listed."""
    check = RealsCheck(max_shift_s=max_shift_s, min_snr_db=min_snr_db)
    records, rejections = restore_reals(RestoreRealsRequest(
        metadata=tuple(metadata), fakes_root=fakes_root, sources=sources, out=out, check=check, workers=workers))
    for rejection in rejections:
        get_run_logger().warning("rejected %s: %s", rejection.item, rejection.reason)
    splits = sorted({r.split for r in records})
    create_table_artifact(table=[{"split": s, "reals": sum(r.split == s and r.label == 0 for r in records),
                                  "fakes": sum(r.split == s and r.label == 1 for r in records)} for s in splits],
                          key="restored-reals", description=f"paired corpus in {out}")
    return {"out": out, "clips": len(records), "rejected": len(rejections)}
