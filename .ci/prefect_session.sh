#!/usr/bin/env bash
# The README's Prefect session on loopback: start a Prefect server (SQLite in a temp PREFECT_HOME), serve the
# fakesound deployments, run build-fakesound/demo with --watch, check the corpus it wrote. Every process this
# script starts is stopped on exit; a non-zero exit means the session failed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_BIN="${VENV_BIN:-$PWD/.venv/bin}"
PY="$VENV_BIN/python"
PREFECT="$VENV_BIN/prefect"
FAKESOUND="$VENV_BIN/fakesound"
[ -x "$FAKESOUND" ] || FAKESOUND="$PY -m flows.cli"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fakesound-prefect.XXXXXX")"
PIDS=()

cleanup() {
    local rc=$? pid i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do  # serve first, then the server
        pid="${PIDS[$i]}"  # started with setsid: its pid is its process group
        kill -INT -- "-$pid" 2>/dev/null || true
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ]; then
        echo "--- prefect server log (tail) ---"; tail -n 40 "$WORK/server.log" 2>/dev/null || true
        echo "--- fakesound serve log (tail) ---"; tail -n 60 "$WORK/serve.log" 2>/dev/null || true
        echo "prefect session: FAILED (rc $rc)"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS DESCRIPTION PYTHON_CONDITION
    local deadline=$((SECONDS + $1))
    until "$PY" -c "$3" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then echo "timed out after $1 s waiting for $2" >&2; return 1; fi
        sleep 1
    done
}

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export PREFECT_HOME="$WORK/prefect_home"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_CLI_PROMPT=false
export PYTHONUNBUFFERED=1
started=$SECONDS

echo "[$((SECONDS - started)) s] starting Prefect server on $PREFECT_API_URL"
setsid "$PREFECT" server start --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
disown "$!"
wait_for 120 "the Prefect server" \
    "import urllib.request; urllib.request.urlopen('$PREFECT_API_URL/health', timeout=2).read()"

echo "[$((SECONDS - started)) s] fakesound serve"
setsid $FAKESOUND serve >"$WORK/serve.log" 2>&1 &
PIDS+=("$!")
disown "$!"
wait_for 90 "the build-fakesound/demo deployment" \
    "import urllib.request; urllib.request.urlopen('$PREFECT_API_URL/deployments/name/build-fakesound/demo', timeout=2)"

echo "[$((SECONDS - started)) s] prefect deployment run build-fakesound/demo --watch"
CORPUS="$WORK/corpus"
timeout 170 "$PREFECT" deployment run build-fakesound/demo \
    --param out="$CORPUS" --param clips=12 --param seed=0 --watch --watch-timeout 160

echo "[$((SECONDS - started)) s] checking the corpus in $CORPUS"
"$PY" - "$CORPUS" <<'EOF'
import sys
from pathlib import Path

from pipeline.fakesound_format import read_fakesound_json
from pipeline.manifest import read_manifest

corpus = Path(sys.argv[1])
records = read_manifest(corpus / "manifest.jsonl")
labels = {r.label for r in records}
assert len(records) == 12, f"expected 12 clips, got {len(records)}"
assert labels == {0, 1}, f"expected fakes and reals, got labels {labels}"
for split in sorted({r.split for r in records}):
    entries = read_fakesound_json(corpus / f"{split}.json")
    assert len(entries) == sum(r.split == split for r in records), f"{split}.json does not match the manifest"
missing = [r.audio_path for r in records if not (corpus / r.audio_path).is_file()]
assert not missing, f"audio missing: {missing}"
print(f"corpus OK: {len(records)} clips, {sum(r.label for r in records)} fake, splits {sorted({r.split for r in records})}")
EOF
echo "[$((SECONDS - started)) s] prefect session: OK"
