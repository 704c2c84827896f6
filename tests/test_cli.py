"""Every console script explains itself, and the set-up commands work and can be re-run."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from edge.cli import main as edge_main
from hub.cli import main as hub_main
from palmed.cli import main as palmed_main
from provisioning.cli import main as provision_main

GROUPS = {
    "clinic-edge": edge_main,
    "clinic-hub": hub_main,
    "clinic-provision": provision_main,
    "palmed-sandbox": palmed_main,
}


def walk(command: click.Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += walk(sub, (*path, name))
    return found


ALL_COMMANDS = [
    (path, command) for name, group in GROUPS.items() for path, command in walk(group, (name,))
]


@pytest.mark.parametrize(
    ("path", "command"), ALL_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help and len(command.help) > 10, f"{' '.join(path)} lacks help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{' '.join(path)} {param.opts} lacks help"
    root = GROUPS[path[0]]
    result = CliRunner().invoke(root, [*path[1:], "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "EDGE_DATA_DIR": str(tmp_path / "edge"),
        "EDGE_SECRETS_DIR": str(tmp_path / "secrets" / "edge"),
        "HUB_DATA_DIR": str(tmp_path / "hub"),
        "HUB_SECRETS_DIR": str(tmp_path / "secrets" / "hub"),
    }


def test_edge_init_creates_an_encrypted_node_and_can_be_rerun(
    env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner(env=env)
    first = runner.invoke(edge_main, ["init"])
    assert first.exit_code == 0, first.output
    assert "Created a new database key" in first.output
    key_file = tmp_path / "secrets" / "edge" / "db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    database = tmp_path / "edge" / "edge.db"
    assert not database.read_bytes().startswith(b"SQLite format 3")
    assert not key_file.is_relative_to(database.parent)
    second = runner.invoke(edge_main, ["init"])
    assert second.exit_code == 0
    assert "Created a new database key" not in second.output
    assert first.output.splitlines()[-1] == second.output.splitlines()[-1]  # same node id


def test_edge_init_refuses_to_replace_a_lost_key(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner(env=env)
    assert runner.invoke(edge_main, ["init"]).exit_code == 0
    (tmp_path / "secrets" / "edge" / "db.key").unlink()
    result = runner.invoke(edge_main, ["init"])
    assert result.exit_code == 1
    assert "key file" in result.output and "missing" in result.output


def test_edge_create_admin(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    assert runner.invoke(edge_main, ["init"]).exit_code == 0
    args = ["create-admin", "--username", "sister", "--full-name", "Sister N", "--password-stdin"]
    result = runner.invoke(edge_main, args, input="Correct-Horse-9\n")
    assert result.exit_code == 0, result.output
    again = runner.invoke(edge_main, args, input="Correct-Horse-9\n")
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(edge_main, [*args[:2], "other", *args[3:]], input="short\n")
    assert weak.exit_code == 1 and "at least 10" in weak.output


def test_edge_commands_report_a_wrong_key_clearly(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    assert runner.invoke(edge_main, ["init"]).exit_code == 0
    result = CliRunner(env={**env, "EDGE_DB_KEY": "ab" * 32}).invoke(edge_main, ["migrate"])
    assert result.exit_code == 1
    assert "cannot be opened with this key" in result.output
    assert "Traceback" not in result.output


def test_hub_migrate_and_create_admin(env: dict[str, str]) -> None:
    runner = CliRunner(env=env)
    result = runner.invoke(hub_main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "(was empty)" in result.output
    assert "(was 0" in runner.invoke(hub_main, ["migrate"]).output
    args = ["create-admin", "--username", "head", "--full-name", "Head Office", "--password-stdin"]
    assert runner.invoke(hub_main, args, input="Correct-Horse-9\n").exit_code == 0


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most machines have (0022): group and others may read what is created.
    The commands set their own (0077) for the process; the test puts the old one back."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_hub_keeps_its_default_database_and_secrets_owner_only(
    env: dict[str, str], tmp_path: Path, loose_umask: None
) -> None:
    result = CliRunner(env=env).invoke(hub_main, ["migrate"])
    assert result.exit_code == 0, result.output
    data, secrets = tmp_path / "hub", tmp_path / "secrets" / "hub"
    assert mode(data) == 0o700 and mode(secrets) == 0o700
    files = [data / "hub.db", *sorted(secrets.iterdir())]
    assert {f.name for f in files} >= {"hub.db", "secret.key", "sync-receipt.key"}
    for file in files:
        assert mode(file) == 0o600, file


def test_the_edge_keeps_its_database_and_secrets_owner_only(
    env: dict[str, str], tmp_path: Path, loose_umask: None
) -> None:
    result = CliRunner(env=env).invoke(edge_main, ["init"])
    assert result.exit_code == 0, result.output
    data, secrets = tmp_path / "edge", tmp_path / "secrets" / "edge"
    assert mode(data) == 0o700 and mode(secrets) == 0o700
    for file in [*data.iterdir(), *secrets.iterdir()]:
        assert mode(file) == 0o600, file
