"""The vectorised check of plain event rows agrees with the pydantic model: whatever it accepts,
``EventRow`` accepts with the same stored values and the same content hash (hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fullpicture.chronology.taxonomy import default_taxonomy
from fullpicture.imports.fast_events import accepted_events, normalised_events
from fullpicture.imports.parsing import ValidationContext
from fullpicture.imports.readers import SourceRow
from fullpicture.imports.rows import EventRow, NormalisedEvent

CONTEXT = ValidationContext(today=dt.date(2026, 11, 25), taxonomy=default_taxonomy())
AGENCIES = {"gp-ashdown": 1, "school-oakfield": 2}


def mostly(valid: st.SearchStrategy[Any], tricky: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values four times in five, so that the fast check accepts many rows."""
    return st.integers(0, 4).flatmap(lambda n: tricky if n == 0 else valid)


padding = mostly(
    st.sampled_from(["", " "]), st.sampled_from(["\t", "\u00a0", "\x1c", "\u3000", "  "])
)


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda before, value, after: before + value + after, padding, values, padding)


past = st.dates(dt.date(1900, 1, 1), dt.date(2026, 11, 25))
dates = mostly(
    st.one_of(
        past.map(dt.date.isoformat),
        past.map(lambda d: d.isoformat()[:7]),
        past.map(lambda d: d.isoformat()[:4]),
    ),
    st.one_of(
        st.dates(dt.date(1, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
        st.integers(0, 2030).map(lambda y: f"{y:04d}"),
        st.sampled_from(
            [
                "2024-02-30",
                "2023-13",
                "2024-1-5",
                "24-01-01",
                "2024/01/01",
                "",
                "２０２４",
                "2026-11",
                "2026",
            ]
        ),
    ),
)
people_part = st.builds(
    lambda record, role: f"{record}:{role}",
    mostly(
        st.sampled_from(["C1", "C2", "A1", "C-10"]),
        st.sampled_from(["", "C:1", "x" * 65, "Zoë", "C 3"]),
    ),
    mostly(
        st.sampled_from(
            ["victim", "witness", "subject", "household_member", "alleged_perpetrator"]
        ),
        st.sampled_from(
            ["Witness", "alleged-perpetrator", "household member", "boss", "", "SUBJECT "]
        ),
    ),
)
people = mostly(
    st.lists(people_part, min_size=1, max_size=4).map("|".join),
    st.sampled_from(["C1", "|", "C1:victim|", " C1 : victim | C2:witness ", ""]),
)
text = mostly(st.sampled_from(["", "note", "Seen at home."]), st.text(max_size=8))

rows = st.fixed_dictionaries(
    {
        "agency": mostly(
            st.sampled_from(["gp-ashdown", "school-oakfield"]),
            st.sampled_from([" gp-ashdown ", "police", ""]),
        ),
        "event_id": padded(
            mostly(st.sampled_from(["E1", "E-2", "e3"]), st.sampled_from(["", "e" * 65, "É"]))
        ),
        "event_date": padded(dates),
        "date_recorded": mostly(st.just(""), padded(dates)),
        "concern_code": padded(
            mostly(
                st.sampled_from(["WNB", "dom-abu", "STR-ENG", "Neg-Bas"]),
                st.sampled_from(["NOPE", "ﬀ", "", "W NB"]),
            )
        ),
        "severity": mostly(
            st.sampled_from(["", "1", "3", "5"]), st.sampled_from(["05", "6", "x", " 3 ", "٣"])
        ),
        "summary": mostly(
            st.sampled_from(["Not brought.", " Hungry "]),
            st.one_of(st.just(""), st.text(max_size=10)),
        ),
        "information_type": mostly(
            st.sampled_from(["fact", "Reported", "OPINION"]),
            st.sampled_from(["gossip", "", "ﬁct", "fact "]),
        ),
        "impact_on_child": text,
        "action_taken": text,
        "practitioner": mostly(st.sampled_from(["", "P1"]), st.sampled_from(["p" * 65, " P2 "])),
        "people": padded(people),
        "change_reason": st.sampled_from(["", "typo"]),
    }
)


def check_events(rows: list[SourceRow]) -> list[NormalisedEvent | None]:
    """For each row, its event if the vectorised check accepts it, else None."""
    result: list[NormalisedEvent | None] = [None] * len(rows)
    for position, event in normalised_events(
        accepted_events(rows, agencies=AGENCIES, context=CONTEXT)
    ):
        result[position] = event
    return result


def _by_model(values: dict[str, Any]) -> NormalisedEvent | None:
    agency = values["agency"]
    agency_id = AGENCIES.get(agency.strip()) if isinstance(agency, str) else None
    try:
        row = EventRow.model_validate(values, context=CONTEXT)
    except ValidationError:
        return None
    return None if agency_id is None else row.normalised(agency_id=agency_id)


@settings(max_examples=300, deadline=None)
@given(st.lists(rows, min_size=1, max_size=12))
def test_whatever_the_fast_check_accepts_the_model_accepts_identically(
    batch: list[dict[str, Any]],
) -> None:
    source = [SourceRow(number=n, values=dict(v), plain_text=True) for n, v in enumerate(batch, 1)]
    fast = check_events(source)
    for values, accepted in zip(batch, fast, strict=True):
        if accepted is not None:
            assert _by_model(values) == accepted, values


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(rows, st.sets(st.sampled_from(EventRow.columns), max_size=4)),
        min_size=1,
        max_size=12,
    )
)
def test_null_is_blank_for_the_fast_check_as_for_the_model(
    batch: list[tuple[dict[str, Any], set[str]]],
) -> None:
    """JSON Lines and Parquet feeds hold null where CSV holds nothing."""
    with_nulls = [
        {column: None if column in nulled else value for column, value in values.items()}
        for values, nulled in batch
    ]
    source = [
        SourceRow(number=n, values=dict(v), plain_text=True) for n, v in enumerate(with_nulls, 1)
    ]
    fast = check_events(source)
    for values, accepted in zip(with_nulls, fast, strict=True):
        if accepted is not None:
            assert _by_model(values) == accepted, values


