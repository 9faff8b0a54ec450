"""One-command GPU check with random weights (about 5 minutes on one GPU): device tests, then GPU benchmarks.

    python benchmarks/gpu_check.py [--device cuda:0] [--out DIR] [--skip-tests] [--skip-bench]

1. ``pytest -m gpu tests``: every device test (dtypes after loading, finite few-step outputs of tiny
   AudioLDM/AudioLDM2/AudioSR and of full-size AudioSR, fp16-vs-fp32 error of VAE decode and vocoder, the GPU
   benchmark's first call, AMP training, resume on CUDA, CPU-vs-CUDA detector agreement);
2. ``bench_inpainting.py --device cuda --fp16 --batch 1 8 16`` (published sizes, 10 s clips, 3 steps, one
   warm-up call per mode);
3. ``bench_audiosr.py`` on the device: seconds per stage of one 5.12 s chunk, plus a real 3-step chunk.

Each stage runs in its own process (a crash or out-of-memory in one does not hide the others, and each starts
with an empty GPU), on the chosen GPU only (``CUDA_VISIBLE_DEVICES``). Prints one table; full logs go to
``--out``. Exit status 0 when everything passed, 1 when something failed, 2 when there is no CUDA device.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INPAINTING_ARGS = ("--fp16", "--batch", "1", "8", "16", "--seconds", "10", "--steps", "3", "--warmup", "--repeats", "1")
AUDIOSR_STEPS = 3
STAGE_TIMEOUT_S = 600
#: a row of ``bench_inpainting.py``'s table: model, batch, mode, then 7 numbers (see its ``main``)
_INPAINT_ROW = re.compile(r"^(audioldm2?)\s+(\d+)\s+(text-to-audio|inpainting)((?:\s+[-+\d.eE]+|\s+nan|\s+inf){7})\s*$")


@dataclass
class Row:
    """One line of the summary table."""

    stage: str
    item: str
    status: str  # "ok", "FAIL", "skip", "xfail"
    detail: str = ""


class NoCudaError(RuntimeError):
    """There is no usable CUDA device: the check cannot run (exit status 2)."""


def require_cuda(device: str) -> str:
    """The ``CUDA_VISIBLE_DEVICES`` value that selects ``device`` (``cuda`` or ``cuda:N``); raises
    :class:`NoCudaError` with the reason when the device is not a CUDA device or none is visible."""
    import torch

    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise NoCudaError(f"gpu_check: --device must be cuda or cuda:N, got {device!r}")
    if not torch.cuda.is_available():
        raise NoCudaError(
            "gpu_check: no CUDA device (torch.cuda.is_available() is False, torch "
            f"{torch.__version__}, CUDA build {torch.version.cuda}); run it on a machine with an NVIDIA GPU and a "
            "CUDA build of torch. On the CPU, `pytest tests/gpu` runs the CPU variants of the device tests."
        )
    index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise NoCudaError(f"gpu_check: {device} does not exist ({torch.cuda.device_count()} CUDA device(s) visible)")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return visible.split(",")[index].strip() if visible else str(index)


def run_stage(cmd: list[str], log: Path, env: dict[str, str], timeout_s: float = STAGE_TIMEOUT_S) -> tuple[int, str]:
    """Run ``cmd`` from the repository root, output to ``log``; returns (exit status, output). 124 on timeout."""
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = 124, f"{exc.stdout or ''}{exc.stderr or ''}\ntimed out after {timeout_s:.0f} s"
    log.write_text(output)
    return code, output


def last_error(output: str) -> str:
    """The last line that looks like an error (else the last non-empty line), shortened."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"Error|error:|Traceback|timed out", line)]
    return ((errors or lines or [""])[-1])[:160]


def junit_rows(xml_path: Path) -> list[Row]:
    """One row per test case of a JUnit XML report (properties recorded by tests go into the detail)."""
    rows = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        status, detail = "ok", ", ".join(f"{p.get('name')} {p.get('value')}" for p in case.iter("property"))
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            status, detail = "FAIL", (failed.get("message") or failed.tag).splitlines()[0][:160]
        elif skipped is not None:
            status = "xfail" if skipped.get("type") == "pytest.xfail" else "skip"
            detail = (skipped.get("message") or "")[:160]
        seconds = f"{float(case.get('time', 0)):.1f} s"
        rows.append(Row("tests", case.get("name", "?"), status, f"{seconds}; {detail}" if detail else seconds))
    return rows


