"""``benchmarks/gpu_check.py`` and ``bench_audiosr.measure_chunk``, as far as the CPU allows: the clear refusal
without CUDA, device selection, reading pytest's JUnit report and the benchmarks' output, the table."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from device_params import load_benchmark

from regenerate.audiosr import AudioSRUpsampler, tiny_audiosr_config

gpu_check = load_benchmark("gpu_check")

#: the summary table of ``bench_inpainting.py`` as its ``main`` prints it
INPAINTING_OUTPUT = """\
device cuda, dtype torch.float16, threads 16
batch 1: inpainting's extra work per step (noise, re-noise, merge) 0.21 ms = 1.234% of a text-to-audio step

model      batch mode           s/step(min)       ratio s/step(med)       ratio     total s     clips/h     peak GB
-------------------------------------------------------------------------------------------------------------------
audioldm       1 text-to-audio        0.012       1.000       0.013       1.000       0.950        3789        2.10
audioldm       1 inpainting           0.012       1.010       0.013       1.020       1.000        3600        2.20
audioldm2     16 inpainting           0.150       1.020       0.160       1.010      12.000        4800       30.50

worst inpainting/text-to-audio seconds-per-step ratio: 1.020 (target <= 1.05)
"""


def test_refuses_clearly_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 2
    err = capsys.readouterr().err
    assert "no CUDA device" in err and "pytest tests/gpu" in err
    assert gpu_check.main(["--device", "cpu"]) == 2
    assert "--device must be cuda or cuda:N" in capsys.readouterr().err


def test_script_exits_2_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = subprocess.run([sys.executable, str(gpu_check.ROOT / "benchmarks" / "gpu_check.py")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "no CUDA device" in proc.stderr and not proc.stdout


def test_device_index_maps_through_cuda_visible_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert gpu_check.require_cuda("cuda:1") == "3"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert gpu_check.require_cuda("cuda:1") == "1"
    with pytest.raises(gpu_check.NoCudaError, match="does not exist"):
        gpu_check.require_cuda("cuda:2")


def test_junit_report_becomes_rows(tmp_path):
    """A real pytest run: passed (with a recorded property), failed, skipped and xfailed tests."""
    (tmp_path / "test_sample.py").write_text(textwrap.dedent("""
        import pytest

        def test_passes(record_property):
            record_property("rel_err", "1.5e-03")

        def test_fails():
            assert 1 == 2, "one is not two"

        def test_skips():
            pytest.skip("no device")

        @pytest.mark.xfail(reason="known")
        def test_xfails():
            raise RuntimeError
    """))
    xml = tmp_path / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path), f"--junitxml={xml}"],
                   capture_output=True, cwd=tmp_path, timeout=120)  # fmt: skip
    rows = {row.item: row for row in gpu_check.junit_rows(xml)}
    assert {name: row.status for name, row in rows.items()} == {
        "test_passes": "ok", "test_fails": "FAIL", "test_skips": "skip", "test_xfails": "xfail"
    }
    assert "rel_err 1.5e-03" in rows["test_passes"].detail and "one is not two" in rows["test_fails"].detail
    assert "no device" in rows["test_skips"].detail


def test_inpainting_table_becomes_rows():
    rows = gpu_check.inpainting_rows(INPAINTING_OUTPUT)
    assert [r.item for r in rows] == [
        "audioldm batch 1 text-to-audio", "audioldm batch 1 inpainting", "audioldm2 batch 16 inpainting"
    ]
    assert rows[2].detail == "150.0 ms/step (x1.020 of text-to-audio), 12.00 s/call, 4800 clips/h, peak 30.5 GB"
    assert gpu_check.inpainting_rows("Traceback (most recent call last):\nRuntimeError: boom\n") == []


def test_audiosr_figures_from_a_tiny_model_become_rows():
    """``measure_chunk`` (what ``bench_audiosr.py --json`` writes) on a tiny model on the CPU."""
    bench = load_benchmark("bench_audiosr")
    up = AudioSRUpsampler.from_config(tiny_audiosr_config(), device="cpu", seed=0)
    result = bench.measure_chunk(up, repeats=1, steps=1)
    assert result["finite"] and result["peak_cuda_gb"] is None
    assert result["estimate_50_s"] == pytest.approx(result["fixed_s"] + 50 * result["step_s"])
    rows = gpu_check.audiosr_rows(json.loads(json.dumps({**result, "steps": 1})))
    assert [r.item for r in rows][-3:] == ["band replacement (mel + STFT)", "chunk (estimate)", "real chunk, 1 steps"]
    assert all(r.status == "ok" for r in rows)


def test_table_aligns_counts_and_truncates():
    rows = [
        gpu_check.Row("tests", "test_a[cuda]", "ok", "1.0 s"),
        gpu_check.Row("bench_inpainting", "x" * 100, "FAIL", "exit 1: RuntimeError: boom"),
        gpu_check.Row("tests", "test_b[cuda]", "xfail", "known"),
    ]
    table = gpu_check.format_table(rows, {"tests": 12.3})
    lines = table.splitlines()
    body = lines[2:5]
    assert len({line.index(status) for line, status in zip(body, ("ok", "FAIL", "xfail"), strict=True)}) == 1
    assert "x" * 100 not in table and "…" in lines[3]
    assert lines[-2] == "1 ok, 1 FAIL, 1 xfail" and lines[-1] == "seconds: tests 12"


def test_main_runs_every_stage_and_fails_on_a_failure(monkeypatch, tmp_path, capsys):
    """The wiring with the stages stubbed: tests, inpainting benchmark (crashes), AudioSR benchmark."""
    monkeypatch.setattr(gpu_check, "require_cuda", lambda device: "0")
    calls = []

    def fake_stage(cmd, log, env, timeout_s=0):
        calls.append(cmd)
        assert env["CUDA_VISIBLE_DEVICES"] == "0"
        if "pytest" in cmd:
            xml = next(a.split("=", 1)[1] for a in cmd if a.startswith("--junitxml="))
            (tmp_path / xml).write_text('<testsuites><testsuite><testcase name="test_x[cuda]" time="2.0"/>'
                                        "</testsuite></testsuites>")  # fmt: skip
            return 0, ""
        if "benchmarks/bench_inpainting.py" in cmd:
            return 1, "Traceback (most recent call last):\nRuntimeError: Input type (c10::Half) and bias type (float)"
        figures = {"stages": [["VAE decode", 0.01]], "step_s": 0.02, "fixed_s": 0.1, "estimate_50_s": 1.1,
                   "peak_cuda_gb": 3.0, "end_to_end_s": 0.2, "finite": True, "steps": 3}  # fmt: skip
        (tmp_path / cmd[cmd.index("--json") + 1]).write_text(json.dumps(figures))
        return 0, ""

    monkeypatch.setattr(gpu_check, "run_stage", fake_stage)
    assert gpu_check.main(["--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert [c[1:4] for c in calls] == [["-m", "pytest", "-m"], ["benchmarks/bench_inpainting.py", "--device", "cuda"],
                                       ["benchmarks/bench_audiosr.py", "--device", "cuda"]]  # fmt: skip
    assert "--fp16" in calls[1] and calls[1][calls[1].index("--batch") + 1 : calls[1].index("--batch") + 4] == [
        "1", "8", "16"
    ]
    assert "test_x[cuda]" in out and "Input type (c10::Half)" in out and "chunk (estimate)" in out
    assert "4 ok, 1 FAIL" in out  # test, AudioSR stage, estimate and real chunk; the inpainting crash


def test_bench_audiosr_cli_writes_the_figures_gpu_check_reads(monkeypatch, tmp_path, capsys):
    """``bench_audiosr.py --json`` end to end, with the tiny architecture standing in for the published one."""
    bench = load_benchmark("bench_audiosr")
    monkeypatch.setattr(bench, "audiosr_config", tiny_audiosr_config)
    figures = tmp_path / "audiosr.json"
    monkeypatch.setattr(sys, "argv", ["bench_audiosr.py", "--threads", "1", "--steps", "1", "--json", str(figures)])
    bench.main()
    assert "estimated full chunk, 50 steps" in capsys.readouterr().out
    result = json.loads(figures.read_text())
    assert result["device"] == "cpu" and result["steps"] == 1 and result["finite"]
    assert gpu_check.audiosr_rows(result)[-1].item == "real chunk, 1 steps"
