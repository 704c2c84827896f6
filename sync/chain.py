"""Hash chains on the wire (protocol, section 5c): a chained row's link to the row before
it and its own digest can be worked out from the rows of a batch, so a batch leaves each
out wherever the receiver would work out exactly the value the sender holds.

The audit trail is such a chain (`schema.models.audit`): each record holds the SHA-256
of the record before it on the same node and its own, two 64-digit hex numbers that no
compressor can shrink, which were a quarter of a day's push. A value that differs from
what the receiver would derive (a record altered on the laptop, a first record whose
predecessor went in an earlier batch) travels as it is, so the hub holds what the edge
held, byte for byte, and its audit verification finds an alteration there too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Table

from sync.change import FULL_OPS, Change, ProtocolError
from sync.policy import Chain, sync_spec

LINK = 1  # the bits of a change's derivation mark: its link was left out
DIGEST = 2  # its digest was left out
MARKS = range(4)


def of(tables: Mapping[str, Table]) -> dict[str, Chain]:
    """The chains of the chained tables among `tables`, by table name."""
    chains = {}
    for name, table in tables.items():
        spec = sync_spec(table)
        if spec is not None and spec.chain is not None:
            chains[name] = spec.chain
    return chains


def marks(chain: Chain, changes: Sequence[Change]) -> list[int]:
    """For each change of the chain's table, which of its values the receiver derives
    (`LINK | DIGEST` bits): those equal to what `restore` would put in their place."""
    positions = [_position(chain, change) for change in changes]
    at = {position: c for position, c in zip(positions, changes, strict=True) if position}
    found = []
    for change, position in zip(changes, positions, strict=True):
        mark = 0
        if position is not None:
            origin, number = position
            before = at.get((origin, number - 1))
            link, digest = change.values.get(chain.link), change.values.get(chain.digest)
            if before is not None and link is not None and link == before.values.get(chain.digest):
                mark |= LINK
            if digest is not None and digest == chain.compute(change.row_id, origin, change.values):
                mark |= DIGEST
        found.append(mark)
    return found


def restore(chain: Chain, changes: Sequence[Change], marked: Sequence[int]) -> None:
    """Put the derived values of the marked changes in place, predecessors first;
    ProtocolError where a mark asks for what the batch cannot give."""
    at: dict[tuple[str, int], Change] = {}
    for change in changes:
        position = _position(chain, change)
        if position is not None:
            if position in at:
                raise ProtocolError("two chained rows hold one place in their chain")
            at[position] = change
    pending = []
    for change, mark in zip(changes, marked, strict=True):
        if mark:
            position = _position(chain, change)
            if position is None:
                raise ProtocolError("a derived chain value on a row outside any chain")
            pending.append((position, change, mark))
    pending.sort(key=lambda item: item[0][1])
    for (origin, number), change, mark in pending:
        if mark & LINK:
            before = at.get((origin, number - 1))
            if before is None:
                raise ProtocolError("a left-out chain link has no predecessor in the batch")
            change.values[chain.link] = before.values.get(chain.digest)
        if mark & DIGEST:
            change.values[chain.digest] = chain.compute(change.row_id, origin, change.values)


def _position(chain: Chain, change: Change) -> tuple[str, int] | None:
    """Where a full row sits in its chain; None for anything else."""
    number = change.values.get(chain.sequence)
    if change.op not in FULL_OPS or change.origin is None or isinstance(number, bool):
        return None
    return (change.origin, number) if isinstance(number, int) else None
