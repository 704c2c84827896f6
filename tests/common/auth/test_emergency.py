"""Emergency accounts (`clinic-edge create-admin`): made on a laptop, they sign in on that
laptop only, without a vehicle assignment, and never at head office nor on another
laptop, whatever a laptop sends the hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from common.auth.service import LAPTOP_ACCOUNT
from common.node import HUB_NODE_ID
from tests.common.auth.test_login import login
from tests.support.identity import Staff, bearer


def test_a_laptops_own_account_signs_in_there_without_an_assignment(
    edge_client: Any, edge_user: Callable[..., Staff]
) -> None:
    own = edge_user("administrator", assigned=False)
    response = login(edge_client, own.username, own.password)
    assert response.status_code == 200, response.get_json()


def test_another_laptops_account_does_not_sign_in_here(
    edge_client: Any, edge_user: Callable[..., Staff]
) -> None:
    twin = edge_user("administrator", assigned=False, made_on="d0000000twin0")
    response = login(edge_client, twin.username, twin.password)
    assert response.status_code == 403
    assert "not assigned to this vehicle" in response.get_json()["error"]
    head_office = edge_user("nurse", assigned=False, made_on=HUB_NODE_ID)
    assert login(edge_client, head_office.username, head_office.password).status_code == 403


def test_a_laptops_account_never_signs_in_at_head_office(
    hub_app: Flask, hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    """The hub holds the account (it arrived by sync, as an emergency account of its
    vehicle), yet neither its password nor a token made for it opens the hub."""
    laptop_made = hub_user("administrator", made_on="d000000000aa")
    response = login(hub_client, laptop_made.username, laptop_made.password)
    assert response.status_code == 403
    assert response.get_json()["error"] == LAPTOP_ACCOUNT
    token = bearer(hub_app, laptop_made.id)
    assert hub_client.get("/api/users", headers=token).status_code == 401
    head = hub_user("administrator")
    assert login(hub_client, head.username, head.password).status_code == 200
