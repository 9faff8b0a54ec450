#!/usr/bin/env bash
# Build the isolated oracle environment that runs the upstream AudioLDM / AudioSR packages.
#
# The upstream packages pin an old numpy/transformers stack that cannot live in the project venv, so they get
# their own venv outside the repository.  Only make_golden.py uses it; CI compares against committed fixtures.
# Usage: bash tests/oracle/build_env.sh [VENV_DIR]   (default /work/oracle-venv, or $ORACLE_VENV)
set -euo pipefail
VENV="${1:-${ORACLE_VENV:-/work/oracle-venv}}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade "pip<25" "setuptools<70" wheel
$PIP install torch==2.11.0 torchaudio==2.11.0 numpy==1.23.5 librosa==0.9.2 transformers==4.30.2 \
  torchlibrosa==0.0.9 phonemizer einops timm pandas scipy soundfile pyyaml ftfy chardet unidecode progressbar \
  "huggingface-hub<0.20" "matplotlib<3.9" "numpy==1.23.5"
$PIP install --no-deps audiosr==0.0.7 audioldm==0.1.1
# AudioLDM2 (its unconditional-condition check) is optional: covered only where it installs from the registry alone.
if ! $PIP install --no-deps audioldm2==0.1.0; then
  echo "audioldm2==0.1.0 did not install; the AudioLDM2 golden fixtures are skipped" >&2
fi
"$VENV/bin/python" -c "import numpy, torch, librosa, transformers; print('oracle env:', numpy.__version__, torch.__version__, librosa.__version__, transformers.__version__)"
