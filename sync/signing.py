"""Device identity and request signing with Ed25519.

A device signs `METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n sha256(body)` with the private
key it made at enrollment; the hub keeps only the public key, so a copy of the hub's
database cannot impersonate a vehicle. The hub signs receipts with its own key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.codec import canonical

HEADER_DEVICE = "X-Device"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"


class SignatureError(ValueError):
    """A signature or key is malformed or does not verify."""


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def load_private_key(text: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except ValueError:
        raise SignatureError("not an Ed25519 private key") from None


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError:
        raise SignatureError("not an Ed25519 public key") from None


def fingerprint(public_text: str) -> str:
    return hashlib.sha256(public_text.encode()).hexdigest()[:16]


def _message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{digest}".encode()


@dataclass(frozen=True)
class SignedHeaders:
    device: str
    timestamp: str
    nonce: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            HEADER_DEVICE: self.device,
            HEADER_TIMESTAMP: self.timestamp,
            HEADER_NONCE: self.nonce,
            HEADER_SIGNATURE: self.signature,
        }


def sign_request(
    key: Ed25519PrivateKey, device: str, method: str, path: str, body: bytes, timestamp_ms: int
) -> SignedHeaders:
    timestamp, nonce = str(timestamp_ms), secrets.token_hex(16)
    signature = key.sign(_message(method, path, timestamp, nonce, body))
    return SignedHeaders(device, timestamp, nonce, base64.b64encode(signature).decode())


def verify_request(
    public_text: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: str,
    nonce: str,
    signature: str,
) -> None:
    """Raise SignatureError unless `signature` is the device's over this exact request."""
    try:
        raw = base64.b64decode(signature, validate=True)
        load_public_key(public_text).verify(raw, _message(method, path, timestamp, nonce, body))
    except (ValueError, InvalidSignature):
        raise SignatureError("the request signature does not verify") from None


def sign_receipt(key: Ed25519PrivateKey, receipt: dict[str, object]) -> str:
    return base64.b64encode(key.sign(canonical(receipt))).decode()


def verify_receipt(public_text: str, receipt: dict[str, object], signature: str) -> bool:
    try:
        load_public_key(public_text).verify(
            base64.b64decode(signature, validate=True), canonical(receipt)
        )
    except (ValueError, InvalidSignature, SignatureError):
        return False
    return True
