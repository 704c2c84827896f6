"""Forged tokens the attacker has the pieces for, refused with 401 on edge and hub.

tests/common/auth/test_tokens.py already refuses alg=none, HS512, another key, expired,
missing claims, another app's issuer and audience, and revoked tokens (logout, restart).
These add what an attacker can build from public material: algorithm confusion (an
RS256 or EdDSA header; HS256 keyed with the hub's published receipt public key, the way
a verifier that trusts the header's `alg` is fooled) and a genuine token whose payload
has been edited (another user, a later expiry) under its original signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask import Flask

from hub.sync.exchange import receipt_public_key
from tests.common.auth.test_tokens import bearer, claims, last_denial
from tests.conftest import TEST_SECRET, hub_config
from tests.support.identity import NodeApp, Staff
from tests.support.tables import AUDIT_TABLES, row_counts


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A JWT signed with HMAC-SHA256 under `key`, whatever its header claims."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def public_key_text(app: Flask, tmp_path: Any) -> str:
    """A public key an attacker can read: the hub's receipt key, given to every device."""
    if "SYNC_KEY_FILE" in app.config:
        return receipt_public_key(app)
    from hub import create_app

    return receipt_public_key(create_app(hub_config("sqlite://", tmp_path)))


def payload_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def with_payload(token: str, **changes: Any) -> str:
    """The same header and signature over an edited payload."""
    header, _, signature = token.split(".")
    edited = {**payload_of(token), **changes}
    return f"{header}.{b64(json.dumps(edited).encode())}.{signature}"


Forge = Callable[[NodeApp, Staff, Staff, Any], str]

FORGERIES: dict[str, Forge] = {
    "RS256 with a fresh key": lambda node, who, admin, tmp: jwt.encode(
        claims(node.app, admin.id),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
    ),
    "EdDSA with a fresh key": lambda node, who, admin, tmp: jwt.encode(
        claims(node.app, admin.id), ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA"
    ),
    "RS256 header over the app's own HMAC": lambda node, who, admin, tmp: hand_signed(
        {"alg": "RS256", "typ": "JWT"}, claims(node.app, admin.id), TEST_SECRET.encode()
    ),
    "HS256 keyed with a public key": lambda node, who, admin, tmp: hand_signed(
        {"alg": "HS256", "typ": "JWT"},
        claims(node.app, admin.id),
        public_key_text(node.app, tmp).encode(),
    ),
    "payload edited to another user": lambda node, who, admin, tmp: with_payload(
        who.access_token, sub=admin.id
    ),
    "payload edited to a later expiry": lambda node, who, admin, tmp: with_payload(
        who.access_token, exp=int(time.time()) + 86400 * 365
    ),
    "payload edited to another audience": lambda node, who, admin, tmp: with_payload(
        who.access_token, aud="mobile-clinic-edge-api"
    ),
}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_forged_tokens_are_401_and_change_nothing(
    node_app: NodeApp, kind: str, tmp_path: Any
) -> None:
    nurse, admin = node_app.user("nurse"), node_app.user("administrator")
    token = FORGERIES[kind](node_app, nurse, admin, tmp_path)
    before = row_counts(node_app.engine, ignore=AUDIT_TABLES)
    for method, path in (("GET", "/api/auth/me"), ("POST", "/api/users"), ("GET", "/api/users")):
        response = node_app.client.open(path, method=method, headers=bearer(token), json={})
        assert response.status_code == 401, (method, path, response.get_json())
        assert response.get_json()["success"] is False
        assert last_denial(node_app.engine).user_id is None
    assert row_counts(node_app.engine, ignore=AUDIT_TABLES) == before


def test_the_same_payload_signed_with_the_key_is_accepted(node_app: NodeApp) -> None:
    """The control: hand signing and edited payloads work when the key is the app's, so
    each refusal above is the key or the algorithm at work, not a malformed token."""
    nurse, admin = node_app.user("nurse"), node_app.user("administrator")
    # with the administrator's standing too: a token names the standing of its user
    standing = payload_of(admin.access_token)["crd"]
    edited = {**payload_of(nurse.access_token), "sub": admin.id, "crd": standing}
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, edited, TEST_SECRET.encode())
    response = node_app.client.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json()["data"]["user"]["id"] == admin.id
