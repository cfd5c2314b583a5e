"""Worker processes and their open pages of each visit (qa_live/live/workers.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model


class Worker(Model):
    """A worker process serving live sessions, and when it was last seen (its heartbeat).

    A surviving worker closes what one that stopped beating left open (qa_live/live/workers.py).
    """

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random per process start
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_how: Mapped[str | None] = mapped_column(String(16))  # "stopped" or "swept"


class VisitConnection(Model):
    """One worker's open pages of one visit: what comes off the visit if that worker dies."""

    __tablename__ = "visit_connections"
    __table_args__ = (Index("ix_visit_connections_worker", "worker_id"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"),
                                          primary_key=True)
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"),
                                           primary_key=True)
    connections: Mapped[int] = mapped_column(default=0)
