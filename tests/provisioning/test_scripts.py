"""The operator scripts, run as real processes: create_admin_user, validate_backend,
startup.sh and deploy.sh."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine

from bench.meter import serving
from common.database import new_session, sqlcipher_engine
from common.users import find_by_username
from common.users.service import is_emergency
from schema.models import UserVehicle
from tests.conftest import TEST_SECRET
from tests.provisioning.test_service import fake_systemctl
from tests.provisioning.test_tls import free_port, wait_for_port

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
PASSWORD = "Correct-Horse-9"


def run(
    *args: str, env: dict[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, input=input, text=True, capture_output=True, timeout=120, check=False
    )


def base_env(**extra: str) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "PYTHON": sys.executable, **extra}


def test_create_admin_user_on_the_edge(edge_db: Path, edge_key: bytes) -> None:
    env = base_env(EDGE_DATABASE_PATH=str(edge_db), EDGE_DB_KEY=edge_key.hex())
    args = [sys.executable, str(SCRIPTS / "create_admin_user.py"), "--node", "edge"]
    args += ["--username", "nurse1", "--full-name", "Nurse One", "--role", "nurse"]
    result = run(*args, "--password-stdin", env=env, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "Created nurse nurse1 on the edge: an emergency account" in result.stdout
    engine = sqlcipher_engine(edge_db, edge_key)
    with new_session(engine) as session:
        user = find_by_username(session, "nurse1")
        assert user is not None and user.role == "nurse" and user.password_hash != PASSWORD
        assert is_emergency(user) and not session.query(UserVehicle).count()
    engine.dispose()
    again = run(*args, "--password-stdin", env=env, input=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_create_admin_user_asks_for_what_is_missing(edge_db: Path, edge_key: bytes) -> None:
    env = base_env(EDGE_DATABASE_PATH=str(edge_db), EDGE_DB_KEY=edge_key.hex())
    script = [sys.executable, str(SCRIPTS / "create_admin_user.py"), "--password-stdin"]
    result = run(*script, env=env, input=f"edge\nclerk1\nClerk One\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "Node" in result.stdout and "Username" in result.stdout
    assert "Created administrator clerk1 on the edge" in result.stdout


def test_validate_backend_against_a_live_edge(edge_app: Flask) -> None:
    script = [sys.executable, str(SCRIPTS / "validate_backend.py")]
    with serving(edge_app) as url:
        healthy = run(*script, url, env=base_env())
        detailed = run(*script, url, "--detailed", env=base_env(CLINIC_API_TOKEN="not-a-token"))
    assert healthy.returncode == 0 and "health       ok" in healthy.stdout
    assert detailed.returncode == 1 and "FAIL" in detailed.stdout
    assert "not-a-token" not in detailed.stdout
    down = run(*script, f"http://127.0.0.1:{free_port()}", "--timeout", "2", env=base_env())
    assert down.returncode == 1 and "no answer" in down.stdout


def test_startup_sh_serves_an_edge_without_systemd(edge_db: Path, edge_key: bytes) -> None:
    port = free_port()
    env = base_env(
        EDGE_DATABASE_PATH=str(edge_db),
        EDGE_DATA_DIR=str(edge_db.parent),
        EDGE_SECRETS_DIR=str(edge_db.parent / "secrets"),  # its migrate makes the audit key
        EDGE_DB_KEY=edge_key.hex(),
        EDGE_SECRET_KEY=TEST_SECRET,
        EDGE_HOST="127.0.0.1",
        EDGE_PORT=str(port),
        STARTUP_FOREGROUND="1",
        CLINIC_ENV_FILE="/nonexistent",
    )
    process = subprocess.Popen(
        [str(SCRIPTS / "startup.sh"), "edge"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port, process)  # type: ignore[arg-type]
        check = run(
            sys.executable,
            str(SCRIPTS / "validate_backend.py"),
            f"http://127.0.0.1:{port}",
            env=env,
        )
        assert check.returncode == 0, check.stdout
    finally:
        process.terminate()
        process.communicate(timeout=30)
    usage = run(str(SCRIPTS / "startup.sh"), env=env)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_deploy_sh_migrates_restarts_and_verifies(
    hub_app: Flask, hub_engine: Engine, hub_database_url: str, tmp_path: Path
) -> None:
    """systemctl is a process boundary we do not own: a stand-in records the restarts."""
    _, calls = fake_systemctl(tmp_path, active_since_us=0)
    with serving(hub_app) as url:
        env = base_env(
            HUB_DATABASE_URL=hub_database_url,
            HUB_SECRETS_DIR=str(tmp_path / "secrets"),
            HUB_UNITS="clinic-hub@1.service clinic-hub@2.service",
            HUB_HEALTH_URLS=f"{url} {url}",
            HUB_SCHEDULER_UNITS="clinic-hub-scheduler.service",
            CLINIC_ENV_FILE="/nonexistent",
            PATH=f"{tmp_path / 'bin'}:{base_env()['PATH']}",
        )
        result = run(str(SCRIPTS / "deploy.sh"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "Hub database at" in result.stdout and "2 worker(s) restarted and healthy" in result.stdout
    )
    assert "1 scheduler(s) restarted" in result.stdout
    assert calls.read_text().split("\n")[:3] == [
        "restart clinic-hub@1.service",
        "restart clinic-hub@2.service",
        "restart clinic-hub-scheduler.service",  # after the workers, on the new release
    ]
    mismatched = run(str(SCRIPTS / "deploy.sh"), env={**env, "HUB_HEALTH_URLS": url})
    assert mismatched.returncode == 2
