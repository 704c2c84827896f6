"""Key escrow: a recovery copy of a laptop's database key that only head office can open.

Head office keeps an X25519 key pair; its private key stays offline, encrypted under a
passphrase. A laptop encrypts its database key to head office's public key (an ephemeral
X25519 exchange, HKDF-SHA256, AES-256-GCM) and the resulting blob goes to the hub's
`device.key_escrow` column at enrollment. The hub stores the blob but cannot open it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.database import KEY_BYTES
from provisioning.encoding import b64, canonical, require_text, unb64
from provisioning.errors import KeyFileError
from provisioning.key import fingerprint

FORMAT = "mobile-clinic-key-escrow"
VERSION = 1
ALGORITHM = "X25519-HKDF-SHA256-AES256GCM"
_INFO = b"mobile-clinic key escrow v1"
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_keypair(passphrase: str) -> tuple[bytes, bytes]:
    """Head office's escrow key pair as PEM: (private, encrypted under `passphrase`; public)."""
    if len(passphrase) < 12:
        raise KeyFileError("the escrow passphrase must be at least 12 characters")
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def load_public_key(pem: bytes) -> X25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise KeyFileError("the escrow public key is not a PEM public key") from None
    if not isinstance(key, X25519PublicKey):
        raise KeyFileError("the escrow public key is not an X25519 key")
    return key


def public_key_fingerprint(public: X25519PublicKey) -> str:
    """Which head-office key a blob is for (SHA-256 of the raw public key, shortened)."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def escrow_blob(key: bytes, public_key_pem: bytes, node_id: str | None = None) -> str:
    """The escrow blob (JSON text) of a database key for head office's public key; this is
    what enrollment uploads to the hub's `device.key_escrow`."""
    recipient = load_public_key(public_key_pem)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = ephemeral.public_key().public_bytes(*_RAW)
    nonce = secrets.token_bytes(12)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "algorithm": ALGORITHM,
        "node_id": node_id,
        "key_fingerprint": fingerprint(key),
        "recipient": public_key_fingerprint(recipient),
        "ephemeral_public_key": b64(ephemeral_raw),
        "nonce": b64(nonce),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    aead = AESGCM(_shared_key(ephemeral.exchange(recipient), ephemeral_raw, recipient))
    sealed = aead.encrypt(nonce, key, canonical(header))
    return json.dumps({**header, "ciphertext": b64(sealed)}, indent=2) + "\n"


def blob_fingerprint(blob: str) -> str:
    """The fingerprint of the key a blob holds, readable without head office's private key."""
    return str(_parse(blob)[0]["key_fingerprint"])


def recover_key(blob: str, private_key_pem: bytes, passphrase: str) -> bytes:
    """Head office's side: the database key inside an escrow blob."""
    header, sealed = _parse(blob)
    private = _load_private_key(private_key_pem, passphrase)
    if header["recipient"] != public_key_fingerprint(private.public_key()):
        raise KeyFileError("this escrow blob was made for a different head-office key")
    ephemeral_raw = unb64(header["ephemeral_public_key"])
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_raw))
    aead = AESGCM(_shared_key(shared, ephemeral_raw, private.public_key()))
    try:
        key = aead.decrypt(unb64(header["nonce"]), sealed, canonical(header))
    except InvalidTag:
        raise KeyFileError("the escrow blob is damaged") from None
    if len(key) != KEY_BYTES or fingerprint(key) != header["key_fingerprint"]:
        raise KeyFileError("the escrow blob is damaged")
    return key


def _shared_key(shared: bytes, ephemeral_raw: bytes, recipient: X25519PublicKey) -> bytes:
    salt = ephemeral_raw + recipient.public_bytes(*_RAW)
    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=_INFO).derive(shared)


def _load_private_key(pem: bytes, passphrase: str) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode())
    except (ValueError, TypeError):
        raise KeyFileError("wrong passphrase, or not head office's escrow private key") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError("the escrow private key is not an X25519 key")
    return key


def _parse(blob: str) -> tuple[dict[str, Any], bytes]:
    try:
        data = json.loads(blob)
        sealed = unb64(data.pop("ciphertext"))
        if data["format"] != FORMAT or data["algorithm"] != ALGORITHM:
            raise KeyError("format")
        if data["version"] != VERSION:
            raise KeyError("version")
        require_text(data, "ephemeral_public_key", "nonce", "recipient", "key_fingerprint")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise KeyFileError("not a clinic key escrow blob (or a damaged one)") from None
    return data, sealed
