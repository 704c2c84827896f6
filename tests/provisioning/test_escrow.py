"""Escrow: head office, and only head office, recovers a laptop's key from its blob."""

from __future__ import annotations

import json
import secrets

import pytest

from provisioning.errors import KeyFileError
from provisioning.escrow import blob_fingerprint, escrow_blob, generate_keypair, recover_key
from provisioning.key import fingerprint

PASSPHRASE = "head-office-escrow-passphrase"


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes]:
    return generate_keypair(PASSPHRASE)


def test_head_office_recovers_the_key(pair: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = pair
    key = secrets.token_bytes(32)
    blob = escrow_blob(key, public_pem, node_id="d123")
    assert recover_key(blob, private_pem, PASSPHRASE) == key
    assert blob_fingerprint(blob) == fingerprint(key)
    assert json.loads(blob)["node_id"] == "d123"


def test_the_blob_does_not_hold_the_key_in_clear(pair: tuple[bytes, bytes]) -> None:
    key = secrets.token_bytes(32)
    blob = escrow_blob(key, pair[1])
    assert key.hex() not in blob and key not in blob.encode()


def test_the_private_key_is_encrypted_at_rest(pair: tuple[bytes, bytes]) -> None:
    assert b"ENCRYPTED PRIVATE KEY" in pair[0]


def test_another_head_office_key_cannot_open_it(pair: tuple[bytes, bytes]) -> None:
    other_private, _ = generate_keypair(PASSPHRASE)
    blob = escrow_blob(secrets.token_bytes(32), pair[1])
    with pytest.raises(KeyFileError, match="different head-office key"):
        recover_key(blob, other_private, PASSPHRASE)


def test_a_wrong_passphrase_is_refused(pair: tuple[bytes, bytes]) -> None:
    blob = escrow_blob(secrets.token_bytes(32), pair[1])
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        recover_key(blob, pair[0], "not-the-passphrase")


def test_a_tampered_blob_is_refused(pair: tuple[bytes, bytes]) -> None:
    data = json.loads(escrow_blob(secrets.token_bytes(32), pair[1], node_id="d1"))
    data["node_id"] = "d2"  # the header is authenticated
    with pytest.raises(KeyFileError, match="damaged"):
        recover_key(json.dumps(data), pair[0], PASSPHRASE)


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(KeyFileError, match="at least 12"):
        generate_keypair("short")
