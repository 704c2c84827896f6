"""Access and refresh tokens: flask-jwt-extended with the algorithm pinned, `exp`, `iss`
and `aud` required (issuer and audience differ per app, so an edge token is refused at
the hub and the other way round).

The tokens of one login are a **family** (claim `fam`): the refresh token and every
access token issued with it or refreshed from it. Logout ends the family, whichever of
its tokens the client sends, in a denylist in the database that survives restarts. Each
token also carries the standing of the user it was issued to (claim `crd`,
`common.auth.standing`), checked against the user row on every use: a password change or
reset, a new role or deactivation ends every family of the user at once."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import ExpiredSignatureError, PyJWTError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from common.auth import standing
from common.errors import Unauthorized
from schema.base import utcnow
from schema.models import RevokedToken, User

ALGORITHM = "HS256"
ACCESS_LIFETIME = dt.timedelta(minutes=15)
REFRESH_LIFETIME = dt.timedelta(days=7)
ACCESS = "access"
REFRESH = "refresh"
FAMILY = "fam"
STANDING = "crd"
REQUIRED_CLAIMS = frozenset({"exp", "iat", "iss", "aud", "jti", "sub", "type", FAMILY, STANDING})
ENDED = "The token is no longer valid; log in again"

jwt = JWTManager()


def init_app(app: Flask) -> None:
    issuer = f"mobile-clinic-{app.config['NODE_KIND']}"
    app.config.update(
        JWT_SECRET_KEY=app.config["SECRET_KEY"],
        JWT_ALGORITHM=ALGORITHM,
        JWT_DECODE_ALGORITHMS=[ALGORITHM],
        JWT_ENCODE_ISSUER=issuer,
        JWT_DECODE_ISSUER=issuer,
        JWT_ENCODE_AUDIENCE=f"{issuer}-api",
        JWT_DECODE_AUDIENCE=f"{issuer}-api",
        JWT_ACCESS_TOKEN_EXPIRES=ACCESS_LIFETIME,
        JWT_REFRESH_TOKEN_EXPIRES=REFRESH_LIFETIME,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_COOKIE_CSRF_PROTECT=False,  # tokens travel in headers; cookies are sessions
        JWT_DECODE_LEEWAY=0,
    )
    jwt.init_app(app)


def issue(secret: str, user: User) -> dict[str, Any]:
    """A fresh pair of tokens, a new family, for a user who has just logged in."""
    claims = {FAMILY: secrets.token_hex(16), STANDING: standing.stamp(secret, user)}
    return {
        **access(user.id, claims),
        "refresh_token": create_refresh_token(identity=user.id, additional_claims=claims),
        "refresh_expires_in": int(REFRESH_LIFETIME.total_seconds()),
    }


def access(user_id: str, family: dict[str, Any]) -> dict[str, Any]:
    """An access token in the family of `family` (a refresh token's claims, or the new
    family's), issued to the same standing."""
    claims = {FAMILY: family[FAMILY], STANDING: family[STANDING]}
    return {
        "access_token": create_access_token(identity=user_id, additional_claims=claims),
        "token_type": "Bearer",  # nosec B105 - the OAuth token type, not a password
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
    }


def read(session: Session, encoded: str, kind: str) -> dict[str, Any]:
    """The claims of a valid, unrevoked token of `kind`; Unauthorized with the reason otherwise."""
    try:
        claims = decode_token(encoded)
    except ExpiredSignatureError:
        raise Unauthorized("The token has expired; log in again") from None
    except (PyJWTError, JWTExtendedException, ValueError, TypeError):
        raise Unauthorized("The token is not valid") from None
    if not REQUIRED_CLAIMS <= claims.keys() or not all(
        isinstance(claims[name], str) for name in ("jti", "sub", FAMILY, STANDING)
    ):
        raise Unauthorized("The token is not valid")
    if claims["type"] != kind:
        other = REFRESH if kind == ACCESS else ACCESS
        raise Unauthorized(f"Send the {kind} token here, not the {other} token")
    if session.get(RevokedToken, claims[FAMILY]) is not None:
        raise Unauthorized("The token has been revoked; log in again")
    return claims


def stands(secret: str, claims: dict[str, Any], user: User) -> bool:
    """Whether the token was issued to the user as they stand now (same password, role,
    active): the check that ends every token at a password change, reset, role change or
    deactivation."""
    return standing.holds(secret, user, claims[STANDING])


def expiry(claims: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(claims["exp"], dt.UTC)


def revoke_family(session: Session, family: str, user_id: str | None) -> None:
    """Deny every token of a family from now on (kept until the last of them would have
    expired anyway: a refresh token issued before now); entries past that are dropped."""
    now = utcnow()
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    if session.get(RevokedToken, family) is None:
        expires_at = now + REFRESH_LIFETIME
        session.add(RevokedToken(family=family, user_id=user_id, expires_at=expires_at))
        session.flush()
