"""Change capture: database triggers that log every write of a synced table.

Triggers, not ORM events, so raw SQL cannot write around the change log: an update that
does not set a new `version`, a delete without a tombstone, or any change to an
append-only row is refused by the database itself. The same meaning is generated for
SQLite and MySQL/MariaDB. Column lists are read from the database, so a migration that
changes a table re-installs its triggers to match (`install(connection, [table])`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, inspect, text

from sync.policy import Policy, SyncSpec, sync_spec

ROW_COLUMNS = ("id", "origin_node", "version")
NODE_OFFSET = 18  # 1-based position of the node in `<16 hex>@<node>`
# Trigger DDL is built from model identifiers only; anything else is refused.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SUFFIXES = ("ai", "bu", "au", "bd", "ad")


@dataclass(frozen=True)
class _Target:
    name: str
    spec: SyncSpec
    columns: list[str]  # captured columns, as they exist in the database

    def scope_id(self, ref: str) -> str:
        column = self.spec.scope_column
        return f"{ref}.{column}" if column else "NULL"


def trigger_names(table_name: str) -> list[str]:
    return [f"sync_{table_name}_{suffix}" for suffix in _SUFFIXES]


def install(connection: Connection, tables: Iterable[Table]) -> None:
    """(Re)create the capture triggers of every synced table among `tables`."""
    existing = set(inspect(connection).get_table_names())
    for table in tables:
        spec = sync_spec(table)
        if spec is None or table.name not in existing:
            continue
        target = _target(connection, table, spec)
        for name in trigger_names(table.name):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in _ddl(connection.dialect.name, target):
            connection.execute(text(statement))


def uninstall(connection: Connection, tables: Iterable[Table]) -> None:
    for table in tables:
        for name in trigger_names(table.name):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def installed(connection: Connection) -> set[str]:
    """Names of the capture triggers present in the database."""
    if connection.dialect.name == "sqlite":
        query = (
            "SELECT name FROM sqlite_master "
            "WHERE type = 'trigger' AND name LIKE 'sync\\_%' ESCAPE '\\'"
        )
    else:
        query = (
            "SELECT trigger_name FROM information_schema.triggers "
            "WHERE trigger_schema = DATABASE() AND trigger_name LIKE 'sync\\_%'"
        )
    return {row[0] for row in connection.execute(text(query))}


@contextlib.contextmanager
def unlogged_inserts(connection: Connection, table: Table) -> Iterator[None]:
    """Inserts into `table` inside this block are not logged in `sync_change` (SQLite).

    For a starting snapshot: its rows come from the hub, and an edge reads its log only
    for its own node's changes (what to push, held union columns, where its clock
    resumes), so logging them under the hub's node costs as much as inserting the rows
    and is never read. The block runs in a savepoint of the caller's transaction that
    drops the insert trigger and re-creates it from its stored text before the
    savepoint is released, or rolls both back with everything else: SQLite has one
    writer at a time and DDL is transactional, so no other connection ever sees the
    table without its trigger and raw SQL cannot write around the log. Updates and
    deletes are captured as ever. On MySQL, where DDL commits at once, the inserts are
    logged as usual.
    """
    with connection.begin_nested():
        if connection.dialect.name != "sqlite":
            yield
            return
        name = f"sync_{table.name}_ai"
        ddl = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": name},
        ).scalar()
        if ddl is None:
            raise RuntimeError(f"{table.name} has no capture trigger (clinic-edge migrate)")
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield
        connection.exec_driver_sql(ddl)


@functools.cache
def captured_columns(table: Table) -> tuple[str, ...]:
    """Columns whose changes travel: everything but the row identity and local columns.
    Cached: reading a table's columns costs ~0.1 ms, and every change sent or applied
    asks."""
    spec = sync_spec(table)
    local = set(spec.local_columns) if spec else set()
    names = (c.name for c in table.columns)
    return tuple(name for name in names if name not in ROW_COLUMNS and name not in local)


def _target(connection: Connection, table: Table, spec: SyncSpec) -> _Target:
    in_db = {column["name"] for column in inspect(connection).get_columns(table.name)}
    columns = [c for c in captured_columns(table) if c in in_db]
    for name in [table.name, *columns, *(c for c in [spec.scope_column] if c)]:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"refusing to generate a trigger for identifier {name!r}")
    return _Target(table.name, spec, columns)


def _ddl(dialect: str, target: _Target) -> list[str]:
    if dialect == "sqlite":
        return _sqlite(target)
    if dialect in ("mysql", "mariadb"):
        return _mysql(target)
    raise ValueError(f"change capture does not support {dialect}")


def _scope_kind(target: _Target) -> str:
    return f"'{target.spec.scope.value}'"


def _append_only(target: _Target) -> bool:
    return target.spec.policy is Policy.APPEND_ONLY


# ---------------------------------------------------------------- SQLite


def _sqlite(t: _Target) -> list[str]:
    insert_change = (
        "INSERT INTO sync_change (table_name, row_id, op, columns, prior, version, node, "
        "scope_kind, scope_id)"
    )
    statements = [
        f"""CREATE TRIGGER sync_{t.name}_ai AFTER INSERT ON "{t.name}" BEGIN
  {insert_change}
  VALUES ('{t.name}', NEW.id, 'i', NULL, NULL, NEW.version, substr(NEW.version, {NODE_OFFSET}),
          {_scope_kind(t)}, {t.scope_id("NEW")});
