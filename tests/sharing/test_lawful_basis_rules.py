"""The lawful-basis rules: a decision without a basis, or (not sharing) without a reason, is
refused with a clear message and nothing is saved; the data files meet their schemas."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fullpicture.sharing import service
from fullpicture.sharing.lawful_bases import (
    golden_rules,
    lawful_bases,
    load_golden_rules,
    load_lawful_bases,
)
from fullpicture.sharing.models import SharedEntry, SharingDecision, SharingOutcome
from fullpicture.sharing.schemas import EntryRef
from tests.access.principals import subject_of
from tests.sharing.scenario import a_share, build


def test_the_rule_files_load_and_the_duty_to_share_is_not_yet_in_force() -> None:
    bases = load_lawful_bases()
    assert [r.number for r in load_golden_rules().rules] == [1, 2, 3, 4, 5, 6, 7]
    duty = bases.gateway(service.DUTY_TO_SHARE)
    assert duty is not None and duty.detriment_test
    # existing-systems.md §5; CWSA 2026 s.78(5): commenced by regulations, none found.
    assert duty.in_force_from is None
    assert not duty.in_force_on(dt.date(2026, 12, 6))
    assert {c.regime for c in bases.special_category_conditions} == {"uk_gdpr", "law_enforcement"}


CASES = {
    "a share without a basis": (
        {"basis": None},
        "A decision to share needs its lawful basis",
    ),
    "a decision not to share without a reason": (
        {
            "outcome": SharingOutcome.NOT_SHARED,
            "basis": None,
            "regime": None,
            "entries": [],
        },
        "A decision not to share needs its reason",
    ),
    "special category data without a condition": (
        {"special_category": True},
        "Special category data",
    ),
    "a police condition under UK GDPR": (
        {"special_category": True, "special_category_condition": "dpa_sch8_para4"},
        "is not a condition under UK GDPR",
    ),
    "a police basis under UK GDPR": (
        {"basis": "law_enforcement_task"},
        "is not a basis under UK GDPR",
    ),
    "the family not told, with no reason": (
        {"family_informed": False},
        "Say why the family was not told",
    ),
    "the duty to share before it is in force": (
        {"gateways": ["ca2004_s16LA"], "detriment_test": "not more detrimental"},
        "cannot be cited",
    ),
    "a share of nothing": (
        {"entries": []},
        "Say what was shared",
    ),
    "an unknown basis": (
        {"basis": "legitimate_interests"},
        "Lawful basis 'legitimate_interests' is not one of",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_decision_breaking_a_rule_is_refused_and_nothing_is_saved(
    db_session: Session, case: str
) -> None:
    changes, message = CASES[case]
    world = build(db_session)
    decision_in = a_share(world.gp, world.school_events[0].event_ref, **changes)
    with pytest.raises(service.SharingDecisionRefused) as refused:
        service.record_decision(
            db_session=db_session,
            subject=subject_of(world.teacher),
            person_public_id=world.child.public_id,
            decision_in=decision_in,
        )
    assert any(message in problem for problem in refused.value.problems), refused.value.problems
    assert str(refused.value).startswith("The sharing decision was not recorded:")
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0
    assert db_session.scalar(select(func.count()).select_from(SharedEntry)) == 0


def test_once_commenced_the_duty_needs_its_detriment_test() -> None:
    bases = lawful_bases()
    duty = bases.gateway(service.DUTY_TO_SHARE)
    assert duty is not None
    commenced = bases.model_copy(
        update={
            "gateways": tuple(
                g.model_copy(update={"in_force_from": dt.date(2027, 1, 1)})
                if g.code == service.DUTY_TO_SHARE
                else g
                for g in bases.gateways
            )
        }
    )
    without_test = a_share_for_rules(gateways=["ca2004_s16LA"])
    assert any(
        "record the test" in p
        for p in service.lawful_basis_problems(
            without_test, on=dt.date(2027, 1, 4), rules=commenced
        )
    )
    with_test = a_share_for_rules(
        gateways=["ca2004_s16LA"], detriment_test="sharing protects her; no detriment"
    )
    assert service.lawful_basis_problems(with_test, on=dt.date(2027, 1, 4), rules=commenced) == []
    assert service.lawful_basis_problems(with_test, on=dt.date(2026, 12, 31), rules=commenced)


def a_share_for_rules(**changes: object) -> service.SharingDecisionCreate:
    from fullpicture.sharing.schemas import EntryRef, SharingDecisionCreate

    fields: dict[str, object] = {
        "outcome": SharingOutcome.SHARED,
        "to_agency_code": "gp",
        "recipient_role": "GP",
        "purpose": "p",
        "entries": [EntryRef(event_ref="E1")],
        "regime": "uk_gdpr",
        "basis": "public_task",
        "family_informed": True,
    }
    fields.update(changes)
    return SharingDecisionCreate.model_validate(fields)


def test_another_agencys_entry_is_refused_without_saying_whether_it_exists(
    db_session: Session,
) -> None:
    """A share names only the sharer's own entries (the decision is the holder's, golden rules
    6-7): another agency's entry is refused in the same words whether or not it exists, so the
    refusal tells nothing of what that agency holds; an unknown entry of the sharer's own is
    refused as one it may not see."""
    world = build(db_session)
    named = [
        EntryRef(agency_code=world.police.code, event_ref=world.police_event.event_ref),
        EntryRef(agency_code=world.police.code, event_ref="no-such-entry"),
        EntryRef(agency_code=world.school.code, event_ref="no-such-entry"),
    ]
    decision_in = a_share(world.gp).model_copy(update={"entries": named})
    with pytest.raises(service.SharingDecisionRefused) as refused:
        service.record_decision(
            db_session=db_session,
            subject=subject_of(world.teacher),
            person_public_id=world.child.public_id,
            decision_in=decision_in,
        )
    assert refused.value.problems == [
        f"Entry {world.police.code}:{ref} is not your agency's: a sharing decision shares only "
        "entries your agency recorded; ask that agency to record its own decision."
        for ref in (world.police_event.event_ref, "no-such-entry")
    ] + [
        f"Entry {world.school.code}:no-such-entry is not an entry about this child that you may "
        "see."
    ]
    assert db_session.scalar(select(func.count()).select_from(SharingDecision)) == 0


def test_consent_as_the_basis_is_recorded_with_a_warning(db_session: Session) -> None:
    world = build(db_session)
    decision = service.record_decision(
        db_session=db_session,
        subject=subject_of(world.teacher),
        person_public_id=world.child.public_id,
        decision_in=a_share(world.gp, world.school_events[0].event_ref, basis="consent"),
    )
    read = service.to_read(db_session, decision)
    assert read.warnings and "Consent is usually not the right lawful basis" in read.warnings[0]
    assert golden_rules().rules[2].number == 3
