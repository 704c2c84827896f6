"""A sandbox per test over a small roster whose dates are relative to today, so every
rule can be shown on both sides of its line whatever the date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hub.claims.palmed import PalmedClient
from tests.support.palmed import Sandbox

TODAY = dt.date.today()
ACTIVE = ("900000001", "00")
SPOUSE = ("900000001", "01")
SUSPENDED = ("900000002", "00")  # active until ten days ago, suspended since
TERMINATED = ("900000003", "00")  # cover ended thirty days ago
NOT_YET = ("900000004", "00")  # joins in thirty days


def _days(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


HEADER = (
    "member_number,dependant_code,first_name,last_name,date_of_birth,relationship,"
    "status,status_date,effective_from,effective_to"
)
ROSTER = f"""{HEADER}
900000001,00,Bongani,Zulu,1980-03-14,principal,active,,2015-01-01,
900000001,01,Thandi,Zulu,1983-07-02,spouse,active,,2016-05-01,
900000002,00,Kobus,Venter,1975-11-20,principal,suspended,{_days(-10)},2010-02-01,
900000003,00,Refilwe,Moloi,1969-08-08,principal,terminated,{_days(-29)},2001-06-01,{_days(-30)}
900000004,00,Sizwe,Ngubane,1999-01-30,principal,active,,{_days(30)},
"""


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    return write_roster(tmp_path)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with started(tmp_path) as running:
        yield running


def write_roster(directory: Path) -> Path:
    path = directory / "roster.csv"
    path.write_text(ROSTER)
    return path


@contextmanager
def started(directory: Path) -> Iterator[Sandbox]:
    """A sandbox over this module's roster, with its files in `directory`."""
    running = Sandbox(
        directory / "palmed" / "sandbox.db",
        directory / "palmed" / "sandbox.log",
        args=("--roster", str(write_roster(directory))),
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[PalmedClient]:
    with sandbox.client() as palmed:
        yield palmed
