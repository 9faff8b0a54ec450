"""detector stage: front-end -> back-end -> per-frame and clip fake scores; training, inference, metrics, benchmark.

Names are imported on first use, so ``detector.config`` (settings, registry names, requests) is readable
without torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

_HOMES = {
    "BACKENDS": "detector.backends", "DEFAULT_BACKEND": "detector.config", "create_backend": "detector.backends",
    "run_benchmark": "detector.benchmark", "compute_metrics": "detector.evaluate",
    "metrics_by_group": "detector.evaluate", "predict_records": "detector.evaluate",
    "create_frontend": "detector.frontends", "Detection": "detector.inference", "Detector": "detector.inference",
    "run_detect": "detector.inference", "DetectorConfig": "detector.config", "DetectorModel": "detector.model",
    "build_model": "detector.model", "load_model": "detector.model", "save_model": "detector.model",
    "TrainConfig": "detector.config", "train": "detector.train",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Keeps ``detector.train`` the training function although a submodule of that name exists (importing the
    submodule would otherwise rebind the package attribute to it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
