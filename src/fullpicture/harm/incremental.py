"""The incremental path: one child's score and alerts updated as each event arrives.

A child holds tens to hundreds of events, so re-running the engine over that one child's
history is both exact (late or corrected entries re-group incidents correctly) and fast;
the batch job is for the population, this is for the moment an event lands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fullpicture.chronology.taxonomy import Taxonomy, default_taxonomy
from fullpicture.harm.engine import ChildAssessment, RaisedAlert, ScoringEvent, assess_child
from fullpicture.harm.harm_model import HarmModel, default_harm_model


@dataclass
class ChildHarmState:
    """What the engine knows about one child, kept between events."""

    date_of_birth: dt.date | None
    model: HarmModel = field(default_factory=default_harm_model)
    taxonomy: Taxonomy = field(default_factory=default_taxonomy)
    events: dict[int | str, ScoringEvent] = field(default_factory=dict)
    raised: dict[tuple[str, dt.date], RaisedAlert] = field(default_factory=dict)
    latest: ChildAssessment | None = None

    def add(self, event: ScoringEvent, *, as_of: dt.date) -> list[RaisedAlert]:
        """Take in one event (a new ref, or a new version of a known ref) and return the
        alerts this raises that were not raised before."""
        self.events[event.ref] = event
        assessment = assess_child(
            self.events.values(),
            date_of_birth=self.date_of_birth,
            as_of=as_of,
            model=self.model,
            taxonomy=self.taxonomy,
        )
        self.latest = assessment
        new = [a for a in assessment.alerts if (a.kind, a.day) not in self.raised]
        for alert in new:
            self.raised[(alert.kind, alert.day)] = alert
        return new

    @property
    def score(self) -> float:
        return self.latest.explanation.score if self.latest else 0.0
