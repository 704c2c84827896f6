"""The database key, wrapped: a random 256-bit SQLCipher key encrypted with AES-256-GCM under
a key-encryption key derived by argon2id from the unlock secret (a PIN or a long random
secret). The plaintext key is never written to disk.

A wrapped key file is JSON: format and version, the argon2id parameters and salt, the
AES-GCM nonce, the ciphertext, and the key's fingerprint. Everything but the ciphertext is
authenticated as associated data, so a tampered header fails like a wrong secret.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from common.database import KEY_BYTES, DatabaseKeyError, sqlcipher_connect
from common.files import write_atomic
from provisioning.encoding import b64, canonical, require_text, unb64
from provisioning.errors import KeyFileError, WrongSecret

FORMAT = "mobile-clinic-wrapped-key"
VERSION = 1
MIN_SECRET_LENGTH = 8
_FINGERPRINT_LABEL = b"mobile-clinic database key fingerprint v1"


@dataclass(frozen=True)
class KdfParams:
    """argon2id cost: about half a second and 64 MiB per guess on a field laptop."""

    time_cost: int = 3
    memory_cost_kib: int = 64 * 1024
    parallelism: int = 4

    def derive(self, secret: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            secret.encode(),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_cost_kib,
            parallelism=self.parallelism,
            hash_len=KEY_BYTES,
            type=Type.ID,
            version=ARGON2_VERSION,
        )

    def check_sane(self) -> None:
        """Refuse parameters no file of ours would carry (a crafted file could ask for 1 TiB)."""
        if not (
            1 <= self.time_cost <= 20
            and 8 * 1024 <= self.memory_cost_kib <= 1024 * 1024
            and 1 <= self.parallelism <= 16
        ):
            raise KeyFileError("the wrapped key file asks for key-derivation costs out of range")


DEFAULT_KDF = KdfParams()


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def fingerprint(key: bytes) -> str:
    """A short public name for a key (HMAC of a fixed label): shown, and matched with backups."""
    digest = hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def check_new_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise KeyFileError(f"the unlock secret must be at least {MIN_SECRET_LENGTH} characters")


def wrap(key: bytes, secret: str, kdf: KdfParams = DEFAULT_KDF) -> str:
    """The wrapped-key document for `key` under `secret`."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "fingerprint": fingerprint(key),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kdf": {"name": "argon2id", "version": ARGON2_VERSION, **asdict(kdf), "salt": b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": b64(nonce)},
    }
    sealed = AESGCM(kdf.derive(secret, salt)).encrypt(nonce, key, canonical(header))
    return json.dumps({**header, "ciphertext": b64(sealed)}, indent=2) + "\n"


def unwrap(document: str, secret: str) -> bytes:
    """The key inside a wrapped-key document; WrongSecret when `secret` does not open it."""
    header, sealed = _parse(document)
    kdf = _kdf_params(header)
    kek = kdf.derive(secret, unb64(header["kdf"]["salt"]))
    try:
        key = AESGCM(kek).decrypt(unb64(header["cipher"]["nonce"]), sealed, canonical(header))
    except InvalidTag:
        raise WrongSecret("wrong unlock secret (or a damaged key file)") from None
    if len(key) != KEY_BYTES or fingerprint(key) != header["fingerprint"]:
        raise KeyFileError("the wrapped key file is damaged")
    return key


def document_fingerprint(document: str) -> str:
    """The fingerprint a wrapped key file declares, readable without the secret."""
    header, _ = _parse(document)
    return str(header["fingerprint"])


@dataclass(frozen=True)
class KeyStore:
    """Where a laptop keeps its wrapped key (`path`), plus the pending key of an unfinished
    rotation and the retired keys that older backups were made with."""

    path: Path

    @property
    def pending(self) -> Path:
        return self.path.with_name(self.path.name + ".pending")

    def retired(self, key_fingerprint: str) -> Path:
        return self.path.with_name(f"{self.path.name}.retired-{key_fingerprint}")

    def exists(self) -> bool:
        return self.path.exists() or self.pending.exists()

    def fingerprint(self) -> str:
        return document_fingerprint(self._read(self.path))

    def save(self, key: bytes, secret: str, kdf: KdfParams = DEFAULT_KDF) -> None:
        write_atomic(self.path, wrap(key, secret, kdf).encode())

    def save_pending(self, key: bytes, secret: str, kdf: KdfParams = DEFAULT_KDF) -> None:
        write_atomic(self.pending, wrap(key, secret, kdf).encode())

    def unlock(self, secret: str) -> bytes:
        return unwrap(self._read(self.path), secret)

    def unlock_pending(self, secret: str) -> bytes | None:
        return unwrap(self._read(self.pending), secret) if self.pending.exists() else None

    def promote(self) -> None:
        """Make the pending key current in one rename; the old one is kept as retired."""
        if self.path.exists():
            document = self._read(self.path)
            write_atomic(self.retired(document_fingerprint(document)), document.encode())
        self.pending.replace(self.path)

    def _read(self, path: Path) -> str:
        try:
            return path.read_text()
        except FileNotFoundError:
            raise KeyFileError(
                f"no wrapped database key at {path}; run `clinic-provision keygen`"
            ) from None


def open_key(store: KeyStore, secret: str, database: Path) -> bytes:
    """The key that opens `database`: the current one, or the pending one when a rotation was
    cut off after the database was re-keyed but before the new key was promoted."""
    current = store.unlock(secret) if store.path.exists() else None
    pending = store.unlock_pending(secret)
    if pending is None or not database.exists():
        if current is None:
            raise KeyFileError(f"no wrapped database key at {store.path}")
        return current
    for key in (current, pending):
        if key is not None and opens(database, key):
            return key
    raise KeyFileError(f"neither the current nor the pending key opens {database}")


def opens(database: Path, key: bytes) -> bool:
    try:
        sqlcipher_connect(database, key).close()
    except DatabaseKeyError:
        return False
    return True


def _parse(document: str) -> tuple[dict[str, Any], bytes]:
    try:
        data = json.loads(document)
        sealed = unb64(data.pop("ciphertext"))
        if data["format"] != FORMAT:
            raise KeyFileError("this is not a wrapped clinic database key")
        if data["version"] != VERSION:
            raise KeyFileError(f"wrapped key format version {data['version']} is not supported")
        require_text(data, "fingerprint")
        require_text(data["kdf"], "salt")
        require_text(data["cipher"], "nonce")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError("the wrapped key file is damaged or not a clinic key file") from None
    return data, sealed


def _kdf_params(header: dict[str, Any]) -> KdfParams:
    kdf = header["kdf"]
    if kdf.get("name") != "argon2id" or kdf.get("version") != ARGON2_VERSION:
        raise KeyFileError(f"unknown key derivation {kdf.get('name')!r}")
    try:
        params = KdfParams(
            int(kdf["time_cost"]), int(kdf["memory_cost_kib"]), int(kdf["parallelism"])
        )
    except (KeyError, TypeError, ValueError):
        raise KeyFileError("the wrapped key file is damaged") from None
    params.check_sane()
    return params
