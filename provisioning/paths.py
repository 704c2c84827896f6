"""Where a vehicle laptop keeps its database, keys and certificates, from the edge's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.auditseal import key_file
from provisioning.key import KeyStore


@dataclass(frozen=True)
class EdgePaths:
    database: Path
    data_dir: Path
    secrets_dir: Path
    wrapped_key: Path
    raw_key: Path
    audit_key: Path  # the key sealing the audit trail (`common.auditseal`)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EdgePaths:
        return cls(
            database=Path(config["DATABASE_PATH"]),
            data_dir=Path(config["DATA_DIR"]),
            secrets_dir=Path(config["SECRETS_DIR"]),
            wrapped_key=Path(config["WRAPPED_KEY_FILE"]),
            raw_key=Path(config["DB_KEY_FILE"]),
            audit_key=key_file(config),
        )

    @property
    def keystore(self) -> KeyStore:
        return KeyStore(self.wrapped_key)

    @property
    def escrow_blob(self) -> Path:
        """The recovery copy of the key for head office, uploaded to the hub at enrollment."""
        return self.secrets_dir / "key-escrow.json"

    @property
    def escrow_public_key(self) -> Path:
        """Head office's escrow public key, kept so a rotated key is escrowed too."""
        return self.secrets_dir / "escrow-public.pem"

    @property
    def tls_dir(self) -> Path:
        return self.secrets_dir / "tls"
