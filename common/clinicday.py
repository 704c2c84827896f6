"""The clinic day: the calendar day in South Africa, whatever zone a host's clock is set to.

A visit's service date is the clinic day it happened on (the edge decides it); the hub
must judge that date by the same calendar, or a claim for a visit at 00:30 SAST would look
like it was made tomorrow to a hub whose clock runs on UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CLINIC_ZONE = ZoneInfo("Africa/Johannesburg")


def clinic_day(moment: dt.datetime) -> dt.date:
    """The calendar day in South Africa: a visit at 01:00 SAST belongs to that day."""
    return moment.astimezone(CLINIC_ZONE).date()
