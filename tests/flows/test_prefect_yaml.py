"""``prefect.yaml`` mirrors the served deployments, registers with ``prefect deploy --all`` on the loopback server,
and a ``process`` worker runs one of them to completion."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.deployments import SPECS

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOL = "fakesound"


def _yaml_deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_prefect_yaml_mirrors_the_served_deployments():
    declared = {(d["entrypoint"], d["name"]): d for d in _yaml_deployments()}
    assert len(declared) == len(SPECS)
    for spec in SPECS:
        served = spec.to_deployment()
        entry = declared[(served.entrypoint, spec.name)]
        assert entry["parameters"] == spec.parameters
        assert entry["description"] == spec.description and entry["tags"] == served.tags
        assert entry["work_pool"]["name"] == POOL


def _env(home: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_CLI_PROMPT": "false",
            "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _prefect(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 180) -> str:
    run = subprocess.run([str(BIN / "prefect"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, f"prefect {' '.join(args)}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout


@pytest.mark.timeout(600)
def test_prefect_deploy_all_then_a_process_worker_runs_the_demo(prefect_api, tmp_path):
    project = tmp_path / "project"  # only prefect.yaml: entrypoints are module paths of the installed package
    project.mkdir()
    shutil.copy(ROOT / "prefect.yaml", project / "prefect.yaml")
    env = _env(tmp_path / "home")
    _prefect(["work-pool", "create", POOL, "--type", "process", "--overwrite"], project, env)
    out = _prefect(["--no-prompt", "deploy", "--all"], project, env)
    for spec in SPECS:
        assert spec.full_name in out, out[-2000:]
    corpus = tmp_path / "corpus"
    _prefect(["deployment", "run", "build-fakesound/demo", "--param", f"out={corpus}", "--param", "clips=4"],
             project, env)
    _prefect(["worker", "start", "--pool", POOL, "--type", "process", "--run-once"], tmp_path, env, timeout=420)

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["demo"])))
    assert [r.state.type.value for r in runs] == ["COMPLETED"]
    manifest = (corpus / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 4
