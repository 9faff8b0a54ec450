"""The rehearsal: the user's whole path, offline, through the served Prefect deployments on a loopback server.

An AudioCaps-shaped dataset on the local Hub stand-in -> ``import-sources`` -> ``ground-sources`` (tiny TAG
checkpoint) -> ``build-fakesound`` with ``recipe=fakesound-train`` and tiny AudioLDM2 + AudioSR checkpoints in the
published layouts -> ``push-to-hub`` (the stand-in) -> ``train-detector`` -> ``benchmark-detector``. The flows run
in ``fakesound serve``'s own processes, reaching the stand-in through ``HF_ENDPOINT`` as a user's would reach the
Hub; every artifact they leave is checked.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
import tiny_models
from hub_standin import HubStandin, use_endpoint
from tiny_corpus import assert_fakes_are_hard_splices

from grounding.results import load_grounding
from pipeline.manifest import read_manifest

pytestmark = [pytest.mark.rehearsal, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DATASET = "audiocaps-standin/AudioCaps"
PUSHED = "rehearsal/fakesound-train"
#: (demo kit recording, youtube_id, start_time, caption): five clips -> 3 train, 1 val, 1 test sources
CLIPS = (("bg_farmyard.flac", "farm01", 0, "animals call on a farm"),
         ("bg_forest_birds.flac", "birds02", 10, "birds sing in a forest"),
         ("bg_rain.flac", "rain3", 30, "rain falls steadily"),
         ("bg_river.flac", "river4", 20, "a river flows over rocks"),
         ("bg_harbour.flac", "harbour5", 40, "waves lap at a harbour wall"))
CARD = ("---\nlicense: mit\ndataset_info:\n  features:\n  - name: audiocap_id\n    dtype: int64\n  - name: youtube_id\n"
        "    dtype: string\n  - name: start_time\n    dtype: int64\n  - name: audio\n    dtype:\n      audio:\n"
        "        sampling_rate: 32000\n  - name: caption\n    dtype: string\nconfigs:\n- config_name: default\n"
        "  data_files:\n  - split: test\n    path: data/test-*\n---\n")
DEPLOYMENTS = ("import-sources/default", "ground-sources/default", "build-fakesound/default", "push-to-hub/default",
               "train-detector/default", "benchmark-detector/default")


def _publish_audiocaps(endpoint: str, kit_dir: Path, folder: Path) -> None:
    """An AudioCaps-shaped dataset repo (card + one parquet shard with Audio bytes) on the stand-in."""
    from datasets import Audio, Dataset
    from huggingface_hub import HfApi

    rows = [{"audiocap_id": i, "youtube_id": yid, "start_time": start, "caption": caption,
             "audio": {"bytes": (kit_dir / name).read_bytes(), "path": None}}
            for i, (name, yid, start, caption) in enumerate(CLIPS)]
    shard = folder / "test-00000-of-00001.parquet"
    Dataset.from_list(rows).cast_column("audio", Audio()).to_parquet(str(shard))
    api = HfApi(endpoint=endpoint, token="hf_standin")
    api.create_repo(DATASET, repo_type="dataset")
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=DATASET, repo_type="dataset")
    api.upload_file(path_or_fileobj=str(shard), path_in_repo="data/test-00000-of-00001.parquet", repo_id=DATASET,
                    repo_type="dataset")


def _serve_env(tmp_path: Path, endpoint: str) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_HOME": str(tmp_path / "serve_home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1", "HF_ENDPOINT": endpoint, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "hf_standin",
            "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "0"}


def _stop(process: subprocess.Popen) -> None:
    """Stop ``fakesound serve`` and the flow-run processes it started (its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_deployments(process: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"fakesound serve exited:\n{log.read_text()[-3000:]}"
            try:
                for name in DEPLOYMENTS:
                    client.read_deployment_by_name(name)
                return
            except Exception:
                time.sleep(1)
    raise AssertionError(f"deployments not served after {timeout_s} s:\n{log.read_text()[-3000:]}")


def _run(name: str, log: Path, **parameters) -> None:
    """Run a served deployment to completion (its results are the files it writes: nothing is persisted)."""
    from prefect.deployments import run_deployment

    run = run_deployment(name, parameters=parameters, timeout=600, poll_interval=1)
    assert run.state.is_completed(), f"{name}: {run.state.type.value} {run.state.message}\n{log.read_text()[-4000:]}"


def test_the_rehearsal_walks_the_real_path_through_the_served_deployments(prefect_api, tmp_path, monkeypatch,
                                                                          kit_dir):
    from datasets import Audio, load_dataset

    with HubStandin() as hub:
        use_endpoint(monkeypatch, hub.endpoint)
        monkeypatch.setenv("HF_TOKEN", "hf_standin")
        _publish_audiocaps(hub.endpoint, kit_dir, tmp_path)
        tag = tiny_models.tag_checkpoint(tmp_path / "tag")
        audioldm2 = tiny_models.save_checkpoint(tiny_models.audioldm2_components(tmp_path / "parts"),
                                                tmp_path / "audioldm2", audioldm2=True)
        audiosr = tiny_models.save_audiosr(tmp_path / "audiosr")

        log = tmp_path / "serve.log"
        with log.open("w") as out:
            serve = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--only", *DEPLOYMENTS],
                                     cwd=tmp_path, env=_serve_env(tmp_path, hub.endpoint), stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for_deployments(serve, log)
            sources = tmp_path / "sources"
            _run("import-sources/default", log, hf_dataset=DATASET, split="test", out=str(sources))
            imported = read_manifest(sources / "manifest.jsonl")
            assert sorted(r.id for r in imported) == sorted(f"{c[1]}_{c[2]}" for c in CLIPS)
            assert {r.extra["hf_dataset"] for r in imported} == {DATASET}
            attribution = (sources / "LICENSES.md").read_text()
            assert f"`{DATASET}`" in attribution and "declared by its dataset card: `mit`" in attribution

            grounding = tmp_path / "grounding.json"
            _run("ground-sources/default", log, sources=str(sources / "manifest.jsonl"), out=str(grounding),
                 model=str(tag), device="cpu")
            grounded = load_grounding(grounding)
            assert set(grounded) == {r.id for r in imported}, sorted(grounded)

            corpus = tmp_path / "corpus"
            _run("build-fakesound/default", log, sources=str(sources / "manifest.jsonl"), out=str(corpus),
                 recipe="fakesound-train", grounding=str(grounding), checkpoint=str(audioldm2), steps=2,
                 n_candidates=2, audiosr=str(audiosr), audiosr_steps=1,
                 audiosr_config=str(audiosr / "config.json"), device="cpu", workers=1, seed=3)
            records = read_manifest(corpus / "manifest.jsonl")
            assert (corpus / "LICENSES.md").read_text() == attribution  # carried to the corpus, then the card
            assert {r.split for r in records} == {"train", "val", "test"} and len(records) == 10
            for fake in assert_fakes_are_hard_splices(corpus, records, 32000):
                assert 1.0 <= fake.segments[0][1] - fake.segments[0][0] <= 4.0  # fakesound-train's regions
                info = fake.extra
                assert fake.manipulation == "inpainting" and fake.generator == "audioldm2"
                assert info["recipe"] == "fakesound-train" and info["checkpoint"] == str(audioldm2)
                assert info["region_from"].startswith("grounding")  # the ground-sources run chose the region
                assert info["steps"] == 2 and info["n_candidates"] == 2 and info["candidate"] in (0, 1)
                assert info["clap"] == "text_encoder" and isinstance(info["clap_score"], float)
                assert info["audiosr"] == str(audiosr) and info["audiosr_steps"] == 1

            _run("push-to-hub/default", log, corpus=str(corpus), repo_id=PUSHED)
            repo = hub.repo(PUSHED)
            assert len(repo.commits) == 2 and repo.private  # created, then the push's one commit
            assert f"`{DATASET}`" in repo.head.files["README.md"].decode()  # the attribution, in the card
            for split in ("train", "val", "test"):
                rows = load_dataset(PUSHED, split=split, cache_dir=str(tmp_path / "reload"))
                rows = rows.cast_column("audio", Audio(decode=False))
                expected = [r for r in records if r.split == split]
                assert rows["id"] == [r.id for r in expected] and rows["label"] == [r.label for r in expected]
                for record, audio in zip(expected, rows["audio"], strict=True):
                    assert audio["bytes"] == (corpus / record.audio_path).read_bytes()
                    samples, rate = sf.read(io.BytesIO(audio["bytes"]), dtype="int16")
                    assert rate == 32000 and len(samples) == record.num_samples

            detector = tmp_path / "detector"
            _run("train-detector/default", log, corpus=str(corpus), out=str(detector), frontend="logmel", epochs=1,
                 batch_size=4, augment=False, device="cpu")
            metrics = json.loads((detector / "metrics.json").read_text())
            assert metrics["epochs_done"] == 1 and len(metrics["history"]) == 1, metrics
            assert all((detector / name).is_file() for name in ("model.safetensors", "config.json", "train_state.pt"))

            bench = tmp_path / "bench"
            _run("benchmark-detector/default", log, out=str(bench), checkpoints=[str(detector)],
                 manifests=[str(corpus / "test.json")], n_boot=20, device="cpu")
            results = json.loads((bench / "results.json").read_text())
            assert (bench / "results.md").is_file() and results["rows"] and not results["errors"], results
            assert any(row["checkpoint"] for row in results["rows"])
            for row in results["rows"]:
                assert row["system"] and row["split"] == "test", row
                if row["checkpoint"]:  # the shortcut-probe rows carry only their EER
                    assert {"eer", "auc", "seg_f1_1s", "seg_f1_20ms", "event_f1"} <= set(row["metrics"]), row
        finally:
            _stop(serve)
