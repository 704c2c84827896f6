"""A list of changes as columns (protocol, section 5c): how batches travel from protocol
version 2 on.

Changes are grouped by table, operation and the columns they carry, groups and their
members in order of first appearance. Each group sends its row ids, versions and origins,
and each column's values, as lists: values of one column side by side share their dates,
codes and names where zstd finds them, which a list of per-change objects, the column
names repeated in each, hides. A chained table's derivable values are left out
(`sync.chain`) and marked per row, so the receiver puts them back.

A group is `[table, op, columns, ids, versions, origins, column_versions, priors, marks,
*values]`: `column_versions`, `priors` and `marks` are null when no member has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sync import chain as chains_
from sync.change import Change, ProtocolError
from sync.policy import Chain

HEAD = 9  # the items of a group before its columns' values

Key = tuple[str, str, tuple[str, ...]]


def grouped(changes: Sequence[Change]) -> list[Change]:
    """`changes` in the order their columnar form carries them."""
    return [change for members in _groups(changes).values() for change in members]


def encode(changes: Sequence[Change], chains: Mapping[str, Chain]) -> list[list[Any]]:
    """The columnar form of `changes`, derivable chain values left out."""
    marked = _marks(changes, chains)
    groups = []
    for (table, op, columns), members in _groups(changes).items():
        marks = [marked.get(id(change), 0) for change in members]
        chain = chains.get(table)
        left_out = _left_out(chain, columns) if chain is not None and any(marks) else {}
        values = [
            [
                None if marks[row] & left_out.get(column, 0) else change.values[column]
                for row, change in enumerate(members)
            ]
            for column in columns
        ]
        groups.append(
            [
                table,
                op,
                list(columns),
                [change.row_id for change in members],
                [change.version for change in members],
                [change.origin for change in members],
                _optional([change.versions or None for change in members]),
                _optional([change.prior or None for change in members]),
                marks if left_out else None,
                *values,
            ]
        )
    return groups


def decode(data: Any, chains: Mapping[str, Chain], limit: int) -> list[Change]:
    """The changes of a columnar form, their derived values restored; ProtocolError for
    anything not exactly of the expected shape, or over `limit` changes."""
    _require(isinstance(data, list), "the changes must be a list of groups")
    changes: list[Change] = []
    marked: dict[str, tuple[list[Change], list[int]]] = {}
    for group in data:
        members, marks = _decode_group(group, chains, limit - len(changes))
        changes += members
        if members and members[0].table in chains:
            held, held_marks = marked.setdefault(members[0].table, ([], []))
            held += members
            held_marks += marks or [0] * len(members)
    for table, (members, marks) in marked.items():
        chains_.restore(chains[table], members, marks)
    return changes


def _decode_group(
    group: Any, chains: Mapping[str, Chain], room: int
) -> tuple[list[Change], list[int] | None]:
    _require(isinstance(group, list) and len(group) >= HEAD, "a group must be a list")
    table, op, columns, ids, versions, origins, column_versions, priors, marks, *values = group
    _require(isinstance(columns, list) and len(columns) == len(values), "bad group columns")
    _require(all(isinstance(column, str) for column in columns), "bad group columns")
    _require(len(set(columns)) == len(columns), "a group names a column twice")
    _require(isinstance(ids, list) and len(ids) <= room, "too many changes in one batch")
    count = len(ids)
    for items in (versions, origins, *values):
        _require(isinstance(items, list) and len(items) == count, "a group's lists differ")
    for items in (column_versions, priors, marks):
        _require(items is None or (isinstance(items, list) and len(items) == count), "bad group")
    members = [
        Change.from_wire(
            [
                table,
                ids[row],
                op,
                versions[row],
                {column: value[row] for column, value in zip(columns, values, strict=True)},
                column_versions[row] if column_versions else None,
                priors[row] if priors else None,
                origins[row],
            ]
        )
        for row in range(count)
    ]
    if marks is not None:
        _check_marks(chains.get(table), columns, members, marks)
    return members, marks


def _check_marks(
    chain: Chain | None, columns: list[str], members: list[Change], marks: list[Any]
) -> None:
    """Marks name only derivable columns the group carries, each sent empty."""
    if chain is None:
        raise ProtocolError("derived values on a table without a chain")
    left_out = _left_out(chain, tuple(columns))
    allowed = sum(left_out.values())
    for change, mark in zip(members, marks, strict=True):
        _require(type(mark) is int and mark in chains_.MARKS, "bad derivation mark")
        _require(mark & ~allowed == 0, "a derived value outside the group's columns")
        for column, bit in left_out.items():
            _require(not mark & bit or change.values[column] is None, "a derived value was sent")


def _groups(changes: Sequence[Change]) -> dict[Key, list[Change]]:
    groups: dict[Key, list[Change]] = {}
    for change in changes:
        groups.setdefault((change.table, change.op, tuple(change.values)), []).append(change)
    return groups


def _marks(changes: Sequence[Change], chains: Mapping[str, Chain]) -> dict[int, int]:
    """Each chained change's derivation mark, by the change's identity."""
    found: dict[int, int] = {}
    for table, chain in chains.items():
        members = [change for change in changes if change.table == table]
        for change, mark in zip(members, chains_.marks(chain, members), strict=True):
            found[id(change)] = mark
    return found


def _left_out(chain: Chain, columns: tuple[str, ...]) -> dict[str, int]:
    """The chain's derivable columns among `columns`, with their mark bits."""
    bits = {chain.link: chains_.LINK, chain.digest: chains_.DIGEST}
    return {column: bit for column, bit in bits.items() if column in columns}


def _optional(items: list[Any]) -> list[Any] | None:
    return items if any(item is not None for item in items) else None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProtocolError(message)
