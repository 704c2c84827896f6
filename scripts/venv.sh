#!/usr/bin/env bash
# Create .venv and install the pinned requirements and the project, only when they changed.
# Sourced by demo.sh and test.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the virtualenv in $venv ..."
  "$python" -m venv "$venv"
fi
stamp="$venv/.installed"
wanted="$(cat "$root/requirements.txt" "$root/requirements-dev.txt" "$root/setup.cfg" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "Installing pinned requirements ..."
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -e "$root"
  echo "$wanted" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
