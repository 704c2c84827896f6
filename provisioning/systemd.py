"""systemd units for a vehicle laptop: the edge server, its scheduler, a health-check timer
that restarts a hung server, and journald limits that rotate the logs.

Units are rendered from plain settings, so `--dry-run` shows exactly what would be written
and tests write them under a temporary root.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - fixed system commands only, never a shell
from dataclasses import dataclass
from pathlib import Path

from common.files import PUBLIC_MODE, write_atomic

EDGE_UNIT = "clinic-edge.service"
SCHEDULER_UNIT = "clinic-edge-scheduler.service"
HEALTH_UNIT = "clinic-edge-health.service"
HEALTH_TIMER = "clinic-edge-health.timer"
UNIT_DIR = Path("etc/systemd/system")
JOURNALD_FILE = Path("etc/systemd/journald.conf.d/mobile-clinic.conf")
ENV_FILE = Path("/etc/mobile-clinic/edge.env")
CREDENTIAL = "unlock-secret"
UNLOCK_MODES = ("credential", "encrypted-credential", "pin")

HARDENING = """\
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
"""

JOURNALD = """\
# Mobile Clinic: keep the laptop's logs bounded (journald rotates and deletes old files).
[Journal]
Storage=persistent
Compress=yes
SystemMaxUse=500M
SystemKeepFree=1G
MaxFileSec=1week
MaxRetentionSec=3month
"""


@dataclass(frozen=True)
class ServiceSettings:
    edge_command: Path
    provision_command: Path
    data_dir: Path
    secrets_dir: Path
    user: str = "clinic"
    host: str = "0.0.0.0"  # noqa: S104  # nosec B104 - the crew's tablets reach the edge over the vehicle LAN
    port: int = 443
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ca_cert: Path | None = None
    unlock: str = "credential"
    credential: Path = Path("/etc/mobile-clinic/unlock-secret")
    health_grace_seconds: int = 300


def render(settings: ServiceSettings) -> dict[Path, str]:
    """Every file to write, by path relative to the filesystem root."""
    return {
        UNIT_DIR / EDGE_UNIT: _edge_unit(settings),
        UNIT_DIR / SCHEDULER_UNIT: _scheduler_unit(settings),
        UNIT_DIR / HEALTH_UNIT: _health_unit(settings),
        UNIT_DIR / HEALTH_TIMER: _health_timer(),
        JOURNALD_FILE: JOURNALD,
    }


def write(files: dict[Path, str], root: Path) -> list[tuple[Path, bool]]:
    """Write the files under `root`; (path, changed) for each, unchanged files untouched."""
    written = []
    for relative, text in files.items():
        path = root / relative
        changed = not path.exists() or path.read_text() != text
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            write_atomic(path, text.encode(), PUBLIC_MODE)
        written.append((path, changed))
    return written


def service_state(unit: str) -> str:
    """`systemctl is-active` for `unit`: active, inactive, failed, ... or unknown."""
    result = systemctl("is-active", unit)
    state = result.stdout.strip() if result else ""
    return state if state and "\n" not in state else "unknown"


def systemctl(*args: str) -> subprocess.CompletedProcess[str] | None:
    """Run systemctl; None when this machine has no usable systemctl."""
    command = shutil.which("systemctl")
    if command is None:
        return None
    try:
        return subprocess.run(  # noqa: S603  # nosec B603 - a fixed system command
            [command, *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _edge_unit(settings: ServiceSettings) -> str:
    serve = f"{settings.edge_command} serve --host {settings.host} --port {settings.port}"
    if settings.tls_cert and settings.tls_key:
        serve += f" --tls-cert {settings.tls_cert} --tls-key {settings.tls_key}"
    low_port = settings.port < 1024
    capabilities = (
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"
        if low_port
        else "CapabilityBoundingSet=\n"
    )
    return _service(
        settings,
        "Mobile Clinic edge server (the crew app on the vehicle LAN)",
        serve,
        capabilities,
        install="WantedBy=multi-user.target",
    )


def _scheduler_unit(settings: ServiceSettings) -> str:
    return _service(
        settings,
        "Mobile Clinic edge scheduler (sync with the hub when a link is up)",
        f"{settings.edge_command} scheduler",
        "CapabilityBoundingSet=\n",
        install="WantedBy=multi-user.target",
    )


def _service(
    settings: ServiceSettings, description: str, command: str, capabilities: str, install: str
) -> str:
    return (
        f"[Unit]\nDescription={description}\n"
        "Documentation=man:systemd.service(5)\n"
        "After=network-online.target\nWants=network-online.target\n"
        "StartLimitIntervalSec=300\nStartLimitBurst=10\n\n"
        "[Service]\nType=simple\n"
        f"User={settings.user}\nGroup={settings.user}\n"
        f"EnvironmentFile=-{ENV_FILE}\n"
        f"Environment=EDGE_DATA_DIR={settings.data_dir}\n"
        f"Environment=EDGE_SECRETS_DIR={settings.secrets_dir}\n"
        f"{_unlock_lines(settings)}"
        f"ExecStart={command}\n"
        "Restart=on-failure\nRestartSec=5\nTimeoutStopSec=30\n"
        "LogRateLimitIntervalSec=30s\nLogRateLimitBurst=1000\n"
        f"{HARDENING}"
        f"ReadWritePaths={settings.data_dir}\n"
        f"{capabilities}\n"
        f"[Install]\n{install}\n"
    )


def _unlock_lines(settings: ServiceSettings) -> str:
    if settings.unlock == "pin":
        return (
            "Environment=EDGE_UNLOCK_PROMPT=systemd\n"
            "ReadWritePaths=/run/systemd/ask-password\n"
            "KeyringMode=shared\n"
        )
    directive = (
        "LoadCredentialEncrypted"
        if settings.unlock == "encrypted-credential"
        else ("LoadCredential")
    )
    return f"{directive}={CREDENTIAL}:{settings.credential}\n"


def _health_unit(settings: ServiceSettings) -> str:
    scheme = "https" if settings.tls_cert else "http"
    command = (
        f"{settings.provision_command} health-check "
        f"--url {scheme}://127.0.0.1:{settings.port}/api/health "
        f"--restart {EDGE_UNIT} --grace {settings.health_grace_seconds}"
    )
    if settings.ca_cert and settings.tls_cert:
        command += f" --ca-file {settings.ca_cert}"
    return (
        "[Unit]\nDescription=Mobile Clinic edge health check (restarts a hung server)\n"
        f"After={EDGE_UNIT}\n\n"
        "[Service]\nType=oneshot\n"
        f"ExecStart={command}\n"
        "TimeoutStartSec=60\n"
        f"{HARDENING}"
    )


def _health_timer() -> str:
    return (
        "[Unit]\nDescription=Check the Mobile Clinic edge server every minute\n\n"
        "[Timer]\nOnBootSec=2min\nOnUnitActiveSec=1min\nAccuracySec=10s\n"
        f"Unit={HEALTH_UNIT}\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
