"""A provisioned laptop in a temporary folder: a migrated SQLCipher database whose key is
wrapped under an unlock secret by the real `clinic-provision keygen`, and escrowed to a
head-office key pair."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from common.database import sqlcipher_connect
from provisioning.cli import main as provision_main
from provisioning.escrow import generate_keypair
from provisioning.key import KdfParams
from tests.conftest import TEST_AUDIT_KEY

SECRET = "Field-Unlock-9371"
ESCROW_PASSPHRASE = "head-office-escrow-passphrase"
FAST_KDF = KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1)


@dataclass
class Laptop:
    root: Path
    env: dict[str, str | None]
    key: bytes
    database: Path
    secrets: Path
    escrow_private: Path

    def run(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        runner = CliRunner(env={**self.env, **env})
        return runner.invoke(provision_main, list(args), input=input)

    def connect(self, key: bytes | None = None):  # noqa: ANN201 - a sqlcipher3 connection
        return sqlcipher_connect(self.database, key or self.key)


def edge_env(root: Path) -> dict[str, str | None]:
    """The edge's settings for a laptop under `root`, with no key or secret leaking in."""
    return {
        "EDGE_DATA_DIR": str(root / "edge"),
        "EDGE_SECRETS_DIR": str(root / "secrets"),
        "EDGE_DB_KEY": None,
        "EDGE_UNLOCK_SECRET": None,
        "EDGE_UNLOCK_SECRET_FILE": None,
        "CREDENTIALS_DIRECTORY": None,
    }


@pytest.fixture
def head_office(tmp_path: Path) -> tuple[Path, Path]:
    """Head office's escrow key pair: (private PEM, public PEM) files."""
    private_pem, public_pem = generate_keypair(ESCROW_PASSPHRASE)
    folder = tmp_path / "head-office"
    folder.mkdir()
    (folder / "escrow-private.pem").write_bytes(private_pem)
    (folder / "escrow-public.pem").write_bytes(public_pem)
    return folder / "escrow-private.pem", folder / "escrow-public.pem"


@pytest.fixture
def laptop(
    tmp_path: Path, edge_db: Path, edge_key: bytes, head_office: tuple[Path, Path]
) -> Iterator[Laptop]:
    """A laptop set up by `clinic-edge init` (plaintext key, audit key) and then `keygen`
    (wraps the database key)."""
    root = tmp_path / "laptop"
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(parents=True, mode=0o700)
    (root / "edge").mkdir()
    database = root / "edge" / "edge.db"
    os.replace(edge_db, database)
    raw = secrets_dir / "db.key"
    raw.write_text(edge_key.hex() + "\n")
    raw.chmod(0o600)
    audit_key = secrets_dir / "audit.key"  # init makes it too: the tests' own key
    audit_key.write_text(TEST_AUDIT_KEY.text() + "\n")
    audit_key.chmod(0o600)
    machine = Laptop(root, edge_env(root), edge_key, database, secrets_dir, head_office[0])
    result = machine.run(
        "keygen", "--secret-stdin", "--escrow-public-key", str(head_office[1]), input=SECRET + "\n"
    )
    assert result.exit_code == 0, result.output
    machine.env["EDGE_UNLOCK_SECRET"] = SECRET
    yield machine


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, to prove a failed command changed nothing."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def damage_table(database: Path, key: bytes, table: str) -> None:
    """Flip a byte in the middle of the root page of `table`: the file still opens (its
    first pages and schema are whole) and its integrity checks find the damage."""
    conn = sqlcipher_connect(database, key)
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    size = conn.execute("PRAGMA cipher_page_size").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(database.read_bytes())
    data[(page - 1) * int(size) + int(size) // 2] ^= 0xFF
    database.write_bytes(bytes(data))
