"""Find a child against a plain reference, for every role and every kind of search.

``linkage.search.find_children`` names and ranks the children it found from one reading of
the need-to-know rule (``person_summaries.named_as``), written for speed. The reference here
names them as their own pages do (``person_summaries.child_summaries``: every readable record
built, then ``summarise``), asks which matched records the reader may read from
``readable_record_links`` over everyone, and ranks in plain Python: the children shown, their
order, what each matched on, how many more and how many are held elsewhere must agree.

The town is drawn at random with a fixed seed: records that disagree about a child's name
and date of birth (so the most common one decides, and a tie goes to the first record), a
record's later version, adults sharing a surname, children held by one agency or several,
a shared postcode and identifiers."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from fullpicture.access import person_summaries
from fullpicture.access import repository as access_repository
from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.roles import role_book
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency, AgencyKind
from fullpicture.core.database import utc_now
from fullpicture.linkage import search
from fullpicture.people.models import Person, SourceRecord
from tests.access.principals import make_agency, make_user
from tests.web.pages import named_record
from tests.web.picture import index_for_linkage

GIVEN = ["Amelia", "Millie", "Amelya", "Leo", "Leon", "Isla", "Ava"]
FAMILY = ["Okafor", "Okafur", "Smith", "Smyth", "Khan"]
POSTCODES = ["CR0 1AA", "CR0 1AA", "CR0 1AA", "CR2 6XH", "SE1 7PB"]


@dataclass
class Town:
    agencies: list[Agency]
    first_child: Person
    first_records: list[SourceRecord]


@pytest.fixture
def town(db_session: Session) -> Town:
    rng = random.Random(14)
    agencies = [
        make_agency(db_session, "ref-school", AgencyKind.SCHOOL),
        make_agency(db_session, "ref-gp", AgencyKind.GP),
        make_agency(db_session, "ref-police", AgencyKind.POLICE),
        make_agency(db_session, "ref-csc", AgencyKind.CHILDRENS_SOCIAL_CARE),
    ]
    today = dt.date.today()
    records: list[SourceRecord] = []
    first: tuple[Person, list[SourceRecord]] | None = None
    for index in range(60):
        person = Person()
        db_session.add(person)
        db_session.flush()
        # One in six is an adult (a parent sharing the family name).
        age_days = rng.randrange(20 * 365, 40 * 365) if index % 6 == 5 else rng.randrange(5000)
        born = today - dt.timedelta(days=age_days)
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        postcode = rng.choice(POSTCODES)
        held: list[SourceRecord] = []
        for agency in rng.sample(agencies, rng.randint(1, 3)):
            # Agencies disagree now and then: a nickname, a misspelling, a day out.
            record = named_record(
                db_session,
                person=person,
                agency=agency,
                given_name=rng.choice(GIVEN) if rng.random() < 0.3 else given,
                family_name=rng.choice(FAMILY) if rng.random() < 0.2 else family,
                date_of_birth=(
                    born + dt.timedelta(days=rng.choice([-1, 1])) if rng.random() < 0.2 else born
                ),
                nhs_number=f"94{index:08d}" if agency.kind != AgencyKind.SCHOOL else None,
                upn=f"H8{index:011d}" if agency.kind == AgencyKind.SCHOOL else None,
                postcode=postcode,
            )
            held.append(record)
        if index == 7:
            # A later version renames the child at one agency: only the latest names them.
            newer = SourceRecord(
                agency_id=held[0].agency_id,
                record_ref=held[0].record_ref,
                version=2,
                content_hash="renamed",
                given_name="Isla",
                family_name="Okafor",
                date_of_birth=held[0].date_of_birth,
                addresses=held[0].addresses,
                recorded_by="test",
            )
            db_session.add(newer)
            db_session.flush()
            held[0] = newer
        if first is None:
            first = (person, held)
        records.extend(held)
    index_for_linkage(db_session, records)
    assert first is not None
    return Town(agencies=agencies, first_child=first[0], first_records=first[1])


def _reference(
    db_session: Session, subject: AuthSubject, now: dt.datetime, query: search.ChildQuery
) -> tuple[list[tuple[str, tuple[str, ...]]], int, int]:
    """(public id and reasons of each child shown, in order; how many more; how many held
    elsewhere), found plainly."""
    row = search._prepared_query(query)
    condition = search._condition(db_session, row, query)
    candidates = db_session.execute(search._matching_records(db_session, condition)).all()
    summaries = person_summaries.child_summaries(
        db_session, subject=subject, now=now, person_ids=[c.person_id for c in candidates]
    )
    readable = {
        (agency_id, record_ref)
        for _person, agency_id, record_ref in db_session.execute(
            access_repository.readable_record_links(subject, now)
        )
    }
    codes = {agency.id: agency.code for agency in db_session.query(Agency)}
    born_after = person_summaries.child_born_after(now.date())
    reasons: dict[int, list[str]] = {}
    hidden: set[int] = set()
    for person_id, agency_id, record_ref, *values in candidates:
        record = search._Compared(*values)
        summary = summaries.get(person_id)
        if summary is None:
            if (
                record.date_of_birth is None
                or dt.date.fromisoformat(record.date_of_birth) > born_after
            ):
                hidden.add(person_id)
            continue
        shown_records = {(r.agency_code, r.record_ref) for r in summary.records}
        if (agency_id, record_ref) not in readable or (
            codes[agency_id],
            record_ref,
        ) not in shown_records:
            continue
        found = reasons.setdefault(person_id, [])
        for reason in search._matched_on(row, record):
            if reason not in found:
                found.append(reason)
    children = [
        pid
        for pid in reasons
        if summaries[pid].date_of_birth is None or summaries[pid].date_of_birth > born_after
    ]
    ranked = sorted(
        children,
        key=lambda pid: (
            -search._strength(reasons[pid]),
            summaries[pid].name.lower(),
            summaries[pid].public_id,
        ),
    )
    shown = [(summaries[pid].public_id, tuple(reasons[pid])) for pid in ranked[:5]]
    return shown, len(ranked) - len(shown), len(hidden)


def _queries(town: Town) -> dict[str, search.ChildQuery]:
    first = town.first_records[0]
    assert first.date_of_birth is not None
    nhs = next((r.nhs_number for r in town.first_records if r.nhs_number), None)
    upn = next((r.upn for r in town.first_records if r.upn), None)
    return {
        "misspelt given name and surname": search.ChildQuery(name="Amelya Okafur"),
        "nickname and surname": search.ChildQuery(name="Millie Okafor"),
        "a typing slip": search.ChildQuery(name="Leo Smit"),
        "surname alone": search.ChildQuery(name="Okafor"),
        "one name alone": search.ChildQuery(name="Amelia"),
        "date of birth alone": search.ChildQuery(date_of_birth=first.date_of_birth),
        "NHS number": search.ChildQuery(nhs_number=nhs or ""),
        "UPN": search.ChildQuery(upn=upn or ""),
        "postcode alone": search.ChildQuery(postcode="cr0 1aa"),
        "name and postcode": search.ChildQuery(name="Okafor", postcode="CR0 1AA"),
    }


@pytest.mark.parametrize("role", list(Role))
def test_every_search_shows_the_children_a_plain_reading_would_in_its_order(
    db_session: Session, town: Town, role: Role
) -> None:
    reads_children = role_book().policy(role).child_scope != "none"
    # Each role at two agencies: the school sees little, children's social care the pooled
    # picture (for the roles whose scopes give it).
    for agency in town.agencies[0::3] if reads_children else [None]:
        user = make_user(db_session, role=role, agency=agency)
        subject = access_service.subject_for_cli(db_session=db_session, username=user.username)
        now = utc_now()
        for kind, query in _queries(town).items():
            if query.is_empty:
                continue
            found = search.find_children(
                db_session=db_session, subject=subject, now=now, query=query, limit=5
            )
            shown = [(m.child.public_id, m.matched_on) for m in found.matches]
            assert (shown, found.more, found.held_elsewhere) == _reference(
                db_session, subject, now, query
            ), (role, agency and agency.code, kind)


def test_the_reference_sees_what_the_town_is_built_to_show(db_session: Session, town: Town) -> None:
    """The comparison above is worth something only if the searches find children, shown
    and held elsewhere, and more than are shown."""
    agency = town.agencies[0]
    user = make_user(db_session, role=Role.PRACTITIONER, agency=agency)
    subject = access_service.subject_for_cli(db_session=db_session, username=user.username)
    shown, more, held = _reference(
        db_session, subject, utc_now(), search.ChildQuery(postcode="CR0 1AA")
    )
    assert len(shown) == 5 and more > 0 and held > 0
