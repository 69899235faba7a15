"""Find a child through linkage's own comparisons (``linkage.search``), on both databases:
typing slips as linkage's "spelling very close" level decides them, and only children the
searcher may see shown, the others counted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.access.subject import AuthSubject
from fullpicture.agencies.models import Agency
from fullpicture.core.database import utc_now
from fullpicture.linkage import search
from fullpicture.linkage.models import LinkageNameKey, NameKind
from fullpicture.people.models import Person, PersonRecordLink, SourceRecord
from tests.access.principals import make_agency, make_user
from tests.web.pages import named_child
from tests.web.picture import index_for_linkage


@dataclass
class Town:
    school: Agency
    other_school: Agency
    children: dict[str, Person]


@pytest.fixture
def town(db_session: Session) -> Town:
    school = make_agency(db_session, "school-find")
    other_school = make_agency(db_session, "school-find-other")
    children: dict[str, Person] = {}
    records = []
    for name, born, agency in (
        ("Amelia Okafor", dt.date(2016, 3, 14), school),
        ("Madison Barker", dt.date(2014, 6, 1), school),
        ("Luca Ward", dt.date(2015, 9, 9), school),
        ("Leon Okafor", dt.date(2017, 1, 2), school),
        ("Mark Okafor", dt.date(2013, 5, 6), school),
        ("Anne Okafor", dt.date(2012, 7, 8), school),
        ("Madison Barker", dt.date(2018, 2, 3), other_school),
    ):
        given, family = name.split()
        person, held = named_child(
            db_session, held_by=[agency], given_name=given, family_name=family, date_of_birth=born
        )
        children.setdefault(name, person)
        records.extend(held)
    index_for_linkage(db_session, records)
    return Town(school=school, other_school=other_school, children=children)


def _teacher(db_session: Session, town: Town) -> AuthSubject:
    user = make_user(db_session, role=Role.PRACTITIONER, agency=town.school)
    return access_service.subject_for_cli(db_session=db_session, username=user.username)


def _find(db_session: Session, subject: AuthSubject, name: str) -> search.ChildSearch:
    return search.find_children(
        db_session=db_session, subject=subject, now=utc_now(), query=search.ChildQuery(name=name)
    )


def _found(result: search.ChildSearch) -> dict[str, tuple[str, ...]]:
    return {m.child.name: m.matched_on for m in result.matches}


def test_typing_slips_linkage_calls_very_close_find_the_child(
    db_session: Session, town: Town
) -> None:
    teacher = _teacher(db_session, town)
    for typed, child in (
        ("Amelia Okafo", "Amelia Okafor"),
        ("Madiso Barker", "Madison Barker"),
        ("Luca Wrad", "Luca Ward"),
    ):
        found = _found(_find(db_session, teacher, typed))
        assert child in found, typed
        assert search.TYPO_GIVEN in found[child] or search.TYPO_FAMILY in found[child]
    # Another name entirely is not a slip.
    assert "Amelia Okafor" not in _found(_find(db_session, teacher, "Amelia Obama"))


def test_short_names_follow_linkages_cut_off_not_a_letter_count(
    db_session: Session, town: Town
) -> None:
    teacher = _teacher(db_session, town)
    # "Leo" and "Leon": three letters allowed no slip before; linkage calls them very close
    # (Jaro-Winkler 0.94), and their sound-alike codes differ.
    leo = _found(_find(db_session, teacher, "Leo Okafor"))
    assert leo.get("Leon Okafor") == (search.TYPO_GIVEN, "same family name")
    # "Mary" and "Mark": one slip in four letters was allowed before; linkage does not call
    # them very close (0.88), and they do not sound alike.
    assert "Mark Okafor" not in _found(_find(db_session, teacher, "Mary Okafor"))
    # "Ann" and "Anne" are very close too, but found as sounding alike, which ranks higher.
    ann = _found(_find(db_session, teacher, "Ann Okafor"))
    assert ann.get("Anne Okafor") == ("given name sounds alike", "same family name")


def test_a_slip_ranks_below_a_sound_alike_and_the_other_schools_child_is_counted(
    db_session: Session, town: Town
) -> None:
    teacher = _teacher(db_session, town)
    result = _find(db_session, teacher, "Madiso Barker")
    assert [m.child.public_id for m in result.matches] == [
        town.children["Madison Barker"].public_id
    ]
    assert result.held_elsewhere == 1  # the other school's Madison, never shown


def test_other_names_previous_names_and_postcodes_are_found_through_their_keys(
    db_session: Session, town: Town
) -> None:
    person = Person()
    db_session.add(person)
    db_session.flush()
    record = SourceRecord(
        agency_id=town.school.id,
        record_ref="rec-grace",
        version=1,
        content_hash="grace",
        given_name="Amelia",
        family_name="Okafor-Hughes",
        other_names=["Grace"],
        previous_family_names=["Jones"],
        date_of_birth=dt.date(2016, 4, 4),
        addresses=[
            {"line": "2 Low Road", "postcode": "SE1 7PB", "date_to": "2020-01-01"},
            {"line": "1 High Street", "postcode": "CR0 1AA"},
        ],
        recorded_by="test",
    )
    db_session.add(record)
    db_session.add(
        PersonRecordLink(
            person_id=person.id,
            agency_id=town.school.id,
            record_ref=record.record_ref,
            method="probabilistic",
            cluster_confidence=0.97,
        )
    )
    db_session.flush()
    index_for_linkage(db_session, [record])
    keys = set(
        db_session.execute(
            select(LinkageNameKey.kind, LinkageNameKey.name).where(
                LinkageNameKey.record_key == f"{town.school.id}:rec-grace"
            )
        )
    )
    assert keys == {
        (NameKind.GIVEN_OTHER, "grace"),
        (NameKind.FAMILY_OTHER, "okafor"),
        (NameKind.FAMILY_OTHER, "hughes"),
        (NameKind.FAMILY_OTHER, "jones"),
        (NameKind.POSTCODE_OTHER, "SE17PB"),
    }
    teacher = _teacher(db_session, town)
    grace = _found(_find(db_session, teacher, "Grace Hughes"))
    assert grace.get("Amelia Okafor-Hughes") == (
        "given name among their other names",
        "family name among their other or previous names",
    )
    assert "Amelia Okafor-Hughes" in _found(_find(db_session, teacher, "Amelia Jones"))
    moved = search.find_children(
        db_session=db_session,
        subject=teacher,
        now=utc_now(),
        query=search.ChildQuery(postcode="se1 7pb"),
    )
    assert _found(moved) == {"Amelia Okafor-Hughes": ("postcode among their previous addresses",)}
    # Re-indexing the record keeps one set of keys, not two.
    index_for_linkage(db_session, [record])
    assert db_session.scalar(
        select(func.count())
        .select_from(LinkageNameKey)
        .where(LinkageNameKey.record_key == f"{town.school.id}:rec-grace")
    ) == len(keys)


def test_a_date_of_birth_finds_the_day_and_month_swapped_either_way(
    db_session: Session, town: Town
) -> None:
    teacher = _teacher(db_session, town)
    # Madison at the school was born 1 June 2014: typed as 6 January it is a swap.
    for typed, reason in (
        (dt.date(2014, 6, 1), "same date of birth"),
        (dt.date(2014, 1, 6), "date of birth with day and month swapped"),
    ):
        found = _found(
            search.find_children(
                db_session=db_session,
                subject=teacher,
                now=utc_now(),
                query=search.ChildQuery(date_of_birth=typed),
            )
        )
        assert found == {"Madison Barker": (reason,)}
