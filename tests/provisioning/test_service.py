"""install-service writes hardened units that systemd accepts; health-check restarts a hung
server and leaves a starting one alone."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from bench.meter import serving
from provisioning.cli import main
from tests.provisioning.conftest import SECRET, Laptop, snapshot
from tests.provisioning.test_tls import free_port

UNITS = [
    "clinic-edge.service",
    "clinic-edge-scheduler.service",
    "clinic-edge-health.service",
    "clinic-edge-health.timer",
]


@pytest.fixture
def ready(laptop: Laptop, tmp_path: Path) -> tuple[Laptop, Path]:
    """A laptop with its certificate and unlock secret file: what install-service needs."""
    assert laptop.run("tls-cert").exit_code == 0
    credential = tmp_path / "etc" / "unlock-secret"
    credential.parent.mkdir(mode=0o700)
    credential.write_text(SECRET)
    credential.chmod(0o600)
    return laptop, credential


def install(laptop: Laptop, root: Path, credential: Path, *extra: str):  # noqa: ANN201
    return laptop.run(
        "install-service", "--root", str(root), "--credential", str(credential), *extra
    )


def test_install_service_writes_the_units(ready: tuple[Laptop, Path], tmp_path: Path) -> None:
    laptop, credential = ready
    root = tmp_path / "root"
    result = install(laptop, root, credential)
    assert result.exit_code == 0, result.output
    unit_dir = root / "etc/systemd/system"
    for unit in UNITS:
        assert f"wrote: {unit_dir / unit}" in result.output
        assert stat.S_IMODE((unit_dir / unit).stat().st_mode) == 0o644
    edge = (unit_dir / "clinic-edge.service").read_text()
    for line in (
        "Restart=on-failure",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        f"ReadWritePaths={laptop.database.parent}",
        f"LoadCredential=unlock-secret:{credential}",
        f"--tls-cert {laptop.secrets / 'tls' / 'edge.crt'}",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    ):
        assert line in edge, line
    assert SECRET not in edge
    scheduler = (unit_dir / "clinic-edge-scheduler.service").read_text()
    assert "clinic-edge scheduler" in scheduler and "Restart=on-failure" in scheduler
    health = (unit_dir / "clinic-edge-health.service").read_text()
    assert "health-check --url https://127.0.0.1:443/api/health" in health
    assert "--restart clinic-edge.service" in health and "vehicle-ca.crt" in health
    assert "OnUnitActiveSec=1min" in (unit_dir / "clinic-edge-health.timer").read_text()
    journald = (root / "etc/systemd/journald.conf.d/mobile-clinic.conf").read_text()
    assert "SystemMaxUse=" in journald and "MaxRetentionSec=" in journald
    again = install(laptop, root, credential)
    assert again.exit_code == 0 and "wrote:" not in again.output and "unchanged:" in again.output


def test_systemd_accepts_the_units(ready: tuple[Laptop, Path], tmp_path: Path) -> None:
    laptop, credential = ready
    root = tmp_path / "root"
    assert install(laptop, root, credential).exit_code == 0
    units = [str(root / "etc/systemd/system" / unit) for unit in UNITS]
    result = subprocess.run(
        ["systemd-analyze", "verify", *units], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_pin_mode_asks_through_systemd(ready: tuple[Laptop, Path], tmp_path: Path) -> None:
    laptop, credential = ready
    result = laptop.run("install-service", "--root", str(tmp_path / "r"), "--unlock", "pin")
    assert result.exit_code == 0, result.output
    edge = (tmp_path / "r/etc/systemd/system/clinic-edge.service").read_text()
    assert "EDGE_UNLOCK_PROMPT=systemd" in edge and "LoadCredential" not in edge


def test_dry_run_prints_and_writes_nothing(ready: tuple[Laptop, Path], tmp_path: Path) -> None:
    laptop, credential = ready
    root = tmp_path / "root"
    result = install(laptop, root, credential, "--dry-run")
    assert result.exit_code == 0
    assert "[Service]" in result.output and "Dry run: nothing was written." in result.output
    assert not root.exists()


def test_install_service_refuses_units_that_could_not_start(
    ready: tuple[Laptop, Path], tmp_path: Path
) -> None:
    laptop, credential = ready
    root = tmp_path / "root"
    credential.write_text("Not-The-Secret-1")
    before = snapshot(laptop.root)
    wrong = install(laptop, root, credential)
    assert wrong.exit_code == 1 and "wrong unlock secret" in wrong.output
    missing = install(laptop, root, tmp_path / "nowhere")
    assert missing.exit_code == 1 and "keygen --secret-file" in missing.output
    shutil.rmtree(laptop.secrets / "tls")
    no_cert = install(laptop, root, credential)
    assert no_cert.exit_code == 1 and "tls-cert" in no_cert.output
    assert not root.exists()
    assert set(snapshot(laptop.root)) <= set(before)


def fake_systemctl(tmp_path: Path, active_since_us: int) -> tuple[dict[str, str], Path]:
    """systemctl is a process boundary we do not own: a stand-in on PATH that reports the
    unit active since `active_since_us` (systemd's monotonic clock) and records calls."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "systemctl-calls"
    bin_dir.mkdir()
    script = bin_dir / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'if [ "$1" = show ]; then\n'
        f"  echo ActiveState=active; echo ActiveEnterTimestampMonotonic={active_since_us}\n"
        "fi\n"
        'if [ "$1" = is-active ]; then echo active; fi\n'
    )
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, calls


def test_health_check_passes_against_a_live_edge(edge_app: Flask) -> None:
    with serving(edge_app) as url:
        result = CliRunner().invoke(main, ["health-check", "--url", f"{url}/api/health"])
    assert result.exit_code == 0 and "healthy" in result.output


def test_health_check_restarts_a_hung_server(tmp_path: Path) -> None:
    env, calls = fake_systemctl(tmp_path, active_since_us=0)
    url = f"http://127.0.0.1:{free_port()}/api/health"  # nothing answers there
    args = ["health-check", "--url", url, "--restart", "clinic-edge.service", "--timeout", "2"]
    result = CliRunner(env=env).invoke(main, args)
    assert result.exit_code == 1 and "restarted clinic-edge.service" in result.output
    assert "restart clinic-edge.service" in calls.read_text()


def test_health_check_leaves_a_starting_server_alone(tmp_path: Path) -> None:
    env, calls = fake_systemctl(tmp_path, active_since_us=10**18)  # just started
    url = f"http://127.0.0.1:{free_port()}/api/health"
    args = ["health-check", "--url", url, "--restart", "clinic-edge.service", "--timeout", "2"]
    result = CliRunner(env=env).invoke(main, args)
    assert result.exit_code == 1 and "restarted" not in result.output
    assert not any(line.startswith("restart") for line in calls.read_text().splitlines())
