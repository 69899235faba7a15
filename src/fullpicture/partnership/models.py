"""Stored dashboard figures: each figure as computed for one period, with when and by whom.

Counting a 100,000-child authority's sharing latency pairs every significant entry with every
other agency working with the child, which takes seconds; the page therefore shows the figures
as last computed (by the scheduler, or by an analyst who asked for them again) and says when
that was (``partnership.snapshots``). Aggregates only, as the page shows them: no child's data.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from fullpicture.core.database import Base, UTCDateTime


class DashboardFigureSnapshot(Base):
    """One figure for one period (``as_of``, ``since``), as Parquet, the latest computation
    of it only: a refresh replaces the row."""

    __tablename__ = "dashboard_figure_snapshot"
    __table_args__ = (Index("ix_dashboard_figure_snapshot_period", "as_of", "since", "figure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    figure: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[dt.date] = mapped_column(Date)
    since: Mapped[dt.date | None] = mapped_column(Date)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    computed_by: Mapped[str] = mapped_column(
        String(200), comment="the analyst who asked, or the scheduler"
    )
    seconds: Mapped[float] = mapped_column(Float, comment="how long computing the figure took")
    parquet: Mapped[bytes] = mapped_column(LargeBinary, comment="the figure's table")
