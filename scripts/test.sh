#!/usr/bin/env bash
# Run the whole test suite (lint included). Extra arguments go to pytest.
# Needs MySQL/MariaDB (HUB_TEST_DATABASE_URL) and Debian's chromium; .ci/run provides both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
export HUB_TEST_DATABASE_URL="${HUB_TEST_DATABASE_URL:-mysql+pymysql://root@127.0.0.1:3306/test}"
echo "== ruff"
ruff check .
ruff format --check .
echo "== bandit"
# Bandit logs every "# nosec BXXX - reason" it honours on stderr; keep only real messages.
bandit -c pyproject.toml -r . -q 2> >(grep -v -e "Test in comment" -e "nosec encountered" >&2)
echo "== pip-audit"
python scripts/audit_dependencies.py
echo "== mypy (sync/, schema/)"
mypy sync schema
echo "== pytest"
exec pytest -n "${TEST_WORKERS:-auto}" "$@"