def inpainting_rows(output: str) -> list[Row]:
    """Rows of ``bench_inpainting.py``'s summary table."""
    rows = []
    for line in output.splitlines():
        match = _INPAINT_ROW.match(line.strip())
        if not match:
            continue
        model, batch, mode, numbers = match.group(1), match.group(2), match.group(3), match.group(4).split()
        step_s, ratio, _, _, total_s, clips_h, peak_gb = (float(x) for x in numbers)
        detail = (f"{step_s * 1e3:.1f} ms/step (x{ratio:.3f} of text-to-audio), {total_s:.2f} s/call, "
                  f"{clips_h:.0f} clips/h, peak {peak_gb:.1f} GB")  # fmt: skip
        rows.append(Row("bench_inpainting", f"{model} batch {batch} {mode}", "ok", detail))
    return rows


def audiosr_rows(result: dict) -> list[Row]:
    """Rows from ``bench_audiosr.py --json``."""
    rows = [Row("bench_audiosr", name, "ok", f"{seconds * 1e3:.1f} ms") for name, seconds in result["stages"]]
    peak = result.get("peak_cuda_gb")
    summary = (f"{result['step_s'] * 1e3:.1f} ms/step, {result['fixed_s']:.2f} s outside the steps, "
               f"est. {result['estimate_50_s']:.1f} s per 5.12 s chunk at 50 steps"
               + (f", peak {peak:.1f} GB" if peak is not None else ""))  # fmt: skip
    rows.append(Row("bench_audiosr", "chunk (estimate)", "ok", summary))
    if "end_to_end_s" in result:
        ok = result.get("finite", True)
        rows.append(Row("bench_audiosr", f"real chunk, {result.get('steps')} steps", "ok" if ok else "FAIL",
                        f"{result['end_to_end_s']:.2f} s" + ("" if ok else ", NON-FINITE output")))  # fmt: skip
    return rows


def format_table(rows: list[Row], elapsed: dict[str, float] | None = None) -> str:
    """The summary: one aligned line per row, then counts per status and seconds per stage."""
    width_stage = max([len("stage"), *(len(r.stage) for r in rows)])
    width_item = min(70, max([len("item"), *(len(r.item) for r in rows)]))
    header = f"{'stage':<{width_stage}}  {'item':<{width_item}}  {'status':<6}  detail"
    lines = [header, "-" * len(header)]
    for r in rows:
        item = r.item if len(r.item) <= width_item else r.item[: width_item - 1] + "…"
        lines.append(f"{r.stage:<{width_stage}}  {item:<{width_item}}  {r.status:<6}  {r.detail}".rstrip())
    counts = {s: sum(r.status == s for r in rows) for s in ("ok", "FAIL", "xfail", "skip")}
    lines.append("-" * len(header))
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "nothing ran")
    if elapsed:
        lines.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in elapsed.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N")
    parser.add_argument("--out", type=Path, default=None, help="folder for the logs (default: a new temp folder)")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--skip-bench", action="store_true")
    args = parser.parse_args(argv)
    try:
        visible = require_cuda(args.device)
    except NoCudaError as exc:
        print(exc, file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    out.mkdir(parents=True, exist_ok=True)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": visible, "PYTHONPATH": pythonpath}
    rows: list[Row] = []
    elapsed: dict[str, float] = {}

    def stage(name: str, cmd: list[str]) -> tuple[int, str]:
        print(f"[gpu_check] {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        code, output = run_stage(cmd, out / f"{name}.log", env)
        elapsed[name] = time.perf_counter() - start
        return code, output

    py = sys.executable
    if not args.skip_tests:
        xml = out / "gpu_tests.xml"
        code, output = stage("tests", [py, "-m", "pytest", "-m", "gpu", "tests", "-q", f"--junitxml={xml}"])
        rows += junit_rows(xml) if xml.is_file() else []
        if code not in (0, 5) and not any(r.status == "FAIL" for r in rows):
            rows.append(Row("tests", "pytest", "FAIL", f"exit {code}: {last_error(output)}"))
    if not args.skip_bench:
        code, output = stage("bench_inpainting", [py, "benchmarks/bench_inpainting.py", "--device", "cuda",
                                                  *INPAINTING_ARGS])  # fmt: skip
        found = inpainting_rows(output)
        rows += found
        if code != 0 or not found:
            rows.append(Row("bench_inpainting", "run", "FAIL", f"exit {code}: {last_error(output)}"))
        figures = out / "bench_audiosr.json"
        code, output = stage("bench_audiosr", [py, "benchmarks/bench_audiosr.py", "--device", "cuda", "--steps",
                                               str(AUDIOSR_STEPS), "--json", str(figures)])  # fmt: skip
        if code == 0 and figures.is_file():
            rows += audiosr_rows(json.loads(figures.read_text()))
        else:
            rows.append(Row("bench_audiosr", "run", "FAIL", f"exit {code}: {last_error(output)}"))
    print()
    print(format_table(rows, elapsed))
    print(f"logs: {out}")
    return 1 if any(r.status == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
