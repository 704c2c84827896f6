"""The running digest of everything a device has pushed and the hub has applied.

Both sides extend it batch by batch; equal digests prove the hub received exactly what
the edge sent, in order, which is what a signed receipt attests."""

from __future__ import annotations

import hashlib
from typing import Any

from sync.codec import canonical

GENESIS = "0" * 64


def extend(previous: str, batch_id: str, first: int, last: int, changes: list[Any]) -> str:
    body = hashlib.sha256(canonical(changes)).hexdigest()
    link = f"{previous}|{batch_id}|{first}|{last}|{body}".encode()
    return hashlib.sha256(link).hexdigest()
