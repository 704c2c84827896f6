"""Access and refresh tokens: flask-jwt-extended with the algorithm pinned, `exp`, `iss`
and `aud` required (issuer and audience differ per app, so an edge token is refused at
the hub and the other way round), and a denylist in the database that survives restarts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import ExpiredSignatureError, PyJWTError
from sqlalchemy import delete
from sqlalchemy.orm import Session

from common.errors import Unauthorized
from schema.base import utcnow
from schema.models import RevokedToken

ALGORITHM = "HS256"
ACCESS_LIFETIME = dt.timedelta(minutes=15)
REFRESH_LIFETIME = dt.timedelta(days=7)
ACCESS = "access"
REFRESH = "refresh"
REQUIRED_CLAIMS = frozenset({"exp", "iat", "iss", "aud", "jti", "sub", "type"})

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


def issue(user_id: str) -> dict[str, Any]:
    """A fresh pair of tokens for a user who has just logged in."""
    return {
        **access(user_id),
        "refresh_token": create_refresh_token(identity=user_id),
        "refresh_expires_in": int(REFRESH_LIFETIME.total_seconds()),
    }


def access(user_id: str) -> dict[str, Any]:
    return {
        "access_token": create_access_token(identity=user_id),
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
    if not REQUIRED_CLAIMS <= claims.keys() or not isinstance(claims["jti"], str):
        raise Unauthorized("The token is not valid")
    if claims["type"] != kind:
        other = REFRESH if kind == ACCESS else ACCESS
        raise Unauthorized(f"Send the {kind} token here, not the {other} token")
    if session.get(RevokedToken, claims["jti"]) is not None:
        raise Unauthorized("The token has been revoked; log in again")
    return claims


def expiry(claims: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(claims["exp"], dt.UTC)


def revoke(session: Session, jti: str, user_id: str | None, expires_at: dt.datetime) -> None:
    """Deny a token from now on; entries for tokens that have expired anyway are dropped."""
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, user_id=user_id, expires_at=expires_at))
        session.flush()
