"""The messages of one exchange (protocol, section 5), parsed strictly.

From version 2 a batch's changes travel as columns (`sync.columnar`, section 5c); the hub
still takes version 1 (changes as rows) from laptops not yet upgraded and answers each in
the version it was asked in.

A request carries at most one push batch, the edge's pull cursor and whether it wants
changes back; a reply carries the hub's acknowledgement, its signed receipt, what it
quarantined, its clock and, when asked, a pull batch. An overloaded hub acknowledges a
batch once stored and applies it later: its quarantine report comes with a later reply,
numbered (`reported`), and the edge's next request says how far it has taken them.
Anything of another shape is a `ProtocolError`, which the hub answers with a 400 and the
edge records as a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync import columnar
from sync.change import Change, ProtocolError
from sync.policy import Chain
from sync.snapshot import MAX_CHUNK_ROWS, Chunk, Position

VERSION = 2
VERSIONS = (1, 2)  # what the hub understands
# A push batch fills up to the byte cap (a few thousand typical changes as columns); the
# change cap only bounds a batch of tiny changes, which the hub applies in one
# transaction holding the device's link row locked, and stays under what it accepts.
MAX_BATCH_CHANGES = 4_000  # what an edge puts in one push batch at most
MAX_BATCH_BYTES = 60_000  # compressed, so a batch fits one request of under 64 KB
MAX_ACCEPTED_CHANGES = 5_000  # what the hub accepts in one batch
NO_CHAINS: Mapping[str, Chain] = {}
PULL_LIMIT = 1_000  # log entries the hub reads for one pull batch


@dataclass(frozen=True)
class Batch:
    """The device's own changes with `after < seq <= last`, sent under one id."""

    id: str
    after: int
    last: int
    changes: list[Change]
    # the columns made for a chains mapping: an edge sizes, stores and sends each batch,
    # and working out which audit hashes derive costs a hash per record
    _columns: list[tuple[Mapping[str, Chain], list[Any]]] = field(
        default_factory=list, init=False, compare=False, repr=False
    )

    def to_wire(self, chains: Mapping[str, Chain] | None = None) -> dict[str, Any]:
        """The batch with its changes as columns, or as rows (version 1) without `chains`."""
        head = {"id": self.id, "after": self.after, "last": self.last}
        if chains is None:
            return {**head, **_changes(self.changes, None)}
        made = next((columns for known, columns in self._columns if known is chains), None)
        if made is None:
            made = columnar.encode(self.changes, chains)
            self._columns.append((chains, made))
        return {**head, "columns": made}

    @classmethod
    def from_wire(cls, data: Any, chains: Mapping[str, Chain] = NO_CHAINS) -> Batch:
        _require(isinstance(data, dict), "the batch must be an object")
        batch_id, after, last = data.get("id"), data.get("after"), data.get("last")
        _require(isinstance(batch_id, str) and 8 <= len(batch_id) <= 64, "bad batch id")
        _require(_count(after) and _count(last) and after < last, "bad batch range")
        batch = cls(batch_id, after, last, _parse_changes(data, chains, "the batch"))
        if "columns" in data:  # checked whole by the parse: stored as it came (the inbox)
            batch._columns.append((chains, data["columns"]))
        return batch


@dataclass(frozen=True)
class SnapshotAsk:
    """The edge asks for the next chunk of its starting snapshot (section 5a)."""

    position: Position
    limit: int

    def to_wire(self) -> dict[str, Any]:
        return {"position": self.position.to_wire(), "limit": self.limit}

    @classmethod
    def from_wire(cls, data: Any) -> SnapshotAsk:
        _require(isinstance(data, dict), "the snapshot request must be an object")
        limit = data.get("limit")
        _require(_integer(limit) and 1 <= limit <= MAX_CHUNK_ROWS, "bad snapshot limit")
        return cls(Position.from_wire(data.get("position")), limit)


@dataclass(frozen=True)
class Request:
    batch: Batch | None
    cursor: int
    pull: bool
    sent_at: int
    offset_ms: int | None = None
    app_version: str | None = None
    snapshot: SnapshotAsk | None = None
    reported: int | None = None  # the last stored batch's report taken (None: an old edge)
    version: int = VERSION
    # our digest at the batch's start: a hub whose digest there differs answers `rewound`
    base: str | None = None
    own: bool = False  # the pull brings our own changes too (a re-base after a restore)

    def to_wire(self, chains: Mapping[str, Chain] = NO_CHAINS) -> dict[str, Any]:
        form = chains if self.version >= 2 else None
        return {
            "v": self.version,
            "batch": self.batch.to_wire(form) if self.batch else None,
            "cursor": self.cursor,
            "pull": self.pull,
            "sent_at": self.sent_at,
            "offset_ms": self.offset_ms,
            "app_version": self.app_version,
            **({"snapshot": self.snapshot.to_wire()} if self.snapshot else {}),
            **({"reported": self.reported} if self.reported is not None else {}),
            **({"base": self.base} if self.base is not None else {}),
            **({"own": True} if self.own else {}),
        }

    @classmethod
    def from_wire(cls, data: Any, chains: Mapping[str, Chain] = NO_CHAINS) -> Request:
        _require(isinstance(data, dict), "the request must be an object")
        version = data.get("v")
        _require(
            version in VERSIONS and _integer(version), f"unsupported protocol version {version!r}"
        )
        cursor, pull, sent_at = data.get("cursor"), data.get("pull"), data.get("sent_at")
        offset, app_version = data.get("offset_ms"), data.get("app_version")
        _require(_count(cursor), "bad cursor")
        _require(isinstance(pull, bool), "pull must be true or false")
        _require(_count(sent_at), "bad sent_at")
        _require(offset is None or _integer(offset), "bad offset_ms")
        _require(
            app_version is None or (isinstance(app_version, str) and len(app_version) <= 32),
            "bad app_version",
        )
        raw_batch = data.get("batch")
        batch = Batch.from_wire(raw_batch, chains) if raw_batch is not None else None
        raw_ask = data.get("snapshot")
        ask = SnapshotAsk.from_wire(raw_ask) if raw_ask is not None else None
        reported = data.get("reported")
        _require(reported is None or _count(reported), "bad reported mark")
        base, own = data.get("base"), data.get("own", False)
        _require(base is None or (isinstance(base, str) and len(base) <= 64), "bad base digest")
        _require(isinstance(own, bool), "own must be true or false")
        return cls(
            batch, cursor, pull, sent_at, offset, app_version, ask, reported, version, base, own
        )


