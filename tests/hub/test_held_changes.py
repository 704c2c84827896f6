"""A change the hub held back is never left for ever without a way out: it applies by
itself once its cause is gone (a retry with the device's next batch), or head office
applies it now ("retry") or decides it is not to be applied ("dismiss"), from the
conflicts page or the API. Either way the vehicle's count of its changes waiting goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.database import new_session
from schema.base import new_id
from schema.models import Item
from sync.clock import HybridLogicalClock
from sync.hub import Device
from tests.support.identity import Staff
from tests.support.sync import Net, count
from tests.sync.test_apply import line_change, push, request_change


def test_head_office_applies_or_dismisses_what_is_held(
    sync_net: Callable[[], Net], hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    net = sync_net()
    a = net.edge("A")
    device = Device(a.node, a.vehicle_id)
    clock = HybridLogicalClock(a.node)
    parent = request_change(clock, a.vehicle_id)
    orphan = line_change(clock, a.vehicle_id, parent.row_id)  # its item is not here yet
    forged = request_change(clock, new_id())  # another vehicle's: refused for good
    assert len(push(net, device, parent, orphan, forged)) == 2
    admin = hub_user("administrator")
    listed = hub_client.get("/api/sync/quarantine", headers=admin.headers).get_json()["data"]
    held = {row["row_id"]: row for row in listed}
    waiting, refused = held[orphan.row_id], held[forged.row_id]
    assert (waiting["final"], refused["final"]) == (False, True)

    still = hub_client.post(f"/api/sync/quarantine/{waiting['id']}/retry", headers=admin.headers)
    assert still.status_code == 200 and still.get_json()["data"]["resolved_at"] is None
    assert still.get_json()["message"].startswith("Still held: the database refused it")
    with new_session(net.hub_engine) as session, session.begin():  # the item arrives
        session.add(Item(id=orphan.values["item_id"], name="Gauze", kind="consumable", unit="roll"))
    # the device's next batch would retry the line; head office need not wait
    done = hub_client.post(f"/api/sync/quarantine/{waiting['id']}/retry", headers=admin.headers)
    assert done.status_code == 200 and done.get_json()["data"]["resolved_at"] is not None
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request_line") == 1

    gone = hub_client.post(f"/api/sync/quarantine/{refused['id']}/dismiss", headers=admin.headers)
    assert gone.status_code == 200 and gone.get_json()["data"]["resolved_by"] == admin.id
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 1
    again = hub_client.post(f"/api/sync/quarantine/{refused['id']}/dismiss", headers=admin.headers)
    assert again.status_code == 409
    open_rows = "SELECT count(*) FROM sync_quarantine WHERE resolved_at IS NULL"
    assert count(net.hub_engine, open_rows) == 0
    viewer = hub_user("technician")  # may read the list, not decide
    refused_call = hub_client.post(
        f"/api/sync/quarantine/{refused['id']}/dismiss", headers=viewer.headers
    )
    assert refused_call.status_code == 403
