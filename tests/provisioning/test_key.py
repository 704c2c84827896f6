"""The wrapped key file: only the right secret opens it, tampering is detected, and the key
itself never appears in the file."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from provisioning.errors import KeyFileError, WrongSecret
from provisioning.key import KeyStore, document_fingerprint, fingerprint, unwrap, wrap
from tests.provisioning.conftest import FAST_KDF, mode

SECRET = "correct horse battery"


def test_the_right_secret_unwraps_the_key() -> None:
    key = secrets.token_bytes(32)
    document = wrap(key, SECRET, FAST_KDF)
    assert unwrap(document, SECRET) == key
    assert document_fingerprint(document) == fingerprint(key)


def test_a_wrong_secret_is_refused() -> None:
    document = wrap(secrets.token_bytes(32), SECRET, FAST_KDF)
    with pytest.raises(WrongSecret, match="wrong unlock secret"):
        unwrap(document, SECRET + "x")


def test_the_key_never_appears_in_the_file() -> None:
    key = secrets.token_bytes(32)
    document = wrap(key, SECRET, FAST_KDF)
    assert key.hex() not in document
    assert key not in document.encode()
    data = json.loads(document)
    assert data["kdf"]["name"] == "argon2id" and len(data["kdf"]["salt"]) > 16
    assert data["format"] == "mobile-clinic-wrapped-key" and data["version"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [(("kdf", "time_cost"), 2), (("fingerprint",), "0000-0000-0000-0000"), (("created_at",), "x")],
)
def test_a_tampered_header_is_refused(field: tuple[str, ...], value: object) -> None:
    data = json.loads(wrap(secrets.token_bytes(32), SECRET, FAST_KDF))
    target = data
    for name in field[:-1]:
        target = target[name]
    target[field[-1]] = value
    with pytest.raises(KeyFileError):
        unwrap(json.dumps(data), SECRET)


def test_absurd_kdf_costs_are_refused_before_deriving() -> None:
    data = json.loads(wrap(secrets.token_bytes(32), SECRET, FAST_KDF))
    data["kdf"]["memory_cost_kib"] = 64 * 1024 * 1024  # 64 GiB
    with pytest.raises(KeyFileError, match="out of range"):
        unwrap(json.dumps(data), SECRET)


@pytest.mark.parametrize("document", ["", "{}", "not json", '{"format": "other"}'])
def test_garbage_is_a_clear_error(document: str) -> None:
    with pytest.raises(KeyFileError):
        unwrap(document, SECRET)


def test_fingerprint_names_the_key_without_revealing_it() -> None:
    key = secrets.token_bytes(32)
    assert fingerprint(key) == fingerprint(key)
    assert fingerprint(key) != fingerprint(secrets.token_bytes(32))
    assert len(fingerprint(key)) == 19


def test_promote_keeps_the_old_key_as_retired(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "db.key.wrapped")
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    store.save(old, SECRET, FAST_KDF)
    store.save_pending(new, SECRET, FAST_KDF)
    store.promote()
    assert store.unlock(SECRET) == new
    assert not store.pending.exists()
    assert KeyStore(store.retired(fingerprint(old))).unlock(SECRET) == old
    assert mode(store.path) == 0o600 and mode(store.retired(fingerprint(old))) == 0o600
