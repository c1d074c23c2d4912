# shellcheck shell=bash
# Sourced by ./tickit and scripts/test: make .venv match uv.lock, needing only Python 3.11+.
# uv installs from the lock file (exact versions, fast); it lives in its own small venv so that
# syncing the project environment never removes it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "tickit: needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
UV_VENV="$ROOT/.venv-uv"
if [ ! -x "$UV_VENV/bin/uv" ]; then
  echo "tickit: installing uv (first run only)…" >&2
  "$PYTHON" -m venv "$UV_VENV"
  "$UV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
fi
STAMP="$ROOT/.venv/.tickit-lock"
WANT="$(cat "$ROOT/uv.lock" "$ROOT/pyproject.toml" | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "tickit: installing the locked environment into .venv (first run: a few minutes)…" >&2
  (cd "$ROOT" && UV_PYTHON="$PYTHON" "$UV_VENV/bin/uv" sync --frozen --quiet)
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
