"""Seals on the audit trail: an HMAC-SHA256 of every audit record a node holds, under a
key kept outside the database.

The chain (`common.audit`) shows that no record was edited, removed or reordered only to
someone who cannot write the database: anyone holding the database key can edit a record
and hash the chain again from there on, and both `audit verify` commands would pass. A
seal cannot be made again without the node's **audit key**, a file beside the node's
other secrets (`audit.key`, owner-only), never in the database. So each node seals every
record it holds in the node-local table `audit_seal`: an edge its own records as it
appends them (in the same transaction), the hub its own likewise and every record a
device pushes when the batch is applied (`hub.sync.exchange`). Nothing of it travels in
sync: the hub seals what it received under its own key. `verify` checks, beside each
link, that the record has a seal and that it matches; the chain's head (`audit_chain`)
is sealed too, so records cut from the end show even though the chain before them holds.

A seal names the key it was made with (`key_id`, a fingerprint of the key): a database
restored on another laptop, whose audit key was lost with the old one, holds records
sealed under that key, which verification reports as such rather than as altered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from common.config import ConfigError, read_secret_file
from common.database import write_intent
from common.files import write_new
from schema.models import AuditChain, AuditRecord, AuditSeal

KEY_FILE = "audit.key"
KEY_BYTES = 32
SEALS = AuditSeal.__table__
INSERT_SEALS = insert(SEALS)
_RECORDS = AuditRecord.__table__
_HEADS = AuditChain.__table__
_CHUNK = 500
_RECORD = b"mobile-clinic audit record v1\x00"
_HEAD = b"mobile-clinic audit head v1\x00"
_KEY_ID = b"mobile-clinic audit key id v1\x00"


@dataclass(frozen=True)
class SealKey:
    """A node's audit key, and the fingerprint its seals name it by."""

    secret: bytes = field(repr=False)
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ConfigError("the audit key must be 256 bits (64 hexadecimal characters)")
        object.__setattr__(self, "id", hashlib.sha256(_KEY_ID + self.secret).hexdigest()[:16])

    @classmethod
    def new(cls) -> SealKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_text(cls, text: str) -> SealKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError:
            raise ConfigError("the audit key must be 64 hexadecimal characters") from None

    def text(self) -> str:
        return self.secret.hex()

    def record(self, record_id: str, record_hash: str) -> str:
        """The seal of a record: its hash covers every field and its link, so sealing the
        hash seals them all."""
        return self._mac(_RECORD, record_id, record_hash)

    def head(self, node: str, seq: int, last_hash: str) -> str:
        """The seal of a chain's head: where the chain ended when it was last appended to."""
        return self._mac(_HEAD, node, str(seq), last_hash)

    def _mac(self, domain: bytes, *parts: str) -> str:
        message = domain + "\x00".join(parts).encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


# ------------------------------------------------------------ which key a database uses

_keys: weakref.WeakKeyDictionary[Engine, Callable[[], SealKey]] = weakref.WeakKeyDictionary()
_everywhere: list[SealKey] = []


def use(engine: Engine, key: SealKey | Callable[[], SealKey]) -> None:
    """Seal and verify the records of `engine`'s database with `key` (or with what the
    callable gives, asked once, on first use: a command that never audits needs no key)."""
    if isinstance(key, SealKey):
        _keys[engine] = lambda: key
        return
    found: list[SealKey] = []

    def once() -> SealKey:
        if not found:
            found.append(key())
        return found[0]

    _keys[engine] = once


def use_everywhere(key: SealKey | None) -> None:
    """The key of every database not given one by `use`: for tests and tools that make
    many databases in one process. Never set by the apps or commands."""
    _everywhere[:] = [key] if key is not None else []


def key_for(engine: Engine) -> SealKey:
    """The audit key of `engine`'s database; ConfigError when none was given."""
    found = _keys.get(engine)
    if found is not None:
        return found()
    if _everywhere:
        return _everywhere[0]
    raise ConfigError(
        "no audit key is configured for this database: the audit trail cannot be sealed "
        "or verified (see docs/operations.md, 'The audit key')"
    )


# ------------------------------------------------------------ the key file


def key_file(config: Mapping[str, Any]) -> Path:
    """Where a node keeps its audit key: AUDIT_KEY_FILE, else `audit.key` in SECRETS_DIR."""
    return Path(config.get("AUDIT_KEY_FILE") or Path(config["SECRETS_DIR"]) / KEY_FILE)


def from_config(config: Mapping[str, Any], hint: str) -> SealKey:
    """The node's audit key: AUDIT_KEY (hex; tests and benchmarks), else its file."""
    if config.get("AUDIT_KEY"):
        return SealKey.from_text(str(config["AUDIT_KEY"]))
    return load(key_file(config), hint)


def load(path: Path, hint: str) -> SealKey:
    """The audit key in `path`, refused when others could read it."""
    return SealKey.from_text(read_secret_file(path, "the audit key", hint))


def create_key(path: Path) -> SealKey:
    """A new audit key in `path` (owner-only); FileExistsError when there is one."""
    key = SealKey.new()
    write_new(path, (key.text() + "\n").encode())
    return key