@dataclass(frozen=True)
class Ack:
    """The hub holds everything the device made through `through`; `digest` chains it.
    `rewound`: the batch starts before `through` and is not one the hub has, or where the
    hub's digest differs: the laptop has gone back in time (restored from a backup) and
    must re-base its unsent changes after `through` (protocol, section 5d)."""

    batch: str | None
    through: int
    digest: str
    rewound: bool = False


@dataclass(frozen=True)
class Pull:
    changes: list[Change]
    cursor: int
    more: bool


@dataclass
class Reply:
    ack: Ack
    receipt: dict[str, Any]
    signature: str
    hub_time: int
    quarantined: list[tuple[Change, str]] = field(default_factory=list)
    pull: Pull | None = None
    snapshot: Chunk | None = None
    reported: int | None = None  # the last stored batch whose report `quarantined` holds
    version: int = VERSION  # the request's: an edge of version 1 reads its pull as rows

    def to_wire(self, chains: Mapping[str, Chain] = NO_CHAINS) -> dict[str, Any]:
        message: dict[str, Any] = {
            "v": self.version,
            "ack": {
                "batch": self.ack.batch,
                "through": self.ack.through,
                "digest": self.ack.digest,
                **({"rewound": True} if self.ack.rewound else {}),
            },
            "receipt": self.receipt,
            "signature": self.signature,
            "hub_time": self.hub_time,
            "quarantined": [
                {"change": change.to_wire(), "reason": reason}
                for change, reason in self.quarantined
            ],
        }
        if self.pull is not None:
            message["pull"] = {
                **_changes(self.pull.changes, chains if self.version >= 2 else None),
                "cursor": self.pull.cursor,
                "more": self.pull.more,
            }
        if self.snapshot is not None:
            message["snapshot"] = self.snapshot.to_wire()
        if self.reported is not None:
            message["reported"] = self.reported
        return message

    @classmethod
    def from_wire(cls, data: Any, chains: Mapping[str, Chain] = NO_CHAINS) -> Reply:
        _require(isinstance(data, dict) and data.get("v") in VERSIONS, "not a sync reply")
        ack = data.get("ack")
        _require(isinstance(ack, dict), "the reply has no acknowledgement")
        _require(_count(ack.get("through")), "bad acknowledgement")
        _require(isinstance(ack.get("digest"), str), "bad acknowledgement digest")
        _require(isinstance(ack.get("rewound", False), bool), "bad acknowledgement")
        _require(isinstance(data.get("receipt"), dict), "the reply has no receipt")
        _require(isinstance(data.get("signature"), str), "the receipt is not signed")
        _require(_count(data.get("hub_time")), "bad hub_time")
        quarantined = [
            (Change.from_wire(item["change"]), str(item["reason"]))
            for item in _list(data.get("quarantined", []))
            if isinstance(item, dict)
        ]
        pull = None
        if data.get("pull") is not None:
            raw = data["pull"]
            _require(isinstance(raw, dict) and _count(raw.get("cursor")), "bad pull batch")
            changes = _parse_changes(raw, chains, "the pull batch")
            pull = Pull(changes, raw["cursor"], bool(raw.get("more")))
        raw_chunk = data.get("snapshot")
        chunk = Chunk.from_wire(raw_chunk) if raw_chunk is not None else None
        reported = data.get("reported")
        _require(reported is None or _count(reported), "bad reported mark")
        return cls(
            Ack(ack.get("batch"), ack["through"], ack["digest"], ack.get("rewound", False)),
            data["receipt"],
            data["signature"],
            data["hub_time"],
            quarantined,
            pull,
            chunk,
            reported,
            data["v"],
        )


def _changes(changes: list[Change], chains: Mapping[str, Chain] | None) -> dict[str, Any]:
    """A batch's changes as columns (`"columns"`), or as rows (`"changes"`) without chains."""
    if chains is None:
        return {"changes": [c.to_wire() for c in changes]}
    return {"columns": columnar.encode(changes, chains)}


def _parse_changes(data: dict[str, Any], chains: Mapping[str, Chain], what: str) -> list[Change]:
    """The changes of a batch in either form, at most MAX_ACCEPTED_CHANGES."""
    if "columns" in data:
        return columnar.decode(data["columns"], chains, MAX_ACCEPTED_CHANGES)
    items = data.get("changes")
    if not isinstance(items, list):
        raise ProtocolError(f"{what} has no change list")
    _require(len(items) <= MAX_ACCEPTED_CHANGES, "too many changes in one batch")
    return [Change.from_wire(item) for item in items]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProtocolError(message)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value: Any) -> bool:
    return _integer(value) and 0 <= value < 2**63


def _list(value: Any) -> list[Any]:
    _require(isinstance(value, list), "expected a list")
    return value
