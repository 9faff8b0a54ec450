"""Training publishes its progress while it runs, on the train-detector run (artifacts keyed by checkpoint folder)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from prefect_runs import run_logs

import flows.detector_flows as detector_flows
from flows.artifacts import artifact_key


@pytest.mark.timeout(300)
def test_training_progress_and_history_are_published_while_it_runs(prefect_api, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    import detector

    out = tmp_path / "ckpt"
    published = []

    def fake_train(corpus, out_dir, det_cfg, cfg, resume=False):  # writes metrics.json per epoch, as the trainer
        out_dir = Path(out_dir)
        history = []
        for epoch in range(1, cfg.epochs + 1):
            history.append({"epoch": epoch, "val_eer": 0.5 / epoch})
            out_dir.mkdir(exist_ok=True)
            (out_dir / "metrics.json").write_text(json.dumps({"epochs_done": epoch, "history": history}))
            time.sleep(0.6)
            published.append(epoch)
        return {"history": history, "best_val": history[-1]}

    monkeypatch.setattr(detector, "train", fake_train)
    monkeypatch.setattr(detector_flows._watch_training, "__defaults__", (0.1,))
    state = detector_flows.train_detector(corpus=str(tmp_path), out=str(out), epochs=3, return_state=True)
    assert state.is_completed() and published == [1, 2, 3]
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        progress = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key("training-progress", str(out))])))
        history = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key("training-history", str(out))])))
    assert progress and float(progress[0].data) == 100.0
    assert history and progress[0].flow_run_id == run_id
    logs = run_logs(run_id, until=lambda messages: sum(m.startswith("epoch ") for m in messages) >= 3)
    epochs_logged = [m.split(":")[0] for m in logs if m.startswith("epoch ")]
    assert epochs_logged == ["epoch 1", "epoch 2", "epoch 3"]  # seen while training ran, one line per epoch


def test_benchmark_figures_are_embedded_so_the_ui_can_show_them(tmp_path):
    import base64

    png = b"\x89PNG\r\n\x1a\nfake image bytes"
    (tmp_path / "det_roc.png").write_bytes(png)
    text = detector_flows.figures_markdown(tmp_path)
    assert f"![det_roc.png](data:image/png;base64,{base64.b64encode(png).decode()})" in text
    assert "localisation.png" not in text and "file://" not in text
    assert detector_flows.figures_markdown(tmp_path / "empty") == ""
