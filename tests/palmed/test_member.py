"""Roster, member lookup and the changed-since feed, over HTTP against the real sandbox."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.claims.palmed import NotFound, PalmedClient
from tests.palmed.conftest import ACTIVE, NOT_YET, SPOUSE, SUSPENDED, TERMINATED, TODAY
from tests.support.palmed import Sandbox


def test_seeded_members_are_looked_up_with_their_status_today(client: PalmedClient) -> None:
    spouse = client.member(*SPOUSE)
    assert spouse.member.first_name == "Thandi"
    assert spouse.member.relationship == "spouse"
    assert spouse.member.date_of_birth == dt.date(1983, 7, 2)
    assert (spouse.on, spouse.status, spouse.eligible) == (TODAY, "active", True)


@pytest.mark.parametrize(
    ("member", "days", "status", "eligible"),
    [
        (SUSPENDED, -11, "active", True),  # the day before the suspension
        (SUSPENDED, -10, "suspended", False),
        (TERMINATED, -31, "active", True),  # last days of cover
        (TERMINATED, -5, "terminated", False),
        (NOT_YET, 0, None, False),  # not a member yet
        (NOT_YET, 30, "active", True),
    ],
)
def test_status_and_eligibility_on_a_date(
    client: PalmedClient, member: tuple[str, str], days: int, status: str | None, eligible: bool
) -> None:
    standing = client.member(*member, on=TODAY + dt.timedelta(days=days))
    assert (standing.status, standing.eligible) == (status, eligible)


def test_an_unknown_member_is_not_found(client: PalmedClient) -> None:
    with pytest.raises(NotFound) as raised:
        client.member("999999999", "00")
    assert raised.value.status == 404


def test_the_feed_pages_through_every_change_once(client: PalmedClient) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        page = client.member_changes(since=cursor, limit=2)
        seen += [change.sequence for change in page.changes]
        cursor, pages = page.next_cursor, pages + 1
        if not page.has_more:
            break
    # five members; the suspended and terminated ones were active first: seven changes
    assert seen == sorted(set(seen)) and len(seen) == 7
    assert pages == 4
    assert client.member_changes(since=cursor).changes == ()
    assert client.member_changes(since=cursor).next_cursor == cursor


def test_a_status_change_appears_in_the_feed_after_the_cursor(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    cursor = client.member_changes(limit=500).next_cursor
    change = sandbox.admin(
        "POST",
        f"/members/{ACTIVE[0]}/{ACTIVE[1]}/status",
        {"status": "suspended", "reason": "arrears"},
    )
    assert change["effective_date"] == TODAY.isoformat()
    page = client.member_changes(since=cursor)
    assert [(c.member.member_number, c.status, c.reason) for c in page.changes] == [
        (ACTIVE[0], "suspended", "arrears")
    ]
    assert page.changes[0].effective_date == TODAY
    assert client.member(*ACTIVE).eligible is False
    assert client.member(*ACTIVE, on=TODAY - dt.timedelta(days=1)).eligible is True
    sandbox.admin("POST", f"/members/{ACTIVE[0]}/{ACTIVE[1]}/status", {"status": "active"})
    assert client.member(*ACTIVE).eligible is True
    assert len(client.member_changes(since=cursor).changes) == 2


def test_a_status_change_for_an_unknown_member_is_refused_and_not_in_the_feed(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    before = client.member_changes(limit=500).next_cursor
    response = sandbox.request(
        "POST",
        "/admin/members/999999999/00/status",
        key=sandbox.admin_key,
        json={"status": "active"},
    )
    assert response.status_code == 404
    assert client.member_changes(since=before).changes == ()


def test_the_demo_roster_is_served(palmed_sandbox: Sandbox) -> None:
    with palmed_sandbox.client() as client:
        sipho = client.member("110234561", "00")
        themba = client.member("110743906", "00", on=dt.date(2025, 10, 1))
        changes = client.member_changes(limit=500)
    assert (sipho.member.last_name, sipho.eligible) == ("Dlamini", True)
    assert (themba.status, themba.eligible) == ("suspended", False)
    assert len({(c.member.member_number, c.member.dependant_code) for c in changes.changes}) == 24
