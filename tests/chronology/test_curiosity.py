"""Each curiosity prompt of the child's page (curiosity_prompts.yaml) is raised by what the
record shows, says what raised it, and stays quiet just short of its rule."""

from __future__ import annotations

import datetime as dt

from fullpicture.chronology.curiosity import CuriosityPrompt, curiosity_prompts
from fullpicture.chronology.models import DatePrecision
from fullpicture.chronology.repository import Chronology, ChronologyEntry
from fullpicture.linkage.schemas import (
    ChildHouseholdView,
    HouseholdAdultRead,
    HouseholdPeriodRead,
)

TODAY = dt.date(2026, 12, 4)
_ids = iter(range(1, 1000))


def chronology_entry(
    summary: str,
    *,
    days_ago: int,
    agency: str = "Meadow Surgery",
    code: str = "PRC-RTN",
    code_kind: str = "process",
    severity: int | None = None,
    incident_group: int | None = None,
) -> ChronologyEntry:
    day = TODAY - dt.timedelta(days=days_ago)
    event_id = next(_ids)
    return ChronologyEntry(
        event_id=event_id,
        agency_code=agency.lower().replace(" ", "-"),
        agency_name=agency,
        agency_kind="gp",
        event_ref=f"ev-{event_id}",
        version=1,
        event_date=day,
        date_precision=DatePrecision.DAY,
        date_label=day.isoformat(),
        date_recorded=day,
        concern_code=code,
        code_kind=code_kind,
        category="test",
        severity=severity,
        severity_source="practitioner",
        information_type="fact",
        summary=summary,
        impact_on_child=None,
        action_taken=None,
        about_person_id=1,
        about="child",
        participant_role="subject",
        incident_group=incident_group,
    )


def _chronology(*entries: ChronologyEntry) -> Chronology:
    return Chronology(
        subject="child",
        subject_id=1,
        agency_code=None,
        entries=list(entries),
        incident_groups=[],
        incidents=len(entries),
        same_incident_rule="test",
    )


def _code(agency: str) -> str:
    """An agency's code, as linkage's evidence names it ("Meadow Surgery" -> "meadow-surgery")."""
    return agency.lower().replace(" ", "-")


def _adult(name: str, *, known_to: list[str], moved_in_days_ago: int) -> HouseholdAdultRead:
    """An adult as the household view gives them: agencies by code and by name, and each piece
    of evidence with its agency's code and name (``agency``, ``agency_name``)."""
    agency = {"agency": _code(known_to[0]), "agency_name": known_to[0]} if known_to else {}
    return HouseholdAdultRead(
        person_public_id=f"adult-{name}",
        name=name,
        date_of_birth=dt.date(1990, 1, 1),
        roles=["partner of mother"],
        known_to_agencies=[_code(a) for a in known_to],
        known_to_agency_names=known_to,
        unseen_adult=len(known_to) <= 1,
        date_from=TODAY - dt.timedelta(days=moved_in_days_ago),
        date_to=None,
        evidence=[
            {
                "basis": "shared address",
                **agency,
                "record_id": "H23",
                "address": "1 High Street",
                "postcode": "CR0 1AA",
            },
            {
                "basis": "feed relationship",
                **agency,
                "record_id": "H03",
                "related_record_id": "H23",
                "relationship": "regular_visitor",
            },
            {"basis": "a basis the words do not know", **agency, "record_id": "H99"},
        ],
    )


def _households(*adults: HouseholdAdultRead) -> ChildHouseholdView:
    return ChildHouseholdView(
        child_public_id="child",
        households=[
            HouseholdPeriodRead(
                household_public_id="h1",
                address="1 High Street, CR0 1AA",
                date_from=TODAY - dt.timedelta(days=2000),
                date_to=None,
                adults=list(adults),
                children=["child"],
            )
        ],
        unseen_adults=[a.person_public_id for a in adults if a.unseen_adult],
    )


def _prompts(
    chronology: Chronology,
    households: ChildHouseholdView | None = None,
    agencies: tuple[str, ...] = ("Meadow Surgery",),
) -> dict[str, list[CuriosityPrompt]]:
    found: dict[str, list[CuriosityPrompt]] = {}
    for prompt in curiosity_prompts(
        entries=chronology.entries,
        households=households,
        agencies_involved=agencies,
        today=TODAY,
    ):
        found.setdefault(prompt.kind, []).append(prompt)
    return found


