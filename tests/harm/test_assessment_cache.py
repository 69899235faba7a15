"""A child's assessment is scored again only when an input changed, and a stored one is the
same as scoring afresh (harm.service.ASSESSMENTS)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.subject import SystemPrincipal
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.chronology.models import ParticipantRole
from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.core.database import utc_now
from fullpicture.harm import repository, service
from fullpicture.harm.engine import ChildAssessment, assess_child
from fullpicture.harm.entry_reading import EntryReading
from fullpicture.harm.harm_model import default_harm_model
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from tests.chronology import factories as make

AS_OF = dt.date(2025, 6, 30)
SUBJECT = ParticipantRole.SUBJECT


def _scorer(db_session: Session) -> SystemPrincipal:
    return access_service.system_principal(db_session=db_session, job="harm test", operator="test")


@pytest.fixture
def child(db_session: Session) -> tuple[Person, Agency, Agency]:
    gp = make.agency(db_session, "gp-a", AgencyKind.GP)
    hv = make.agency(db_session, "hv-a", AgencyKind.HEALTH_VISITING)
    person = make.person(db_session, (gp, "G1"), (hv, "H1"))
    db_session.add(
        SourceRecord(
            agency_id=gp.id,
            record_ref="G1",
            content_hash="G1",
            date_of_birth=dt.date(2025, 1, 10),
            recorded_by="test",
        )
    )
    make.event(db_session, hv, "h-1", dt.date(2025, 3, 20), "WNB", [("H1", SUBJECT)])
    make.event(
        db_session,
        gp,
        "g-1",
        dt.date(2025, 4, 2),
        "PHY-INJ",
        [("G1", SUBJECT)],
        summary="Bruise on the ear",
    )
    make.event(db_session, hv, "h-2", dt.date(2025, 4, 20), "WNB", [("H1", SUBJECT)])
    return person, gp, hv


def _assess(db_session: Session, person: Person, **rules: object) -> ChildAssessment:
    return service.assess_one_child(
        db_session=db_session,
        scorer=_scorer(db_session),
        person_id=person.id,
        as_of=AS_OF,
        **rules,  # type: ignore[arg-type]
    )


def _afresh(
    db_session: Session, person: Person, readings: dict[int, EntryReading] | None = None
) -> ChildAssessment:
    """Scored straight from the tables, as before anything was stored."""
    model = default_harm_model()
    events, birth = repository.child_scoring_events(
        db_session=db_session,
        scorer=_scorer(db_session),
        person_id=person.id,
        as_of=AS_OF,
        model=model,
        readings_out=readings,
    )
    return assess_child(
        events, date_of_birth=birth, as_of=AS_OF, model=model, taxonomy=default_taxonomy()
    )


def test_a_stored_assessment_is_the_one_computed_afresh(
    db_session: Session, child: tuple[Person, Agency, Agency]
) -> None:
    person = child[0]
    service.ASSESSMENTS.clear()
    first = _assess(db_session, person)
    computed = service.ASSESSMENTS.computed
    readings: dict[int, EntryReading] = {}
    again = service.assess_one_child(
        db_session=db_session,
        scorer=_scorer(db_session),
        person_id=person.id,
        as_of=AS_OF,
        readings_out=readings,
    )
    assert service.ASSESSMENTS.computed == computed  # not scored again
    assert again is first
    fresh_readings: dict[int, EntryReading] = {}
    assert again == _afresh(db_session, person, fresh_readings)
    assert readings == fresh_readings
    assert again.explanation.score > 0 and again.alerts


def test_a_new_entry_a_correction_a_link_change_the_rules_and_the_day_each_score_afresh(
    db_session: Session, child: tuple[Person, Agency, Agency]
) -> None:
    person, _gp, hv = child
    service.ASSESSMENTS.clear()
    before = _assess(db_session, person)

    def scored_afresh() -> ChildAssessment:
        computed = service.ASSESSMENTS.computed
        now = _assess(db_session, person)
        assert service.ASSESSMENTS.computed == computed + 1, "a stale assessment was used"
        assert now == _afresh(db_session, person)
        return now

    make.event(db_session, hv, "h-3", dt.date(2025, 5, 1), "WNB", [("H1", SUBJECT)])
    with_entry = scored_afresh()
    assert with_entry.explanation.score > before.explanation.score

    # A correction is a new version of the entry: the severity it gives is scored.
    make.event(
        db_session, hv, "h-3", dt.date(2025, 5, 1), "WNB", [("H1", SUBJECT)], version=2, severity=5
    )
    corrected = scored_afresh()
    assert corrected.explanation.score > with_entry.explanation.score

    # The health visitor's record is unlinked from the child: its entries no longer count.
    link = db_session.scalar(
        select(PersonRecordLink).where(
            PersonRecordLink.person_id == person.id, PersonRecordLink.record_ref == "H1"
        )
    )
    assert link is not None
    link.ended_at = utc_now()
    db_session.flush()
    unlinked = scored_afresh()
    assert unlinked.explanation.score < corrected.explanation.score

    # The same record linked again (a practitioner's decision): counted again. The inputs are
    # those of the corrected record again, so its stored assessment is the right one.
    db_session.add(
        PersonRecordLink(
            person_id=person.id, agency_id=hv.id, record_ref="H1", method="confirmed", evidence={}
        )
    )
    db_session.flush()
    relinked = _assess(db_session, person)
    assert relinked == corrected == _afresh(db_session, person)

    # Rules with other points for each severity: scored with them, not the stored ones.
    model = default_harm_model()
    heavier = model.model_copy(
        update={"points_by_severity": {k: v * 2 for k, v in model.points_by_severity.items()}}
    )
    computed = service.ASSESSMENTS.computed
    doubled = _assess(db_session, person, model=heavier)
    assert service.ASSESSMENTS.computed == computed + 1
    assert doubled.explanation.score == pytest.approx(2 * corrected.explanation.score)

    # Scores decay: another day is another assessment.
    computed = service.ASSESSMENTS.computed
    later = service.assess_one_child(
        db_session=db_session,
        scorer=_scorer(db_session),
        person_id=person.id,
        as_of=AS_OF + dt.timedelta(days=30),
    )
    assert service.ASSESSMENTS.computed == computed + 1
    assert later.explanation.score < corrected.explanation.score
