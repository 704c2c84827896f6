"""The hub's place in PALMED's feed of member status changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base, UTCDateTime


class MemberFeed(Base):
    """The cursor of the last page applied (hub only): saved with the page's changes,
    so a run that fails midway starts again from the last page it finished."""

    __tablename__ = "member_feed"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
