"""Sandbox control under /admin, behind the admin key: what a test or a demo needs to
steer the scheme (member statuses, pay runs, faults) and to see what it holds."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.api import json_body, ok, paginated
from palmed import auth, claim, member, remittance, reversal, schemas, store
from palmed.state import db, state

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(auth.require_admin_key)


@bp.get("/claims")
def claims() -> Any:
    """Every claim the sandbox holds, oldest first (`?status=`, `?page=`, `?per_page=`)."""
    query = schemas.ClaimsQuery().load(request.args)
    items, total = claim.listing(db(), query["status"], query["page"], query["per_page"])
    return paginated(items, query["page"], query["per_page"], total)


@bp.get("/reversals")
def reversals() -> Any:
    """Every reversal the sandbox holds, oldest first (`?page=`, `?per_page=`)."""
    query = schemas.ReversalsQuery().load(request.args)
    items, total = reversal.listing(db(), query["page"], query["per_page"])
    return paginated(items, query["page"], query["per_page"], total)


@bp.post("/members/<member_number>/<dependant_code>/status")
def change_status(member_number: str, dependant_code: str) -> Any:
    """Suspend, reinstate or terminate a member; the change enters the feed."""
    key = schemas.member_key(member_number, dependant_code)
    body = schemas.StatusChange().load(json_body())
    change = member.change_status(
        db(),
        *key,
        body["status"],
        body["effective_date"] or store.today(),
        body["reason"],
    )
    return ok(change, f"Member is {body['status']} from {change['effective_date']}")


@bp.post("/pay-run")
def pay_run() -> Any:
    """Pay every accepted claim, and recover every paid claim reversed since, under one
    remittance (`paid_date` defaults to today)."""
    body = schemas.PayRun().load(json_body() if request.content_length else {})
    result = remittance.pay_run(db(), body["paid_date"] or store.today())
    return ok(
        result, "Nothing to pay" if result is None else f"Paid {len(result['claims'])} claim(s)"
    )


@bp.get("/faults")
def faults() -> Any:
    """The faults in force, with how often each has matched and fired."""
    return ok(state().faults.describe())


@bp.put("/faults")
def set_faults() -> Any:
    """Replace the faults in force (an empty `rules` list clears them)."""
    body = schemas.Faults().load(json_body())
    state().faults.replace(body["rules"], body["seed"])
    return ok(state().faults.describe(), f"{len(body['rules'])} fault rule(s) in force")


@bp.delete("/faults")
def clear_faults() -> Any:
    """Clear every fault."""
    state().faults.replace([], None)
    return ok(state().faults.describe(), "No faults in force")
