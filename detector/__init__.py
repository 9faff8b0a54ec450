"""detector stage: front-end -> back-end -> per-frame and clip fake scores; training, inference, metrics, benchmark."""

from detector.backends import BACKENDS, DEFAULT_BACKEND, create_backend
from detector.benchmark import run_benchmark
from detector.evaluate import compute_metrics, metrics_by_group, predict_records
from detector.frontends import create_frontend
from detector.inference import Detection, Detector, run_detect
from detector.model import DetectorConfig, DetectorModel, build_model, load_model, save_model
from detector.train import TrainConfig, train

__all__ = [
    "BACKENDS", "DEFAULT_BACKEND", "Detection", "Detector", "DetectorConfig", "DetectorModel", "TrainConfig",
    "build_model", "compute_metrics", "create_backend", "create_frontend", "load_model", "metrics_by_group",
    "predict_records", "run_benchmark", "run_detect", "save_model", "train",
]
