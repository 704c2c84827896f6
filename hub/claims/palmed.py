"""The hub's client for PALMED's membership and claims API (docs/palmed.md), over requests.

It makes exactly one HTTP call per method and never retries: the claim pipeline owns
retries, and it can only retry safely if it knows what a failure means. So every failure
is one of two kinds:

- `NotReceived`: PALMED definitely did not act on the call. Either no connection was
  made (`Unreachable`) or PALMED answered 4xx and stored nothing (`RequestRefused`,
  `NotFound`).
- `OutcomeUnknown`: the call was (or may have been) sent and the answer was lost: a
  read timeout, a dropped connection, a 5xx or an unreadable answer. A claim may exist;
  resubmit with the same idempotency key, which returns it rather than making another.

A client holds a `requests.Session`; give each thread its own client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import requests
from urllib3.exceptions import NewConnectionError

from common.version import VERSION

T = TypeVar("T")

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 20.0


class PalmedError(Exception):
    """A call to PALMED failed; `status` is the HTTP status when there was an answer."""

    def __init__(self, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details


class NotReceived(PalmedError):
    """PALMED did not act on the call: nothing was stored there."""


class Unreachable(NotReceived):
    """No connection could be made (refused, unknown host, connect timeout); nothing was
    sent. Try again later."""


class RequestRefused(NotReceived):
    """PALMED answered 4xx and stored nothing. Sending the same request again will get
    the same answer: fix it first (`status`, `message` and `details` say what is wrong)."""


class NotFound(RequestRefused):
    """No such member or claim (404). For a claim looked up by idempotency key, it means
    no submission with that key ever reached PALMED."""


class OutcomeUnknown(PalmedError):
    """The call may have been acted on and the answer was lost. Safe to retry a claim
    with the same idempotency key; never with a new one."""


@dataclass(frozen=True)
class ClaimLineRequest:
    """One billed item: a tariff (consultation, procedure) or a NAPPI product."""

    kind: Literal["tariff", "nappi"]
    code: str
    quantity: int
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            f"{self.kind}_code": self.code,
            "quantity": self.quantity,
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class ClaimRequest:
    member_number: str
    dependant_code: str
    practice_number: str
    service_date: dt.date
    icd10_codes: tuple[str, ...]
    lines: tuple[ClaimLineRequest, ...]
    reference: str | None = None
    replaces: str | None = None  # PALMED's id of the claim this one corrects

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "member_number": self.member_number,
            "dependant_code": self.dependant_code,
            "practice_number": self.practice_number,
            "service_date": self.service_date.isoformat(),
            "icd10_codes": list(self.icd10_codes),
            "lines": [line.to_json() for line in self.lines],
        }
        if self.reference is not None:
            body["reference"] = self.reference
        if self.replaces is not None:
            body["replaces"] = self.replaces
        return body


@dataclass(frozen=True)
class Reason:
    """Why a claim was rejected: a code from docs/palmed.md and a readable message."""

    code: str
    message: str


@dataclass(frozen=True)
class ClaimLine:
    kind: Literal["tariff", "nappi"]
    code: str
    description: str | None
    quantity: int
    amount: Decimal
    approved_amount: Decimal

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClaimLine:
        kind: Literal["tariff", "nappi"] = "nappi" if "nappi_code" in data else "tariff"
        return cls(
            kind,
            data[f"{kind}_code"],
            data["description"],
            int(data["quantity"]),
            Decimal(data["amount"]),
            Decimal(data["approved_amount"]),
        )


@dataclass(frozen=True)
class Remittance:
    remittance_id: str
    paid_date: dt.date
    amount_paid: Decimal

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Remittance:
        return cls(
            data["remittance_id"],
            dt.date.fromisoformat(data["paid_date"]),
            Decimal(data["amount_paid"]),
        )


@dataclass(frozen=True)
class Reversal:
    """PALMED's reversal of a claim; `recovered_in` names the remittance that took back
    what had been paid for it (None while nothing was paid, or not recovered yet)."""

    reversal_id: str
    reason: str
    amount: Decimal
    reversed_at: dt.datetime
    recovered_in: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reversal:
        return cls(
            data["reversal_id"],
            data["reason"],
            Decimal(data["amount"]),
            dt.datetime.fromisoformat(data["reversed_at"]),
            data["recovered_in"],
        )


@dataclass(frozen=True)
class Claim:
    """A claim as PALMED holds it. `replayed` is True when a submission (or a reversal)
    found what it asked for already made with its idempotency key (a retry)."""

    claim_id: str
    idempotency_key: str
    status: Literal["accepted", "rejected", "paid", "reversed"]
    reasons: tuple[Reason, ...]
    member_number: str
    dependant_code: str
    practice_number: str
    service_date: dt.date
    reference: str | None
    icd10_codes: tuple[str, ...]
    lines: tuple[ClaimLine, ...]
    claimed_amount: Decimal
    approved_amount: Decimal
    received_at: dt.datetime
    remittance: Remittance | None
    replayed: bool = False
    replaces: str | None = None
    reversal: Reversal | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any], replayed: bool = False) -> Claim:
        remittance, reversal = data["remittance"], data.get("reversal")
        return cls(
            claim_id=data["claim_id"],
            idempotency_key=data["idempotency_key"],
            status=data["status"],
            reasons=tuple(Reason(item["code"], item["message"]) for item in data["reasons"]),
            member_number=data["member_number"],
            dependant_code=data["dependant_code"],
            practice_number=data["practice_number"],
            service_date=dt.date.fromisoformat(data["service_date"]),
            reference=data["reference"],
            icd10_codes=tuple(data["icd10_codes"]),
            lines=tuple(ClaimLine.from_json(line) for line in data["lines"]),
            claimed_amount=Decimal(data["claimed_amount"]),
            approved_amount=Decimal(data["approved_amount"]),
            received_at=dt.datetime.fromisoformat(data["received_at"]),
            remittance=Remittance.from_json(remittance) if remittance else None,
            replayed=replayed,
            replaces=data.get("replaces"),
            reversal=Reversal.from_json(reversal) if reversal else None,
        )


@dataclass(frozen=True)
class MemberDetails:
    member_number: str
    dependant_code: str
    first_name: str
    last_name: str
    date_of_birth: dt.date
    relationship: str
    effective_from: dt.date
    effective_to: dt.date | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberDetails:
        return cls(
            data["member_number"],
            data["dependant_code"],
            data["first_name"],
            data["last_name"],
            dt.date.fromisoformat(data["date_of_birth"]),
            data["relationship"],
            dt.date.fromisoformat(data["effective_from"]),
            _date_or_none(data["effective_to"]),
        )


@dataclass(frozen=True)
class MemberStanding:
    """A member on a date: `eligible` means covered and active then."""

    member: MemberDetails
    on: dt.date
    status: str | None
    eligible: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberStanding:
        return cls(
            MemberDetails.from_json(data),
            dt.date.fromisoformat(data["on"]),
            data["status"],
            bool(data["eligible"]),
        )


@dataclass(frozen=True)
class MemberChange:
    """A status a member took on from `effective_date`; apply changes in sequence order."""

    sequence: int
    status: str
    effective_date: dt.date
    reason: str | None
    recorded_at: dt.datetime
    member: MemberDetails

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberChange:
        return cls(
            int(data["sequence"]),
            data["status"],
            dt.date.fromisoformat(data["effective_date"]),
            data["reason"],
            dt.datetime.fromisoformat(data["recorded_at"]),
            MemberDetails.from_json(data["member"]),
        )


@dataclass(frozen=True)
class MemberChangePage:
    """One page of the feed. Store `next_cursor` only after applying `changes`."""

    changes: tuple[MemberChange, ...]
    next_cursor: str
    has_more: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MemberChangePage:
        return cls(
            tuple(MemberChange.from_json(item) for item in data["changes"]),
            str(data["next_cursor"]),
            bool(data["has_more"]),
        )


class PalmedClient:
    """One PALMED endpoint and key; explicit connect and read timeouts on every call."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"PALMED_API_URL must be an http(s) URL, got {base_url!r}")
        if not api_key:
            raise ValueError("PALMED_API_KEY is not set")
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self._session = requests.Session()
        self._session.headers.update(
            {
                "X-API-Key": api_key,
                "Accept": "application/json",
                "User-Agent": f"mobile-clinic-hub/{VERSION}",
            }
        )

    @property
    def longest_call(self) -> float:
        """Seconds one call may take before it fails: connecting, then waiting to read."""
        return float(sum(self.timeout))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **timeouts: float) -> PalmedClient:
        """The client for the hub's PALMED_API_URL, PALMED_API_KEY and (how long to wait
        for an answer before treating its outcome as unknown) PALMED_READ_TIMEOUT_SECONDS."""
        read_timeout = config.get("PALMED_READ_TIMEOUT_SECONDS")
        if read_timeout:
            timeouts.setdefault("read_timeout", float(read_timeout))
        return cls(str(config["PALMED_API_URL"]), str(config["PALMED_API_KEY"]), **timeouts)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PalmedClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit_claim(self, claim: ClaimRequest, idempotency_key: str) -> Claim:
        """Submit once under a key stored before the call; on `OutcomeUnknown`, call again
        with the same key and the same claim to learn what happened."""
        status, data = self._call(
            "POST", "/v1/claims", json=claim.to_json(), headers={"Idempotency-Key": idempotency_key}
        )
        return _parse(lambda: Claim.from_json(data, replayed=status == 200))

    def reverse_claim(self, claim_id: str, idempotency_key: str, reason: str) -> Claim:
        """Reverse an accepted or paid claim once under a key stored before the call; on
        `OutcomeUnknown`, call again with the same key and reason to learn what happened.
        The answer is the claim, reversed."""
        status, data = self._call(
            "POST",
            f"/v1/claims/{quote(claim_id, safe='')}/reversal",
            json={"reason": reason},
            headers={"Idempotency-Key": idempotency_key},
        )
        return _parse(lambda: Claim.from_json(data, replayed=status == 200))

    def claim_status(self, claim_id: str) -> Claim:
        _, data = self._call("GET", f"/v1/claims/{quote(claim_id, safe='')}")
        return _parse(lambda: Claim.from_json(data))

    def claim_by_key(self, idempotency_key: str) -> Claim:
        """The claim submitted with this key; `NotFound` if no submission ever arrived."""
        _, data = self._call(
            "GET", f"/v1/claims/by-idempotency-key/{quote(idempotency_key, safe='')}"
        )
        return _parse(lambda: Claim.from_json(data))

    def member(
        self, member_number: str, dependant_code: str, on: dt.date | None = None
    ) -> MemberStanding:
        path = f"/v1/members/{quote(member_number, safe='')}/{quote(dependant_code, safe='')}"
        params = {"on": on.isoformat()} if on else None
        _, data = self._call("GET", path, params=params)
        return _parse(lambda: MemberStanding.from_json(data))

    def member_changes(self, since: str | None = None, limit: int = 100) -> MemberChangePage:
        """The changes after `since` (from the start when None)."""
        params = {"limit": str(limit), **({"since": since} if since else {})}
        _, data = self._call("GET", "/v1/member-changes", params=params)
        return _parse(lambda: MemberChangePage.from_json(data))

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            response = self._session.request(
                method, self.base_url + path, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.ConnectTimeout as error:
            raise Unreachable(f"PALMED did not accept a connection: {error}") from error
        except requests.ConnectionError as error:
            if _never_connected(error):
                raise Unreachable(f"Could not connect to PALMED: {error}") from error
            raise OutcomeUnknown(f"The connection to PALMED broke: {error}") from error
        except requests.RequestException as error:
            raise OutcomeUnknown(f"No answer from PALMED: {error}") from error
        return _answer(response)


def _never_connected(error: requests.ConnectionError) -> bool:
    """True only when the TCP connection was never made, so no byte of the request left."""
    cause = error.args[0] if error.args else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)


def _answer(response: requests.Response) -> tuple[int, Any]:
    """The envelope's data on 2xx; otherwise the typed error the status means."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body if isinstance(body, dict) else {}
    if 200 <= status < 300:
        if envelope.get("success") is not True or "data" not in envelope:
            raise OutcomeUnknown(f"PALMED answered {status} with an unreadable body", status=status)
        return status, envelope["data"]
    message = str(envelope.get("error") or response.reason or f"HTTP {status}")
    details = envelope.get("details")
    if status == 404:
        raise NotFound(message, status=status, details=details)
    if 400 <= status < 500:
        raise RequestRefused(message, status=status, details=details)
    raise OutcomeUnknown(f"PALMED answered HTTP {status}: {message}", status=status)


def _parse(build: Callable[[], T]) -> T:
    """A typed result, or `OutcomeUnknown` if PALMED's answer does not have its shape."""
    try:
        return build()
    except (KeyError, TypeError, ValueError, InvalidOperation) as error:
        raise OutcomeUnknown(f"PALMED's answer was not understood: {error!r}") from error


def _date_or_none(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None
