"""keygen wraps the key and escrows it; the edge unlocks it from the environment, a file (a
systemd credential) or a prompt; a wrong secret changes nothing."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from edge.cli import main as edge_main
from provisioning.cli import main
from provisioning.escrow import recover_key
from provisioning.key import KeyStore, fingerprint
from tests.provisioning.conftest import ESCROW_PASSPHRASE, SECRET, Laptop, edge_env, mode, snapshot


def test_keygen_wraps_the_existing_key_and_removes_the_plaintext(laptop: Laptop) -> None:
    wrapped = laptop.secrets / "db.key.wrapped"
    assert not (laptop.secrets / "db.key").exists()
    assert mode(wrapped) == 0o600
    assert laptop.key.hex() not in wrapped.read_text()
    assert KeyStore(wrapped).unlock(SECRET) == laptop.key
    assert not wrapped.is_relative_to(laptop.database.parent)


def test_keygen_escrows_the_key_for_head_office(laptop: Laptop) -> None:
    blob = (laptop.secrets / "key-escrow.json").read_text()
    private_pem = laptop.escrow_private.read_bytes()
    assert recover_key(blob, private_pem, ESCROW_PASSPHRASE) == laptop.key
    assert json.loads(blob)["node_id"] == "dtest00000001"


def test_keygen_twice_refuses_and_changes_nothing(laptop: Laptop) -> None:
    before = snapshot(laptop.root)
    result = laptop.run("keygen", "--secret-stdin", "--no-escrow", input="Another-Secret-1\n")
    assert result.exit_code == 1
    assert "already has a wrapped key" in result.output and "Traceback" not in result.output
    assert snapshot(laptop.root) == before


def test_keygen_needs_an_escrow_key_or_an_explicit_no(tmp_path: Path) -> None:
    result = CliRunner(env=edge_env(tmp_path)).invoke(main, ["keygen", "--secret-stdin"])
    assert result.exit_code == 2 and "--escrow-public-key" in result.output
    assert not (tmp_path / "secrets").exists()


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    runner = CliRunner(env=edge_env(tmp_path))
    result = runner.invoke(main, ["keygen", "--secret-stdin", "--no-escrow"], input="1234\n")
    assert result.exit_code == 1 and "at least 8" in result.output
    assert not (tmp_path / "secrets" / "db.key.wrapped").exists()


def test_fresh_laptop_keygen_then_init(tmp_path: Path, head_office: tuple[Path, Path]) -> None:
    env = edge_env(tmp_path)
    secret_file = tmp_path / "etc" / "unlock-secret"
    runner = CliRunner(env=env)
    args = ["keygen", "--secret-file", str(secret_file), "--escrow-public-key", str(head_office[1])]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert mode(secret_file) == 0o600 and len(secret_file.read_text()) >= 40
    assert mode(secret_file.parent) == 0o700
    init = CliRunner(env={**env, "EDGE_UNLOCK_SECRET_FILE": str(secret_file)}).invoke(
        edge_main, ["init"]
    )
    assert init.exit_code == 0, init.output
    assert "Created a new database key" not in init.output
    assert not (tmp_path / "secrets" / "db.key").exists()  # no plaintext key was made
    status = CliRunner(env={**env, "EDGE_UNLOCK_SECRET_FILE": str(secret_file)}).invoke(
        main, ["status", "--json"]
    )
    checks = {c["name"]: c for c in json.loads(status.output)["checks"]}
    assert checks["database"]["state"] == "ok"
    assert checks["key"]["state"] == "ok" and "escrowed" in checks["key"]["summary"]


def test_the_edge_opens_the_database_with_the_secret_from_the_environment(laptop: Laptop) -> None:
    result = CliRunner(env=laptop.env).invoke(edge_main, ["migrate"])
    assert result.exit_code == 0, result.output


def test_a_wrong_secret_is_one_clear_line_and_changes_nothing(laptop: Laptop) -> None:
    before = snapshot(laptop.root)
    env = {**laptop.env, "EDGE_UNLOCK_SECRET": "Wrong-Secret-42"}
    for runner_main, args in ((edge_main, ["migrate"]), (None, ["rotate-key"])):
        if runner_main is None:
            result = laptop.run(*args, EDGE_UNLOCK_SECRET="Wrong-Secret-42")
        else:
            result = CliRunner(env=env).invoke(runner_main, args)
        assert result.exit_code == 1
        assert "wrong unlock secret" in result.output
        assert "Traceback" not in result.output and SECRET not in result.output
    assert snapshot(laptop.root) == before


def test_the_secret_from_a_systemd_credential(laptop: Laptop, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "unlock-secret").write_text(SECRET)
    (credentials / "unlock-secret").chmod(0o400)
    env = {**laptop.env, "EDGE_UNLOCK_SECRET": None, "CREDENTIALS_DIRECTORY": str(credentials)}
    result = CliRunner(env=env).invoke(edge_main, ["migrate"])
    assert result.exit_code == 0, result.output


def test_a_secret_file_others_can_read_is_refused(laptop: Laptop, tmp_path: Path) -> None:
    secret_file = tmp_path / "unlock-secret"
    secret_file.write_text(SECRET)
    secret_file.chmod(0o644)
    env = {**laptop.env, "EDGE_UNLOCK_SECRET": None, "EDGE_UNLOCK_SECRET_FILE": str(secret_file)}
    result = CliRunner(env=env).invoke(edge_main, ["migrate"])
    assert result.exit_code == 1 and "chmod 600" in result.output


def test_no_secret_and_nobody_to_ask_is_a_clear_error(laptop: Laptop) -> None:
    result = CliRunner(env={**laptop.env, "EDGE_UNLOCK_SECRET": None}).invoke(
        edge_main, ["migrate"]
    )
    assert result.exit_code == 1
    assert "EDGE_UNLOCK_SECRET" in result.output


def test_the_pin_typed_at_a_terminal(laptop: Laptop) -> None:
    """A real terminal (a pty) attached to `clinic-edge migrate`, the PIN typed into it."""
    env = {k: v for k, v in {**os.environ, **laptop.env}.items() if v is not None}
    env.pop("EDGE_UNLOCK_SECRET")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "clinic-edge"), "migrate"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=env,
        start_new_session=True,
    )
    os.close(secondary)
    output = _read_until(primary, b"PIN")
    os.write(primary, (SECRET + "\n").encode())
    output += _read_until(primary, b"Database at")
    assert process.wait(timeout=60) == 0, output
    os.close(primary)
    assert SECRET.encode() not in output  # typed without echo


def test_the_pin_through_systemds_password_agent(laptop: Laptop, tmp_path: Path) -> None:
    """systemd-ask-password is a process we do not own: a stand-in on PATH answers the prompt
    the way the real one does (the secret on stdout) and records how it was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    fake = bin_dir / "systemd-ask-password"
    fake.write_text(f'#!/bin/sh\necho "$@" > {asked}\necho "{SECRET}"\n')
    fake.chmod(stat.S_IRWXU)
    env = {
        **laptop.env,
        "EDGE_UNLOCK_SECRET": None,
        "EDGE_UNLOCK_PROMPT": "systemd",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    result = CliRunner(env=env).invoke(edge_main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "--accept-cached" in asked.read_text() and "--keyname=" in asked.read_text()


def test_recover_key_for_a_replacement_laptop(laptop: Laptop, tmp_path: Path) -> None:
    out = tmp_path / "recovered.wrapped"
    args = [
        "recover-key",
        "--blob",
        str(laptop.secrets / "key-escrow.json"),
        "--private-key",
        str(laptop.escrow_private),
        "--out",
        str(out),
        "--stdin",
    ]
    result = laptop.run(*args, input=f"{ESCROW_PASSPHRASE}\nReplacement-PIN-77\n")
    assert result.exit_code == 0, result.output
    assert fingerprint(laptop.key) in result.output
    assert KeyStore(out).unlock("Replacement-PIN-77") == laptop.key
    assert mode(out) == 0o600
    again = laptop.run(*args, input=f"{ESCROW_PASSPHRASE}\nReplacement-PIN-77\n")
    assert again.exit_code == 1 and "already exists" in again.output


def _read_until(fd: int, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        seen += chunk
    return seen
