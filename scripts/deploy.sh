#!/usr/bin/env bash
# Deploy a new hub release on a head-office server, after installing it into the venv:
#   1. migrate the database (one Alembic history; safe to re-run),
#   2. restart every hub worker (HUB_UNITS, default clinic-hub.service; several workers
#      behind the load balancer are restarted one at a time, each checked before the next),
#   3. verify each worker's health (HUB_HEALTH_URLS, in the same order as HUB_UNITS),
#   4. restart the background jobs (HUB_SCHEDULER_UNITS, `clinic-hub scheduler` units;
#      none by default), so they do not go on running the old release.
# Exits non-zero at the first failure, leaving the remaining workers on the old release.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_file="${CLINIC_ENV_FILE:-/etc/mobile-clinic/hub.env}"
if [ -r "$env_file" ]; then
  set -a; . "$env_file"; set +a
fi
python="${PYTHON:-python3}"
read -r -a units <<< "${HUB_UNITS:-clinic-hub.service}"
read -r -a urls <<< "${HUB_HEALTH_URLS:-http://127.0.0.1:5100}"
read -r -a schedulers <<< "${HUB_SCHEDULER_UNITS:-}"
if [ "${#units[@]}" -ne "${#urls[@]}" ]; then
  echo "HUB_UNITS and HUB_HEALTH_URLS must list the same number of workers" >&2
  exit 2
fi

echo "== migrate"
clinic-hub migrate
for i in "${!units[@]}"; do
  echo "== restart ${units[$i]}"
  systemctl restart "${units[$i]}"
  echo "== health ${urls[$i]}"
  "$python" "$here/validate_backend.py" "${urls[$i]}" --wait "${DEPLOY_HEALTH_WAIT:-60}"
done
for unit in "${schedulers[@]}"; do
  echo "== restart $unit"
  systemctl restart "$unit"
done
echo "Deployed: ${#units[@]} worker(s) restarted and healthy, ${#schedulers[@]} scheduler(s) restarted."
