#!/usr/bin/env bash
# Start a local hub and one edge node with demo data, print the URLs and a login.
# Ctrl+C stops everything. Data lives in var/demo (delete it to start afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
exec python scripts/demo.py "$@"