END"""
    ]
    if _append_only(t):
        refuse = f"SELECT RAISE(ABORT, 'sync: {t.name} is append-only'); END"
        statements += [
            f'CREATE TRIGGER sync_{t.name}_bu BEFORE UPDATE ON "{t.name}" BEGIN {refuse}',
            f'CREATE TRIGGER sync_{t.name}_bd BEFORE DELETE ON "{t.name}" BEGIN {refuse}',
        ]
        return statements
    changed = ", ".join(
        f'\'{c}\', CASE WHEN OLD."{c}" IS NOT NEW."{c}" THEN NEW.version END' for c in t.columns
    )
    patch = f"(SELECT json_patch('{{}}', json_object({changed})) AS cols)"
    prior = "NULL"
    if t.spec.union_columns:
        priors = ", ".join(
            f'\'{c}\', CASE WHEN OLD."{c}" IS NOT NEW."{c}" THEN OLD."{c}" END'
            for c in t.spec.union_columns
        )
        prior = f"nullif(json_patch('{{}}', json_object({priors})), '{{}}')"
    statements += [
        f"""CREATE TRIGGER sync_{t.name}_bu BEFORE UPDATE ON "{t.name}" BEGIN
  SELECT RAISE(ABORT, 'sync: {t.name} written without a new version')
  WHERE NEW.version IS OLD.version OR NEW.version IS NULL;
  SELECT RAISE(ABORT, 'sync: {t.name} row identity cannot change')
  WHERE NEW.id IS NOT OLD.id OR NEW.origin_node IS NOT OLD.origin_node;
END""",
        f"""CREATE TRIGGER sync_{t.name}_au AFTER UPDATE ON "{t.name}" BEGIN
  {insert_change}
  SELECT '{t.name}', NEW.id, 'u', p.cols, {prior}, NEW.version,
         substr(NEW.version, {NODE_OFFSET}), {_scope_kind(t)}, {t.scope_id("NEW")}
  FROM {patch} AS p WHERE p.cols <> '{{}}';
  INSERT INTO sync_clock (table_name, row_id, base, clocks, deleted)
  SELECT '{t.name}', NEW.id, OLD.version, p.cols, NULL FROM {patch} AS p WHERE p.cols <> '{{}}'
  ON CONFLICT (table_name, row_id)
  DO UPDATE SET clocks = json_patch(sync_clock.clocks, excluded.clocks);
END""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
        f"""CREATE TRIGGER sync_{t.name}_bd BEFORE DELETE ON "{t.name}" BEGIN
  SELECT RAISE(ABORT, 'sync: delete {t.name} rows through sync.capture.delete_row')
  WHERE NOT EXISTS (SELECT 1 FROM sync_clock WHERE table_name = '{t.name}' AND row_id = OLD.id
                    AND deleted IS NOT NULL);
END""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
        f"""CREATE TRIGGER sync_{t.name}_ad AFTER DELETE ON "{t.name}" BEGIN
  {insert_change}
  SELECT '{t.name}', OLD.id, 'd', NULL, NULL, c.deleted, substr(c.deleted, {NODE_OFFSET}),
         {_scope_kind(t)}, {t.scope_id("OLD")}
  FROM sync_clock AS c WHERE c.table_name = '{t.name}' AND c.row_id = OLD.id;
END""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
    ]
    return statements


# ---------------------------------------------------------------- MySQL / MariaDB


def _signal(message: str) -> str:
    return f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{message}'"


