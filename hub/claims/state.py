"""The states a claim and its submission pass through (see docs/palmed.md, the pipeline).

A claim's `status` is what the vehicle and finance see; a submission's `state` is the
hub's own bookkeeping of the call that carries it to PALMED.
"""

from __future__ import annotations

# Claim.status
DRAFT = "draft"  # as a vehicle may make it at visit closure
READY = "ready"  # a vehicle's complete claim, made when the visit closed
QUEUED = "queued"  # waiting at the hub (or corrected by finance)
NEEDS_ATTENTION = "needs_attention"  # bad data: held with reasons, never sent
SUBMITTED = "submitted"  # its idempotency key is committed; PALMED's answer is pending
ACCEPTED = "accepted"
REJECTED = "rejected"
PAID = "paid"
WITHDRAWN = "withdrawn"  # taken back before it was sent (a reopened visit): never sent
REVERSING = "reversing"  # a correction replaces it: its reversal at PALMED is under way
REVERSED = "reversed"  # reversed at PALMED; the correction that superseded it stands

ENTERING = (DRAFT, READY, QUEUED)
CORRECTABLE = (NEEDS_ATTENTION, REJECTED)
UNSENT = (*ENTERING, NEEDS_ATTENTION, WITHDRAWN)  # PALMED holds nothing that stands
STANDING = (ACCEPTED, PAID)  # what PALMED holds as owed or paid: reversed before replaced
ALL = (
    DRAFT,
    READY,
    QUEUED,
    NEEDS_ATTENTION,
    SUBMITTED,
    ACCEPTED,
    REJECTED,
    PAID,
    WITHDRAWN,
    REVERSING,
    REVERSED,
)

# ClaimSubmission.state and ClaimReversal.state
PENDING = "pending"  # due for a call (again) with its key
SETTLED_ACCEPTED = "accepted"
SETTLED_REJECTED = "rejected"
SETTLED_REVERSED = "reversed"
REFUSED = "refused"  # PALMED answered 4xx and stored nothing
LOST = "lost"  # a worker's outcome when another process took the call over

# A new idempotency key is made only after these: PALMED holds nothing under the old
# key that a new submission could duplicate (a rejected claim never counts as one).
KEY_SPENT = (SETTLED_REJECTED, REFUSED)