def start_sealing(engine: Engine, path: Path) -> int | None:
    """Make the node's audit key when it has none, sealing every record the database
    already holds and the heads of its chains: the records written before sealing began,
    at the upgrade that brings it (or none, in a new database). They are vouched for as
    they are at that moment. None when the key exists: records are never sealed again
    later, since anyone who can write the database could then have them sealed.

    The key file is written before the seals commit, and only if no other process has
    made one meanwhile (then nothing is sealed here and its key stands)."""
    if path.exists():
        return None
    key = SealKey.new()
    try:
        with write_intent(), engine.begin() as connection:
            sealed = seal_unsealed(connection, key)
            seal_heads(connection, key)
            write_new(path, (key.text() + "\n").encode())  # before the commit
    except FileExistsError:
        return None
    return sealed


# ------------------------------------------------------------ sealing what is stored


_UNSEALED = (
    select(_RECORDS.c.id, _RECORDS.c.hash)
    .outerjoin(SEALS, SEALS.c.record_id == _RECORDS.c.id)
    .where(SEALS.c.record_id.is_(None))
)


def seal_unsealed(connection: Connection, key: SealKey, ids: Iterable[str] | None = None) -> int:
    """Seal the stored records (those among `ids`, or all) that have no seal yet, as they
    are stored; returns how many. The hub calls it with the records of a batch it has
    just applied (the batch's own values, re-derived hashes included, as stored); the
    first `migrate` of a node with all, a page at a time (six years of a fleet's trail)."""
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        pages = (
            _UNSEALED.where(_RECORDS.c.id.in_(wanted[at : at + _CHUNK]))
            for at in range(0, len(wanted), _CHUNK)
        )
        return sum(len(_seal(connection, key, page)) for page in pages)
    count, after = 0, ""
    while True:
        page = _UNSEALED.where(_RECORDS.c.id > after).order_by(_RECORDS.c.id).limit(_CHUNK)
        sealed = _seal(connection, key, page)
        if not sealed:
            return count
        count += len(sealed)
        after = sealed[-1]["record_id"]


def _seal(connection: Connection, key: SealKey, query: Any) -> list[dict[str, str]]:
    rows = [
        {"record_id": row.id, "key_id": key.id, "mac": key.record(row.id, row.hash)}
        for row in connection.execute(query)
    ]
    if rows:
        connection.execute(INSERT_SEALS, rows)
    return rows


def seal_heads(connection: Connection, key: SealKey) -> None:
    """Seal every chain head this database keeps, where it stands now."""
    for head in connection.execute(select(_HEADS.c.node, _HEADS.c.last_seq, _HEADS.c.last_hash)):
        connection.execute(
            update(_HEADS)
            .where(_HEADS.c.node == head.node)
            .values(seal_key=key.id, seal=key.head(head.node, head.last_seq, head.last_hash))
        )


# ------------------------------------------------------------ checking


def record_problem(
    key: SealKey, record_id: str, record_hash: str, key_id: str | None, mac: str | None
) -> str | None:
    """What is wrong with a record's seal, or None when it holds."""
    if mac is None:
        return "has no seal: written or rewritten by someone without the audit key"
    if key_id != key.id:
        return (
            f"is sealed under another audit key ({key_id}), not this node's ({key.id}): "
            "it cannot be verified here"
        )
    if not hmac.compare_digest(mac, key.record(record_id, record_hash)):
        return "does not match its seal: altered (and the chain hashed again) after it was sealed"
    return None


def head_problem(key: SealKey, head: AuditChain) -> str | None:
    """What is wrong with a chain head's seal, or None when it holds."""
    if head.seal is None:
        return "the chain's head has no seal: rewritten by someone without the audit key"
    if head.seal_key != key.id:
        return (
            f"the chain's head is sealed under another audit key ({head.seal_key}), not this "
            f"node's ({key.id}): it cannot be verified here"
        )
    if not hmac.compare_digest(head.seal, key.head(head.node, head.last_seq, head.last_hash)):
        return (
            "the chain's head does not match its seal: rewritten, and records at the end "
            "deleted, after it was sealed"
        )
    return None


@dataclass(frozen=True)
class Unverifiable:
    """Records a node cannot vouch for: with no seal, or sealed under another key."""

    unsealed: int
    other_keys: dict[str, int]


def unverifiable(connection: Connection, key: SealKey) -> Unverifiable:
    """What a restored database holds that this node's audit key cannot verify."""
    unsealed = connection.scalar(
        select(func.count())
        .select_from(_RECORDS.outerjoin(SEALS, SEALS.c.record_id == _RECORDS.c.id))
        .where(SEALS.c.record_id.is_(None))
    )
    others = connection.execute(
        select(SEALS.c.key_id, func.count())
        .where(and_(SEALS.c.key_id != key.id))
        .group_by(SEALS.c.key_id)
    )
    return Unverifiable(int(unsealed or 0), {row[0]: int(row[1]) for row in others})