def _mysql(t: _Target) -> list[str]:
    insert_change = (
        "INSERT INTO sync_change (table_name, row_id, op, columns, prior, version, node, "
        "scope_kind, scope_id, tx)"
    )
    statements = [
        f"""CREATE TRIGGER sync_{t.name}_ai AFTER INSERT ON `{t.name}` FOR EACH ROW
{insert_change}
VALUES ('{t.name}', NEW.id, 'i', NULL, NULL, NEW.version, SUBSTRING(NEW.version, {NODE_OFFSET}),
        {_scope_kind(t)}, {t.scope_id("NEW")}, CONNECTION_ID())"""
    ]
    if _append_only(t):
        refuse = _signal(f"sync: {t.name} is append-only")
        statements += [
            f"CREATE TRIGGER sync_{t.name}_bu BEFORE UPDATE ON `{t.name}` FOR EACH ROW {refuse}",
            f"CREATE TRIGGER sync_{t.name}_bd BEFORE DELETE ON `{t.name}` FOR EACH ROW {refuse}",
        ]
        return statements
    same = "BINARY OLD.`{c}` <=> BINARY NEW.`{c}`"  # byte-exact: 'smith' -> 'Smith' is a change
    changed = ", ".join(f"'{c}', IF({same.format(c=c)}, NULL, NEW.version)" for c in t.columns)
    prior = "NULL"
    if t.spec.union_columns:
        priors = ", ".join(
            f"'{c}', IF({same.format(c=c)}, NULL, OLD.`{c}`)" for c in t.spec.union_columns
        )
        prior = f"JSON_MERGE_PATCH('{{}}', JSON_OBJECT({priors}))"
    statements += [
        f"""CREATE TRIGGER sync_{t.name}_bu BEFORE UPDATE ON `{t.name}` FOR EACH ROW
BEGIN
  IF NEW.version IS NULL OR NEW.version <=> OLD.version THEN
    {_signal(f"sync: {t.name} written without a new version")};
  END IF;
  IF NOT (NEW.id <=> OLD.id) OR NOT (NEW.origin_node <=> OLD.origin_node) THEN
    {_signal(f"sync: {t.name} row identity cannot change")};
  END IF;
END""",
        f"""CREATE TRIGGER sync_{t.name}_au AFTER UPDATE ON `{t.name}` FOR EACH ROW
BEGIN
  DECLARE cols LONGTEXT;
  DECLARE prior LONGTEXT;
  SET cols = JSON_MERGE_PATCH('{{}}', JSON_OBJECT({changed}));
  SET prior = {prior};
  IF JSON_LENGTH(prior) = 0 THEN SET prior = NULL; END IF;
  IF JSON_LENGTH(cols) > 0 THEN
    {insert_change}
    VALUES ('{t.name}', NEW.id, 'u', cols, prior, NEW.version,
            SUBSTRING(NEW.version, {NODE_OFFSET}), {_scope_kind(t)}, {t.scope_id("NEW")},
            CONNECTION_ID());
    INSERT INTO sync_clock (table_name, row_id, base, clocks, deleted)
    VALUES ('{t.name}', NEW.id, OLD.version, cols, NULL)
    ON DUPLICATE KEY UPDATE clocks = JSON_MERGE_PATCH(clocks, VALUES(clocks));
  END IF;
END""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
        f"""CREATE TRIGGER sync_{t.name}_bd BEFORE DELETE ON `{t.name}` FOR EACH ROW
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sync_clock WHERE table_name = '{t.name}' AND row_id = OLD.id
                 AND deleted IS NOT NULL) THEN
    {_signal(f"sync: delete {t.name} rows through sync.capture.delete_row")};
  END IF;
END""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
        f"""CREATE TRIGGER sync_{t.name}_ad AFTER DELETE ON `{t.name}` FOR EACH ROW
{insert_change}
SELECT '{t.name}', OLD.id, 'd', NULL, NULL, c.deleted, SUBSTRING(c.deleted, {NODE_OFFSET}),
       {_scope_kind(t)}, {t.scope_id("OLD")}, CONNECTION_ID()
FROM sync_clock AS c WHERE c.table_name = '{t.name}' AND c.row_id = OLD.id""",  # nosec B608 - identifiers checked against ^[a-z_][a-z0-9_]*$
    ]
    return statements


def log_rewrite(
    connection: Connection, table: Table, row: Any, columns: list[str], version: str
) -> None:
    """Log columns rewritten with their unchanged values under a new version. The triggers
    log only changed values; a merge that keeps this node's value must still reach the
    node whose value differs (the hub's three-way merge of union columns)."""
    spec = sync_spec(table)
    if spec is None:
        raise ValueError(f"{table.name} is not synced")
    scope_id = getattr(row, spec.scope_column) if spec.scope_column else None
    tx = "CONNECTION_ID()" if connection.dialect.name != "sqlite" else "NULL"
    connection.execute(
        text(
            "INSERT INTO sync_change (table_name, row_id, op, columns, prior, version, node, "  # noqa: S608  # nosec B608 - fixed columns, values bound
            f"scope_kind, scope_id, tx) VALUES (:t, :r, 'u', :c, NULL, :v, :n, :k, :s, {tx})"
        ),
        {
            "t": table.name,
            "r": row.id,
            "c": json.dumps(dict.fromkeys(columns, version)),
            "v": version,
            "n": version.partition("@")[2],
            "k": spec.scope.value,
            "s": scope_id,
        },
    )


def delete_row(connection: Connection, table: Table, row_id: str, version: str) -> None:
    """Delete a synced row the only way the triggers allow: tombstone first, then delete."""
    record_tombstone(connection, table.name, row_id, version)
    connection.execute(table.delete().where(table.c.id == row_id))


def record_tombstone(connection: Connection, table_name: str, row_id: str, version: str) -> None:
    updated = connection.execute(
        text("UPDATE sync_clock SET deleted = :v WHERE table_name = :t AND row_id = :r"),
        {"v": version, "t": table_name, "r": row_id},
    )
    if updated.rowcount == 0:
        connection.execute(
            text(
                "INSERT INTO sync_clock (table_name, row_id, base, clocks, deleted) "
                "VALUES (:t, :r, NULL, '{}', :v)"
            ),
            {"v": version, "t": table_name, "r": row_id},
        )
