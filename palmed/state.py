"""What a request reaches: the database file, the code lists and the fault plan."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask import current_app, g

from palmed import store
from palmed.catalogue import Catalogue
from palmed.fault import FaultPlan


@dataclass(frozen=True)
class State:
    database: str
    codes: Catalogue
    faults: FaultPlan


def state() -> State:
    found: State = current_app.extensions["palmed"]
    return found


def db() -> sqlite3.Connection:
    """This request's connection, opened on first use and closed at teardown."""
    if "palmed_db" not in g:
        g.palmed_db = store.connect(state().database)
    connection: sqlite3.Connection = g.palmed_db
    return connection


def close_db(_error: BaseException | None) -> None:
    connection = g.pop("palmed_db", None)
    if connection is not None:
        connection.close()
