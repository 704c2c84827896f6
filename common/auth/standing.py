"""What a credential was issued against: a digest of the user row's standing.

Every access and refresh token carries it (claim `crd`) and every browser session stores
it (`web_session.credentials`); each request compares it with the digest of the user row
it loads anyway. A new password (changed or reset), a new role or deactivation changes
the row, so every token and browser session issued before ends at once, with no list of
them to keep: the user row is the only state. User rows sync from the hub to the
vehicles, so a reset at head office ends the user's tokens and sessions on a laptop as
soon as the new row arrives there, and one made on a laptop ends them at the hub.

The digest is keyed with the app's secret key (an HMAC, cut to 128 bits): a token's
claims are readable by whoever holds it, and they should say nothing about the hash.
A password hash renewed with newer Argon2 parameters at a login (`service._rehashed`)
is a new hash too: the user's other sessions end once, after such an upgrade.
"""

from __future__ import annotations

import hashlib
import hmac

from schema.models import User

STAMP_HEX_DIGITS = 32
_DOMAIN = b"mobile-clinic credential standing v1\x00"


def stamp(secret: str, user: User) -> str:
    """The digest of the user's password hash, role and active flag under `secret`."""
    standing = "\x1f".join((user.id, user.password_hash, user.role, "1" if user.active else "0"))
    mac = hmac.new(secret.encode(), _DOMAIN + standing.encode(), hashlib.sha256)
    return mac.hexdigest()[:STAMP_HEX_DIGITS]


def holds(secret: str, user: User, issued: object) -> bool:
    """Whether a credential issued with stamp `issued` still stands for the user as they
    are now (compared in constant time)."""
    if not isinstance(issued, str):
        return False
    return hmac.compare_digest(issued.encode("utf-8", "replace"), stamp(secret, user).encode())
