"""`palmed-sandbox` commands on a real database file, and start-up options of `serve`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from palmed import catalogue, claim, member, schemas, store
from palmed.cli import main
from tests.palmed.conftest import ACTIVE, HEADER, TODAY, write_roster
from tests.support.palmed import Sandbox, claim_request


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.db"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_seed_loads_a_roster_once(database: Path, tmp_path: Path) -> None:
    roster = str(write_roster(tmp_path))
    assert run("seed", "--db", str(database), "--roster", roster) == (
        0,
        "Roster: 5 member row(s), 7 status change(s)\n",
    )
    assert run("seed", "--db", str(database), "--roster", roster)[1].endswith(
        "0 status change(s)\n"
    )
    with store.opened(database) as connection:
        assert member.lookup(connection, *ACTIVE, TODAY)["first_name"] == "Bongani"
        assert member.changes_since(connection, "0", 500)["next_cursor"] == "7"


def test_seed_loads_the_demo_roster(database: Path) -> None:
    assert run("seed", "--db", str(database), "--demo")[1].startswith("Roster: 24 member row(s)")


def test_a_roster_with_bad_rows_loads_nothing(database: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\n"
        "900000001,00,Bongani,Zulu,1980-03-14,principal,active,,2015-01-01,\n"
        "900000002,00,Kobus,Venter,14/03/1980,principal,active,,2015-01-01,\n"
        "900000003,00,Lerato,Venter,1980-03-14,principal,asleep,,2015-01-01,\n"
        "900000004,00,Sizwe,Venter,1980-03-14,principal,active,,2015-01-01,2014-01-01\n"
    )
    code, output = run("seed", "--db", str(database), "--roster", str(bad))
    assert code == 1
    assert "3 invalid row(s)" in output
    assert "'line 3': {'date_of_birth'" in output
    assert "'line 4': {'status'" in output
    assert "'line 5': {'effective_to'" in output
    with store.opened(database) as connection:
        assert connection.execute("SELECT count(*) FROM member").fetchone()[0] == 0


def test_seed_needs_a_roster(database: Path) -> None:
    code, output = run("seed", "--db", str(database))
    assert code == 2
    assert "--roster" in output


def test_member_status_changes_a_member(database: Path, tmp_path: Path) -> None:
    run("seed", "--db", str(database), "--roster", str(write_roster(tmp_path)))
    yesterday = TODAY - dt.timedelta(days=1)
    code, output = run(
        "member-status", "--db", str(database), *ACTIVE, "terminated",
        "--effective-date", yesterday.isoformat(), "--reason", "resigned",
    )  # fmt: skip
    assert code == 0, output
    assert "(change 8)" in output
    with store.opened(database) as connection:
        assert member.lookup(connection, *ACTIVE, TODAY)["status"] == "terminated"
    unknown = run("member-status", "--db", str(database), "999999999", "00", "active")
    assert unknown[0] == 1
    assert "No member 999999999" in unknown[1]


def test_pay_run_pays_accepted_claims(database: Path, tmp_path: Path) -> None:
    run("seed", "--db", str(database), "--roster", str(write_roster(tmp_path)))
    assert run("pay-run", "--db", str(database)) == (0, "Nothing to pay\n")
    body = schemas.Claim().load(claim_request(*ACTIVE).to_json())
    with store.opened(database) as connection:
        made, _ = claim.submit(connection, "key-cli-pay-run1", body, catalogue.load(), TODAY)
    code, output = run("pay-run", "--db", str(database), "--paid-date", "2026-01-31")
    assert code == 0
    assert output.startswith("Remittance RA20260131-") and "1 claim(s), R 527.00" in output
    with store.opened(database) as connection:
        assert claim.get(connection, made["claim_id"])["remittance"]["paid_date"] == "2026-01-31"


def test_serve_refuses_a_bad_fault_file(database: Path, tmp_path: Path) -> None:
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"rules": [{"kind": "explode"}]}))
    code, output = run("serve", "--db", str(database), "--faults", str(plan))
    assert code == 1
    assert "not a valid fault plan" in output


def test_serve_generates_and_prints_keys_when_none_are_given(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path / "s.db", tmp_path / "s.log", api_key="", admin_key="")
    sandbox.start()
    try:
        assert sandbox.api_key and sandbox.admin_key and sandbox.api_key != sandbox.admin_key
        assert sandbox.request("GET", "/v1/members/110234561/00").status_code == 200
        assert sandbox.admin("GET", "/faults") == {"seed": None, "rules": []}
    finally:
        sandbox.stop()


def test_serve_reset_starts_empty(palmed_sandbox: Sandbox) -> None:
    with palmed_sandbox.client() as client:
        client.submit_claim(claim_request(), "key-before-reset")
    palmed_sandbox.stop()
    palmed_sandbox.start("--reset")
    assert palmed_sandbox.claims() == []
    assert palmed_sandbox.request("GET", "/v1/members/110234561/00").status_code == 200
