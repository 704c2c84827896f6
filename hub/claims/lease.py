"""Leased, retried calls to PALMED about one claim each (a submission, a reversal), safe
with several hub processes at once.

- `take`: one due call is leased (`locked_until`) in a short transaction that skips rows
  another process has locked (SELECT ... FOR UPDATE SKIP LOCKED).
- `Hold`: the lease is short (seconds, `RetryPolicy.lease`) and renewed before every
  attempt and every slice of a wait between attempts, so a live worker keeps its claim
  however long its retries take and a crashed one loses it within one lease. A worker
  that finds its lease gone (it stalled longer than a lease and another took over)
  stops with `LeaseLost`: two workers never call PALMED for one claim while a lease holds.
- `carry`: the call, retried with exponential backoff under a ceiling (tenacity) with the
  same idempotency key, every attempt and its answer committed at once to
  `claim_attempt`. A lost answer is harmless: PALMED returns what it already did under
  the key, even if a lease ran out and another process retried meanwhile.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from common.database import new_session
from hub.claims import palmed, state
from schema.base import new_id, utcnow
from schema.models import Claim, ClaimAttempt, ClaimReversal, ClaimSubmission

R = TypeVar("R", ClaimSubmission, ClaimReversal)  # the bookkeeping of one kind of call

RESPONSE_LIMIT = 8000
LEASE_MARGIN = 2.0  # seconds a lease outlasts the longest call, for the renewal itself


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try, and how long a lease lasts between renewals: it must outlast one
    call (`covering` makes sure of it) and is renewed before each call and each slice of
    a wait."""

    attempts: int = 4
    wait_initial: float = 1.0
    wait_max: float = 30.0
    later_initial: dt.timedelta = dt.timedelta(minutes=1)
    later_max: dt.timedelta = dt.timedelta(hours=1)
    lease: dt.timedelta = dt.timedelta(seconds=15)

    def retrying(self, sleep: Callable[[float], None]) -> Retrying:
        """Retry what PALMED may not have acted on; a refusal (4xx) is final."""
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(
                multiplier=self.wait_initial, max=self.wait_max, jitter=self.wait_initial
            ),
            retry=retry_if_exception_type((palmed.OutcomeUnknown, palmed.Unreachable)),
            sleep=sleep,
            reraise=True,
        )

    def next_run(self, attempts: int, now: dt.datetime) -> dt.datetime:
        """When a call whose retries ran out is due again: doubling, up to the ceiling."""
        runs = max(attempts // self.attempts, 1)
        return now + min(self.later_initial * 2 ** min(runs - 1, 20), self.later_max)

    def covering(self, call_seconds: float) -> RetryPolicy:
        """This policy with a lease long enough for one call of at most `call_seconds`."""
        shortest = dt.timedelta(seconds=call_seconds + LEASE_MARGIN)
        return dataclasses.replace(self, lease=max(self.lease, shortest))


@dataclass(frozen=True)
class Lease:
    """One process's hold on one claim's call until `until`."""

    claim_id: str
    key: str
    until: dt.datetime


class LeaseLost(Exception):
    """Another process took over the call: this one stops without writing anything more."""


def commit(session: Session, model: type[R], claim_id: str, now: dt.datetime) -> R:
    """The claim's call of this kind, due now, its idempotency key stored in the caller's
    transaction before any call is made: a new key only when PALMED holds nothing under
    the old one (`state.KEY_SPENT`), so a retry can never make a second claim."""
    row = session.get(model, claim_id, with_for_update=True)
    if row is None:
        row = model(claim_id=claim_id, created_at=now)
        session.add(row)
    if row.state is None or row.state in state.KEY_SPENT:
        row.idempotency_key = new_key()
        row.attempts = 0
    row.state = state.PENDING
    row.next_attempt_at = now
    release(row, None, now)
    return row


def take(
    engine: Engine,
    model: type[R],
    claim_status: str,
    now: dt.datetime,
    policy: RetryPolicy,
) -> Lease | None:
    """Lease the call due first that nobody holds, of a claim still in `claim_status`."""
    with new_session(engine) as session, session.begin():
        row = session.scalar(
            select(model)
            .join(Claim, Claim.id == model.claim_id)
            .where(
                Claim.status == claim_status,  # a claim held meanwhile is not sent
                model.state == state.PENDING,
                model.next_attempt_at <= now,
                or_(model.locked_until.is_(None), model.locked_until < now),
            )
            .order_by(model.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        row.locked_until = now + policy.lease
        return Lease(row.claim_id, row.idempotency_key, row.locked_until)


class Hold(Generic[R]):
    """A worker's lease on one call, renewed while it works (`renew`, `sleep`)."""

    def __init__(
        self,
        engine: Engine,
        model: type[R],
        lease: Lease,
        policy: RetryPolicy,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.model: type[R] = model
        self.lease = lease
        self.policy = policy
        self.clock = clock

    def renew(self) -> None:
        """Move the lease on by its length from now; `LeaseLost` if it is no longer ours."""
        until = self.clock() + self.policy.lease
        with new_session(self.engine) as session, session.begin():
            moved = session.execute(
                update(self.model)
                .where(
                    self.model.claim_id == self.lease.claim_id,
                    self.model.locked_until == self.lease.until,
                )
                .values(locked_until=until)
            )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(f"another process took over the call for {self.lease.claim_id}")
        self.lease = dataclasses.replace(self.lease, until=until)

    def decide(self, write: Callable[[Session, R, Claim, dt.datetime], str]) -> str:
        """Write what PALMED decided about the call, under lock, even if this process's
        lease ran out (the decision is final); unless a new key carries the claim now
        (it was corrected meanwhile): then the claim's status as it is."""
        now = utcnow()
        with new_session(self.engine) as session, session.begin():
            row, claim = locked(session, self.model, self.lease.claim_id)
            if row.idempotency_key != self.lease.key:
                return claim.status
            return write(session, row, claim, now)

    def sleep(self, seconds: float) -> None:
        """Wait between attempts in slices of a third of the lease, renewing it first."""
        end = time.monotonic() + seconds
        piece = self.policy.lease.total_seconds() / 3
        while (left := end - time.monotonic()) > 0:
            self.renew()
            time.sleep(min(left, piece))


def carry(
    hold: Hold[R], kind: str, policy: RetryPolicy, call: Callable[[str], palmed.Claim]
) -> palmed.Claim:
    """Make the call with the lease's key until PALMED answers or the retries of this run
    are used up (the last error is raised), renewing the lease before each attempt."""

    def attempt() -> palmed.Claim:
        hold.renew()
        try:
            answer = call(hold.lease.key)
        except palmed.PalmedError as error:
            record(hold, kind, _failure(error), error.status, error.message)
            raise
        body = json.dumps(dataclasses.asdict(answer), default=str)
        record(hold, kind, answer.status, 200 if answer.replayed else 201, body)
        return answer

    return policy.retrying(hold.sleep)(attempt)


def _failure(error: palmed.PalmedError) -> str:
    if isinstance(error, palmed.Unreachable):
        return "unreachable"
    if isinstance(error, palmed.RequestRefused):
        return "refused"
    return "unknown"


def record(hold: Hold[R], kind: str, result: str, http_status: int | None, response: str) -> None:
    """One attempt and its answer, committed at once (an attempt is never lost)."""
    now = utcnow()
    with new_session(hold.engine) as session, session.begin():
        session.add(
            ClaimAttempt(
                id=new_id(),
                claim_id=hold.lease.claim_id,
                idempotency_key=hold.lease.key,
                kind=kind,
                at=now,
                outcome=result,
                http_status=http_status,
                response=response[:RESPONSE_LIMIT],
            )
        )
        session.execute(
            update(hold.model)
            .where(hold.model.claim_id == hold.lease.claim_id)
            .values(attempts=hold.model.attempts + 1, updated_at=now)
        )


def postpone(hold: Hold[R], error: palmed.PalmedError, policy: RetryPolicy) -> str:
    """Retries used up for this run: due again later, with the same key."""
    now = utcnow()
    with new_session(hold.engine) as session, session.begin():
        row, _ = locked(session, hold.model, hold.lease.claim_id)
        if row.locked_until == hold.lease.until and row.state == state.PENDING:
            row.next_attempt_at = policy.next_run(row.attempts, now)
            release(row, error.message, now)
    return state.PENDING


def locked(session: Session, model: type[R], claim_id: str) -> tuple[R, Claim]:
    """The call and its claim, locked for the decision about them."""
    row = session.get(model, claim_id, with_for_update=True)
    claim = session.get(Claim, claim_id, with_for_update=True)
    if row is None or claim is None:
        raise RuntimeError(f"claim {claim_id} vanished while PALMED was being called")
    return row, claim


def release(row: ClaimSubmission | ClaimReversal, error: str | None, now: dt.datetime) -> None:
    row.locked_until = None
    row.last_error = error
    row.updated_at = now


def new_key() -> str:
    """A new idempotency key, for a call PALMED holds nothing under yet."""
    return str(uuid.uuid4())


def refusal(what: str, error: palmed.RequestRefused) -> str:
    """PALMED's 4xx in words, with its details, for a held claim's problems."""
    details = f" ({json.dumps(error.details, sort_keys=True)})" if error.details else ""
    return f"PALMED refused {what} (HTTP {error.status}): {error.message}{details}"
