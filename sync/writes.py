"""How an applier reads the rows it changes and writes them: one change at a time, or a
whole batch in a few statements.

A batch from a peer holds at most one change per row (`sync.change.materialize`), so its
rows can be read up front and its inserts and updates sent as one `executemany` per
table and column set: a few round trips to the database for a batch of a thousand
changes instead of several per change. The decisions (who wins, what is refused) are the
applier's and the same either way; only the reading and writing differ here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select, text, update

from sync.change import load_rows

_UPSERT = (
    "INSERT INTO sync_clock (table_name, row_id, base, clocks, deleted) "
    "VALUES (:t, :r, :b, :c, :d) "
)
# Column versions merge into what is there: the update trigger has already logged the
# changed columns at the row's new version, and these are each column's own.
_MERGE = {
    "sqlite": "ON CONFLICT (table_name, row_id) "
    "DO UPDATE SET clocks = json_patch(coalesce(sync_clock.clocks, '{}'), excluded.clocks)",
    "mysql": "ON DUPLICATE KEY UPDATE clocks = JSON_MERGE_PATCH(COALESCE(clocks, '{}'), "
    "VALUES(clocks))",
}


def clock_upsert(connection: Connection) -> Any:
    dialect = "sqlite" if connection.dialect.name == "sqlite" else "mysql"
    return text(_UPSERT + _MERGE[dialect])


def clock_params(table_name: str, row_id: str, base: str, versions: Mapping[str, str]) -> dict:
    return {"t": table_name, "r": row_id, "b": base, "c": json.dumps(dict(versions)), "d": None}


class LiveWrites:
    """Each row read (locked) as its change is applied, each write sent at once."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def row(self, table: Table, row_id: str) -> Any:
        return self.connection.execute(
            select(table).where(table.c.id == row_id).with_for_update()
        ).first()

    def clock(self, table: Table, row_id: str) -> Any:
        return self.connection.execute(
            text(
                "SELECT row_id, base, clocks, deleted FROM sync_clock "
                "WHERE table_name = :t AND row_id = :r"
            ),
            {"t": table.name, "r": row_id},
        ).first()

    def insert(self, table: Table, values: Mapping[str, Any]) -> None:
        self.connection.execute(insert(table).values(**values))

    def update(self, table: Table, row_id: str, values: Mapping[str, Any]) -> None:
        self.connection.execute(update(table).where(table.c.id == row_id).values(**values))

    def set_clocks(self, table: Table, row_id: str, base: str, versions: Mapping[str, str]) -> None:
        params = clock_params(table.name, row_id, base, versions)
        self.connection.execute(clock_upsert(self.connection), params)

    def flush(self) -> None:
        """Nothing is held back."""


class BatchedWrites(LiveWrites):
    """A batch's rows read (locked) in one query per table, its writes held back and sent
    by `flush` as one statement per table and column set: per table, inserts, then
    updates, then column versions (after the update trigger has written its own)."""

    def __init__(
        self, connection: Connection, tables: Iterable[Table], ids: Mapping[str, Sequence[str]]
    ) -> None:
        super().__init__(connection)
        self._rows: dict[str, dict[str, Any]] = {}
        self._clocks: dict[str, dict[str, Any]] = {}
        for table in tables:
            rows, clocks = load_rows(connection, table, sorted(ids.get(table.name, ())), lock=True)
            self._rows[table.name], self._clocks[table.name] = rows, clocks
        self._inserts: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._updates: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
        self._clock_rows: dict[str, list[dict[str, Any]]] = {}
        self._tables: dict[str, Table] = {}
        self._updated: set[tuple[str, str]] = set()

    def row(self, table: Table, row_id: str) -> Any:
        return self._rows[table.name].get(row_id)

    def clock(self, table: Table, row_id: str) -> Any:
        return self._clocks[table.name].get(row_id)

    def insert(self, table: Table, values: Mapping[str, Any]) -> None:
        self._tables.setdefault(table.name, table)
        self._inserts.setdefault((table.name, tuple(values)), []).append(dict(values))

    def update(self, table: Table, row_id: str, values: Mapping[str, Any]) -> None:
        if (table.name, row_id) in self._updated:
            self.flush()  # a second write of the row (a merge after its winners) goes after
        self._updated.add((table.name, row_id))
        self._tables.setdefault(table.name, table)
        params = {f"b_{column}": value for column, value in values.items()}
        params["b_id"] = row_id
        self._updates.setdefault((table.name, tuple(values)), []).append(params)

    def set_clocks(self, table: Table, row_id: str, base: str, versions: Mapping[str, str]) -> None:
        self._tables.setdefault(table.name, table)
        params = clock_params(table.name, row_id, base, versions)
        self._clock_rows.setdefault(table.name, []).append(params)

    def flush(self) -> None:
        for name, table in self._tables.items():
            for (table_name, _), rows in self._inserts.items():
                if table_name == name:
                    self.connection.execute(insert(table), rows)
            for (table_name, columns), rows in self._updates.items():
                if table_name == name:
                    statement = (
                        update(table)
                        .where(table.c.id == bindparam("b_id"))
                        .values({column: bindparam(f"b_{column}") for column in columns})
                    )
                    self.connection.execute(statement, rows)
            if name in self._clock_rows:
                self.connection.execute(clock_upsert(self.connection), self._clock_rows[name])
        self._inserts.clear()
        self._updates.clear()
        self._clock_rows.clear()
        self._tables.clear()
        self._updated.clear()
