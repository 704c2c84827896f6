"""The scheme API under /v1: member lookup, the member change feed, claims. Every route
needs the scheme API key; routes validate input and call one service function."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.api import created, json_body, ok
from palmed import auth, claim, member, reversal, schemas, store
from palmed.state import db, state

bp = Blueprint("scheme", __name__, url_prefix="/v1")
bp.before_request(auth.require_api_key)


@bp.get("/members/<member_number>/<dependant_code>")
def member_lookup(member_number: str, dependant_code: str) -> Any:
    """A member's details and eligibility on `?on=YYYY-MM-DD` (today by default)."""
    key = schemas.member_key(member_number, dependant_code)
    on = schemas.LookupQuery().load(request.args)["on"] or store.today()
    return ok(member.lookup(db(), *key, on))


@bp.get("/member-changes")
def member_changes() -> Any:
    """Status changes after `?since=<cursor>`, oldest first, `?limit=` at a time."""
    query = schemas.ChangesQuery().load(request.args)
    return ok(member.changes_since(db(), query["since"], query["limit"]))


@bp.post("/claims")
def submit_claim() -> Any:
    """Submit a claim once per Idempotency-Key; a repeat returns the same claim (200)."""
    key = schemas.idempotency_key(request.headers.get("Idempotency-Key"))
    body = schemas.Claim().load(json_body())
    found, replayed = claim.submit(db(), key, body, state().codes, store.today())
    return _once(found, replayed, f"Claim {found['status']}")


@bp.post("/claims/<claim_id>/reversal")
def reverse_claim(claim_id: str) -> Any:
    """Reverse an accepted or paid claim once per Idempotency-Key; a repeat returns the
    same reversed claim (200)."""
    key = schemas.idempotency_key(request.headers.get("Idempotency-Key"))
    body = schemas.Reversal().load(json_body())
    found, replayed = reversal.reverse(db(), claim_id, key, body)
    return _once(found, replayed, "Claim reversed")


def _once(found: dict[str, Any], replayed: bool, message: str) -> Any:
    """201 for what this request made; 200 and `Idempotent-Replayed` for a repeat."""
    if replayed:
        response = ok(found, message)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    return created(found, message)


@bp.get("/claims/<claim_id>")
def claim_status(claim_id: str) -> Any:
    """A claim and its status, by PALMED claim id."""
    return ok(claim.get(db(), claim_id))


@bp.get("/claims/by-idempotency-key/<key>")
def claim_by_key(key: str) -> Any:
    """A claim and its status, by the Idempotency-Key it was submitted with."""
    return ok(claim.by_key(db(), key))
