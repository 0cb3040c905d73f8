#!/usr/bin/env bash
# The Binder set-up, tried for real: a fresh virtual environment from binder/requirements.txt (as
# repo2docker makes it), lstmlab installed as binder/postBuild does, then a lesson under nbval.
# Binder gets the CPU-only torch from PyTorch's own index; this machine may reach only the package
# registries, so the check leaves that one line out and pip finds the same CPU build locally. The
# compiled step loop is built as postBuild builds it, in a folder of its own (a fresh build).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
grep -v -- '--extra-index-url' binder/requirements.txt > "$work/requirements.txt"
"$work/venv/bin/python" -m pip install --quiet -r "$work/requirements.txt" nbval pytest
"$work/venv/bin/python" -m pip install --quiet --no-deps .
TORCH_EXTENSIONS_DIR="$work/extensions" "$work/venv/bin/python" -c "from lstmlab.layers import loop_kernel; print(loop_kernel.prepare())"
"$work/venv/bin/python" -c "import lstmlab, lstmlab.viz, lstmlab.widgets, captum.attr; print('binder: lstmlab', lstmlab.__version__, 'imports, captum too')"
TORCH_EXTENSIONS_DIR="$work/extensions" "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -o addopts="" --nbval --nbval-current-env \
    --nbval-sanitize-with notebooks/sanitize.cfg notebooks/00_index.ipynb notebooks/01_lstm_cell.ipynb
