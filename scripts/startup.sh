#!/usr/bin/env bash
# Start an installed edge (vehicle laptop) or hub (head office server).
#   scripts/startup.sh edge    # the crew app, its scheduler and health timer
#   scripts/startup.sh hub     # the hub
# Where install-service wrote systemd units, starts them and waits until healthy; otherwise
# (a laptop without systemd, a trial run) migrates and serves in the foreground.
# Settings: /etc/mobile-clinic/<edge|hub>.env if present, then the environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
role="${1:-}"
case "$role" in
  edge) units="clinic-edge.service clinic-edge-scheduler.service clinic-edge-health.timer" ;;
  hub) units="${HUB_UNITS:-clinic-hub.service}" ;;
  *) echo "usage: $0 edge|hub" >&2; exit 2 ;;
esac
env_file="${CLINIC_ENV_FILE:-/etc/mobile-clinic/$role.env}"
if [ -r "$env_file" ]; then
  set -a; . "$env_file"; set +a
fi
python="${PYTHON:-python3}"

first_unit="${units%% *}"
if [ "${STARTUP_FOREGROUND:-0}" != 1 ] && systemctl cat "$first_unit" >/dev/null 2>&1; then
  echo "Starting $units ..."
  systemctl start $units
  if [ "$role" = edge ]; then
    url="${EDGE_URL:-https://127.0.0.1:${EDGE_PORT:-443}}"
    ca="${EDGE_SECRETS_DIR:-/var/lib/mobile-clinic/secrets}/tls/vehicle-ca.crt"
    exec "$python" "$here/validate_backend.py" "$url" --ca-file "$ca" --wait 120
  fi
  exec "$python" "$here/validate_backend.py" "${HUB_URL:-http://127.0.0.1:${HUB_PORT:-5100}}" --wait 120
fi

echo "No systemd units for the $role: migrating and serving in the foreground (Ctrl+C stops)."
if [ "$role" = edge ]; then
  clinic-edge migrate
  exec clinic-edge serve --host "${EDGE_HOST:-0.0.0.0}" --port "${EDGE_PORT:-443}"
fi
clinic-hub migrate
exec clinic-hub serve --host "${HUB_HOST:-0.0.0.0}" --port "${HUB_PORT:-5100}"
