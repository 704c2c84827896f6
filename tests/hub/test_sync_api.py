"""Invariant 12 and device trust across real HTTP: enrollment with a one-time token,
signed exchanges, and refusal of replayed, tampered, stale, unsigned, malformed and
revoked-device requests, none of which changes anything."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from bench.meter import serving
from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from hub.sync.routes import RETIRE_PATH
from sync import signing, wire
from sync.clock import wall_millis
from sync.protocol import Request, SnapshotAsk
from sync.snapshot import Position
from sync.transport import EXCHANGE_PATH, HubRefused
from tests.support import rows
from tests.support.identity import make_vehicle
from tests.support.sync import count, table_rows
from tests.support.tables import AUDIT_TABLES, row_counts


def token_for(hub_engine: Engine, vehicle_id: str) -> str:
    with new_session(hub_engine) as session, session.begin():
        return devices.issue_token(session, vehicle_id, None).token


@pytest.fixture
def enrolled(hub_app: Flask, hub_engine: Engine, edge_engine: Engine, tmp_path: Path) -> Any:
    """An edge enrolled over real HTTP with a running hub; yields (base_url, config)."""
    vehicle = make_vehicle(hub_engine, name="Clinic Enrolled")
    config = {
        "SECRETS_DIR": str(tmp_path / "edge-secrets"),
        "CLOCK_DRIFT_WARNING_SECONDS": 120,
        "SYNC_INTERVAL_SECONDS": 60,
    }
    with serving(hub_app) as base:
        edge_sync.enroll(
            edge_engine, Path(config["SECRETS_DIR"]), base, token_for(hub_engine, vehicle)
        )
        yield base, config, vehicle


def test_enroll_then_sync_over_http_with_a_signed_receipt(
    enrolled: Any, edge_engine: Engine, hub_engine: Engine
) -> None:
    base, config, vehicle = enrolled
    key_file = Path(config["SECRETS_DIR"]) / edge_sync.DEVICE_KEY
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with new_session(edge_engine) as session, session.begin():
        rows.patient(session, first_name="Over", last_name="Http")
    result = edge_sync.run(edge_engine, config)
    assert result.pushed == 1
    assert table_rows(hub_engine, "patient") == table_rows(edge_engine, "patient")
    assert [r["id"] for r in table_rows(edge_engine, "vehicle")] == [vehicle]
    state = edge_sync.status(edge_engine, config)
    assert state["synced"] and state["pending_changes"] == 0 and state["last_error"] is None
    assert state["clock_warning"] is None


def test_a_token_works_once(
    hub_app: Flask, hub_engine: Engine, edge_engine: Engine, tmp_path: Path
) -> None:
    vehicle = make_vehicle(hub_engine)
    token = token_for(hub_engine, vehicle)
    with serving(hub_app) as base:
        edge_sync.enroll(edge_engine, tmp_path / "one", base, token)
        with pytest.raises(Exception, match="already used"):
            edge_sync.enroll(edge_engine, tmp_path / "two", base, token)
    assert count(hub_engine, "SELECT count(*) FROM device") == 1


def signed(key: Any, device: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    headers = signing.sign_request(
        key, device, "POST", EXCHANGE_PATH, body, timestamp or wall_millis()
    )
    return {**headers.as_dict(), "Content-Type": wire.CONTENT_TYPE}


@pytest.fixture
def device(hub_engine: Engine, hub_client: Any) -> Any:
    """A device enrolled through the API with a key this test holds."""
    vehicle = make_vehicle(hub_engine)
    key = signing.new_private_key()
    response = hub_client.post(
        "/api/sync/enroll",
        json={
            "token": token_for(hub_engine, vehicle),
            "device_id": "d0000000000aa",
            "public_key": signing.public_key_text(key),
            "name": "test laptop",
        },
    )
    assert response.status_code == 201, response.json
    return key, "d0000000000aa"


def exchange_body(**extra: Any) -> bytes:
    return wire.pack(Request(None, 0, True, wall_millis(), **extra).to_wire())


def fixed(ask: SnapshotAsk | None) -> dict[str, Any]:
    """A request of fixed bytes (the same on every test worker)."""
    return Request(None, 0, False, 1, snapshot=ask).to_wire()


def fixed_body(ask: SnapshotAsk) -> bytes:
    return wire.pack(fixed(ask))


def test_a_signed_request_is_answered(hub_client: Any, device: Any) -> None:
    key, device_id = device
    body = exchange_body()
    response = hub_client.post(EXCHANGE_PATH, data=body, headers=signed(key, device_id, body))
    assert response.status_code == 200
    assert wire.unpack(response.data)["receipt"]["device"] == device_id
    name, _, took = response.headers["Server-Timing"].partition(";dur=")
    assert name == "exchange" and float(took) > 0  # the hub's own time to answer
    assert wire.unpack(response.data)["v"] == 2 and "columns" in wire.unpack(response.data)["pull"]


def test_a_laptop_of_protocol_version_1_is_answered_in_its_version(
    hub_client: Any, device: Any
) -> None:
    """Laptops are upgraded after the hub: until then they speak version 1 (rows)."""
    key, device_id = device
    body = exchange_body(version=1)
    response = hub_client.post(EXCHANGE_PATH, data=body, headers=signed(key, device_id, body))
    assert response.status_code == 200
    reply = wire.unpack(response.data)
    assert reply["v"] == 1 and "changes" in reply["pull"] and "columns" not in reply["pull"]


@pytest.mark.parametrize(
    "forge",
    [
        "replay",
        "tampered",
        "stale",
        "unsigned",
        "wrong_key",
        "unknown_device",
    ],
)
def test_forged_requests_are_refused_and_change_nothing(
    hub_client: Any, hub_engine: Engine, device: Any, forge: str
) -> None:
    key, device_id = device
    body = exchange_body()
    headers = signed(key, device_id, body)
    if forge == "replay":
        assert hub_client.post(EXCHANGE_PATH, data=body, headers=headers).status_code == 200
    before = row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES})
    if forge == "tampered":
        body = exchange_body(app_version="evil")
    elif forge == "stale":
        headers = signed(key, device_id, body, wall_millis() - 10 * 60 * 1000)
    elif forge == "unsigned":
        headers = {"Content-Type": wire.CONTENT_TYPE}
    elif forge == "wrong_key":
        headers = signed(signing.new_private_key(), device_id, body)
    elif forge == "unknown_device":
        headers = signed(key, "d0000000000ff", body)
    response = hub_client.post(EXCHANGE_PATH, data=body, headers=headers)
    assert response.status_code == 401, response.json
    assert response.json["success"] is False
    if forge == "stale":
        assert abs(response.json["details"]["hub_time"] - wall_millis()) < 60_000
    assert row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES}) == before


def test_a_revoked_device_is_refused_at_once(
    hub_client: Any, hub_engine: Engine, device: Any, hub_user: Callable[..., Any]
) -> None:
    key, device_id = device
    admin = hub_user("administrator")
    response = hub_client.post(f"/api/sync/devices/{device_id}/revoke", headers=admin.headers)
    assert response.status_code == 200
    body = exchange_body()
    refused = hub_client.post(EXCHANGE_PATH, data=body, headers=signed(key, device_id, body))
    assert refused.status_code == 403
    assert "revoked" in refused.json["error"]
    listed = hub_client.get("/api/sync/devices", headers=admin.headers).json["data"]
    assert [(d["id"], d["status"]) for d in listed] == [(device_id, "revoked")]


def test_a_device_retires_itself_with_a_signed_request(
    hub_client: Any, hub_engine: Engine, device: Any
) -> None:
    key, device_id = device
    before = row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES})
    unsigned = hub_client.post(RETIRE_PATH)
    other_path = hub_client.post(RETIRE_PATH, headers=signed(key, device_id, b""))
    assert (unsigned.status_code, other_path.status_code) == (401, 401)
    assert row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES}) == before
    headers = signing.sign_request(key, device_id, "POST", RETIRE_PATH, b"", wall_millis())
    response = hub_client.post(RETIRE_PATH, headers=headers.as_dict())
    assert response.status_code == 200, response.json
    assert response.json["data"] == {"id": device_id, "status": "retired"}
    body = exchange_body()
    refused = hub_client.post(EXCHANGE_PATH, data=body, headers=signed(key, device_id, body))
    assert refused.status_code == 403
    assert "retired" in refused.json["error"]
    elsewhere = make_vehicle(hub_engine)
    again = hub_client.post(
        "/api/sync/enroll",
        json={
            "token": token_for(hub_engine, elsewhere),
            "device_id": device_id,
            "public_key": signing.public_key_text(signing.new_private_key()),
            "name": "replacement laptop",
        },
    )
    assert again.status_code == 409  # a retired device comes back only for its own vehicle


def test_the_edge_reports_a_revoked_device_clearly(
    enrolled: Any, edge_engine: Engine, hub_engine: Engine
) -> None:
    _, config, _ = enrolled
    with hub_engine.begin() as connection:
        connection.execute(text("UPDATE device SET status = 'revoked'"))
    with pytest.raises(HubRefused, match="revoked"):
        edge_sync.run(edge_engine, config)
    assert "revoked" in edge_sync.status(edge_engine, config)["last_error"]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not zstd",
        wire.pack([1, 2, 3]),
        wire.pack({"v": 1, "cursor": -1, "pull": True, "sent_at": 1}),
        wire.pack({"v": 1, "cursor": 0, "pull": True, "sent_at": 1, "batch": {"id": "x"}}),
        wire.pack(
            {
                "v": 1,
                "cursor": 0,
                "pull": False,
                "sent_at": 1,
                "batch": {"id": "b" * 16, "after": 0, "last": 1, "changes": [["patient"]]},
            }
        ),
        wire.pack(
            {
                "v": 2,
                "cursor": 0,
                "pull": False,
                "sent_at": 1,
                "batch": {"id": "b" * 16, "after": 0, "last": 1, "columns": [["patient", "i"]]},
            }
        ),
        wire.pack(  # a derived hash on a table that has no chain
            {
                "v": 2,
                "cursor": 0,
                "pull": False,
                "sent_at": 1,
                "batch": {
                    "id": "b" * 16,
                    "after": 0,
                    "last": 1,
                    "columns": [
                        ["visit", "u", ["stage"], ["v1"], ["0" * 16 + "@x"], [None]]
                        + [None, None, [2], [None]]
                    ],
                },
            }
        ),
    ]
    + [
        fixed_body(SnapshotAsk(Position("sync_nonce", ""), 10)),
        fixed_body(SnapshotAsk(Position("audit_record", ""), 10)),
        wire.pack({**fixed(None), "snapshot": {"position": [None, ""]}}),
        wire.pack({**fixed(None), "snapshot": {"position": 7, "limit": 5}}),
    ]
    + [random.Random(n).randbytes(n) for n in (1, 64, 512)],
    ids=lambda payload: f"{len(payload)}-bytes",
)
def test_malformed_payloads_get_a_400_and_change_nothing(
    hub_client: Any, hub_engine: Engine, device: Any, payload: bytes
) -> None:
    key, device_id = device
    before = row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES})
    response = hub_client.post(EXCHANGE_PATH, data=payload, headers=signed(key, device_id, payload))
    assert response.status_code == 400, response.data[:200]
    assert "Malformed" in response.json["error"]
    assert row_counts(hub_engine, ignore={"sync_nonce", *AUDIT_TABLES}) == before


def test_head_office_issues_enrollment_tokens_over_the_api(
    hub_client: Any, hub_engine: Engine, hub_user: Callable[..., Any]
) -> None:
    admin = hub_user("administrator")
    vehicle = make_vehicle(hub_engine)
    issued = hub_client.post(
        f"/api/vehicles/{vehicle}/enrollment-tokens", json={"hours": 2}, headers=admin.headers
    )
    assert issued.status_code == 201
    token = issued.get_json()["data"]["token"]
    with hub_engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM enrollment_token")).scalar()
    assert token not in stored and len(stored) == 64  # only its hash is kept
    missing = hub_client.post(
        "/api/vehicles/nope/enrollment-tokens", json={}, headers=admin.headers
    )
    assert missing.status_code == 404
    too_long = hub_client.post(
        f"/api/vehicles/{vehicle}/enrollment-tokens", json={"hours": 10_000}, headers=admin.headers
    )
    assert too_long.status_code == 400
