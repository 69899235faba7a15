"""Property: what is stored depends on the rows, not on how they were batched or how often
they were sent (hypothesis, on both backends)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from fullpicture.imports import service
from tests.imports.feeds import event, record, register_agencies, stored_state, write_csv

RECORDS = [record(f"C{n}") for n in range(4)]
SUMMARIES = ["Not brought to clinic.", "Arrived hungry.", "Home visit, all well.", "Police called."]
CODES = ["WNB", "NEG-BAS", "STR-ENG", "DOM-ABU"]

# Each event id has one content per "generation"; a feed is a list of (id, generation).
contents = st.dictionaries(
    st.integers(0, 7),
    st.tuples(st.sampled_from(SUMMARIES), st.sampled_from(CODES), st.integers(0, 3)),
    min_size=1,
)


def _rows(content: dict[int, tuple[str, str, int]], order: list[int]) -> list[dict[str, Any]]:
    return [
        event(
            f"E{n}",
            people=f"C{content[n][2]}:subject",
            summary=content[n][0],
            concern_code=content[n][1],
        )
        for n in order
        if n in content
    ]


def _import(db_session: Session, workdir: Path, name: str, rows: list[dict[str, Any]]) -> None:
    directory = workdir / name
    directory.mkdir()
    write_csv(directory / "records.csv", RECORDS)
    if rows:
        write_csv(directory / "events.csv", rows)
    service.import_feed(db_session=db_session, paths=[directory], imported_by="property")


def _state_after(db_session: Session, scenario: Callable[[Path], None]) -> dict[str, Any]:
    nested = db_session.begin_nested()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            scenario(Path(workdir))
        return stored_state(db_session)
    finally:
        nested.rollback()


PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(content=contents, order=st.lists(st.integers(0, 7), max_size=16), cut=st.integers(0, 16))
def test_one_batch_equals_split_batches_and_repeats_change_nothing(
    db_session: Session, content: dict[int, tuple[str, str, int]], order: list[int], cut: int
) -> None:
    register_agencies(db_session)
    rows = _rows(content, order)

    def once(workdir: Path) -> None:
        _import(db_session, workdir, "all", rows)

    def twice(workdir: Path) -> None:
        _import(db_session, workdir, "all", rows)
        _import(db_session, workdir, "again", rows)

    def split(workdir: Path) -> None:
        _import(db_session, workdir, "head", rows[:cut])
        _import(db_session, workdir, "tail", rows[cut:])

    expected = _state_after(db_session, once)
    assert _state_after(db_session, twice) == expected
    assert _state_after(db_session, split) == expected
    assert len(expected["events"]) == len({row["event_id"] for row in rows})


@PROPERTY
@given(first=contents, second=contents)
def test_resending_a_changed_feed_adds_one_version_per_changed_event(
    db_session: Session,
    first: dict[int, tuple[str, str, int]],
    second: dict[int, tuple[str, str, int]],
) -> None:
    register_agencies(db_session)
    ids = sorted(first)

    def sequence(workdir: Path) -> None:
        _import(db_session, workdir, "one", _rows(first, ids))
        _import(db_session, workdir, "two", _rows(second, ids))

    def sequence_with_repeats(workdir: Path) -> None:
        _import(db_session, workdir, "one", _rows(first, ids))
        _import(db_session, workdir, "one-again", _rows(first, ids))
        _import(db_session, workdir, "two", _rows(second, ids))
        _import(db_session, workdir, "two-again", _rows(second, ids))

    state = _state_after(db_session, sequence)
    assert _state_after(db_session, sequence_with_repeats) == state
    changed = {n for n in ids if n in second and second[n] != first[n]}
    versions: dict[str, int] = {}
    for stored in state["events"]:
        versions[stored[1]] = max(versions.get(stored[1], 0), stored[2])
    assert versions == {f"E{n}": 2 if n in changed else 1 for n in ids}