def test_plain_rows_are_accepted_by_the_fast_check() -> None:
    values = {
        "agency": "gp-ashdown",
        "event_id": "E1",
        "event_date": "2024-02",
        "date_recorded": "2024-03-01",
        "concern_code": "dom-abu",
        "severity": "4",
        "summary": " Police attended. ",
        "information_type": "Reported",
        "impact_on_child": "",
        "action_taken": "Referred",
        "practitioner": "P1",
        "people": "C2:witness|C1:victim| A1 : alleged_perpetrator",
        "change_reason": "",
    }
    (accepted,) = check_events([SourceRow(number=1, values=values, plain_text=True)])
    assert accepted is not None
    assert accepted == _by_model(values)
    assert accepted.event_date == "2024-02-29"
    assert accepted.people == (("A1", "alleged_perpetrator"), ("C1", "victim"), ("C2", "witness"))


def test_rows_with_problems_or_structured_values_are_left_to_the_model() -> None:
    values = {"agency": "gp-ashdown", "people": [{"record_id": "C1", "role": "victim"}]}
    (structured,) = check_events([SourceRow(number=1, values=values, plain_text=False)])
    assert structured is None


def test_quotes_and_backslashes_hash_as_the_model_hashes_them() -> None:
    """The fast check spells plain ASCII rows for hashing itself; Python's quoting rules
    (which quote, what is escaped) must come out the same."""
    summaries = ["it's", 'say "no"', 'it\'s "both"', "back\\slash", "'\\'", '"', "plain"]
    people = ["C1:victim", "C1:victim|C2:witness|A1:subject", "C'1:victim"]
    source = [
        SourceRow(
            number=number,
            values={
                "agency": "gp-ashdown",
                "event_id": f"E'{number}",
                "event_date": "2024-02-03",
                "date_recorded": "",
                "concern_code": "WNB",
                "severity": "" if number % 2 else "3",
                "summary": summary,
                "information_type": "fact",
                "impact_on_child": "",
                "action_taken": 'said "fine"',
                "practitioner": "P\\1",
                "people": people[number % len(people)],
                "change_reason": "",
            },
            plain_text=True,
        )
        for number, summary in enumerate(summaries, 1)
    ]
    fast = check_events(source)
    for row, accepted in zip(source, fast, strict=True):
        assert accepted is not None, row.values
        assert accepted == _by_model(dict(row.values or {})), row.values