def test_a_child_not_seen_alone_across_two_contacts() -> None:
    first = chronology_entry("Home visit; child seen with mother in the kitchen.", days_ago=40)
    second = chronology_entry("Clinic: mother present throughout, child quiet.", days_ago=10)
    assert "child not seen alone" not in _prompts(_chronology(first))
    [prompt] = _prompts(_chronology(first, second))["child not seen alone"]
    assert "across 2 contacts" in prompt.question
    assert [e.event_id for e in prompt.evidence] == [first.event_id, second.event_id]
    assert "mother present throughout" in prompt.evidence[1].text


def test_not_seen_alone_matches_its_words_case_blind_once_an_entry() -> None:
    """Any of the rule's phrases, in any case, anywhere in the summary; an entry holding two
    phrases is one contact, and a near miss is none."""
    shouting = chronology_entry("HOME VISIT: CHILD NOT SEEN ALONE.", days_ago=50)
    both = chronology_entry(
        "Mother Present Throughout; the child could not be seen alone.", days_ago=20
    )
    seen = chronology_entry("Child seen alone at school and spoke freely.", days_ago=15)
    near = chronology_entry("Not seen alon- (note cut short)", days_ago=12)
    household = chronology_entry("Not seen alone.", days_ago=5).model_copy(
        update={"about": "household member (partner)"}
    )
    [prompt] = _prompts(_chronology(shouting, both, seen, near, household))["child not seen alone"]
    assert "across 2 contacts" in prompt.question
    assert [e.event_id for e in prompt.evidence] == [shouting.event_id, both.event_id]


def test_repeated_was_not_brought_within_a_year() -> None:
    recent = chronology_entry("Not brought to the hearing check.", days_ago=30, code="WNB")
    old = chronology_entry("Not brought to the dentist.", days_ago=400, code="WNB")
    assert "repeated was-not-brought" not in _prompts(_chronology(recent, old))
    again = chronology_entry("Not brought to the follow-up.", days_ago=5, code="WNB")
    [prompt] = _prompts(_chronology(recent, old, again))["repeated was-not-brought"]
    assert "not brought 2 times in 365 days" in prompt.question
    assert {e.event_id for e in prompt.evidence} == {recent.event_id, again.event_id}


def test_a_serious_concern_only_one_agency_holds() -> None:
    concern = chronology_entry(
        "Bruise on the upper arm, explanation vague.",
        days_ago=20,
        code="PHY-INJ",
        code_kind="concern",
        severity=3,
    )
    agencies = ("Meadow Surgery", "Rowan Primary School")
    [prompt] = _prompts(_chronology(concern), agencies=agencies)["concern one agency holds"]
    assert prompt.question.startswith("Meadow Surgery recorded 1 concern that")
    assert "Rowan Primary School" in prompt.question
    assert "Bruise on the upper arm" in prompt.evidence[0].text
    # Recorded by both agencies (one incident), or below the severity: no prompt.
    shared = concern.model_copy(update={"incident_group": 1})
    minor = concern.model_copy(update={"severity": 2})
    for entry in (shared, minor):
        assert "concern one agency holds" not in _prompts(_chronology(entry), agencies=agencies)
    # Nobody else works with the child: nobody to tell.
    assert "concern one agency holds" not in _prompts(_chronology(concern))


def test_an_adult_no_other_agency_has_met_and_who_moved_in() -> None:
    unseen = _adult("Dean Cole", known_to=["Housing"], moved_in_days_ago=60)
    known = _adult("Sara Cole", known_to=["Housing", "Meadow Surgery"], moved_in_days_ago=900)
    found = _prompts(_chronology(), _households(unseen, known))
    [prompt] = found["unseen adult"]
    assert "Who is Dean Cole" in prompt.question
    assert "known only to Housing" in prompt.evidence[0].text
    # Which records put him there, in words a practitioner can ask about, not linkage's keys;
    # the agency by its name, never its code ("housing record H23 …").
    assert [e.text for e in prompt.evidence[1:]] == [
        "Housing record H23 gives this address: 1 High Street, CR0 1AA.",
        "Housing's records name record H23 as the regular visitor of record H03.",
        "Recorded: basis a basis the words do not know, agency Housing, record id H99.",
    ]
    # Dean moved in 60 days ago (a change in the household); Sara 900 days ago (not recent).
    [change] = found["change in the household"]
    assert "Dean Cole moved in" in change.question and "Sara" not in change.question
    assert _prompts(_chronology(), _households(known)) == {}


def test_no_prompt_without_anything_that_raises_one() -> None:
    routine = chronology_entry("Immunisations given; child well.", days_ago=3)
    assert _prompts(_chronology(routine), None) == {}
