"""``core.database.without_parallel_workers``: the statements inside are planned without
parallel workers on PostgreSQL, and the setting is as it was afterwards (find a child runs
its statements so: a parallel plan of its close-spelling statement was 2-3x slower on a
busy server)."""

from __future__ import annotations

from contextlib import suppress

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from fullpicture.access import service as access_service
from fullpicture.access.models import Role
from fullpicture.core.database import utc_now, without_parallel_workers
from fullpicture.linkage import search
from tests.access.principals import make_user

SETTING = "max_parallel_workers_per_gather"


def _workers(db_session: Session) -> str:
    return str(db_session.scalar(text(f"SELECT current_setting('{SETTING}')")))


def _plan(db_session: Session) -> str:
    rows = db_session.execute(text("EXPLAIN SELECT count(*) FROM person_record_link"))
    return "\n".join(line for (line,) in rows)


@pytest.mark.postgres_only
def test_statements_inside_are_planned_without_workers_and_the_setting_comes_back(
    db_session: Session,
) -> None:
    # Parallel plans made free, so even an empty table's count is planned with workers.
    for name in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        db_session.execute(text(f"SET LOCAL {name} = 0"))
    db_session.execute(text(f"SET LOCAL {SETTING} = 3"))
    db_session.execute(text("SET LOCAL max_parallel_workers = 3"))
    assert "Gather" in _plan(db_session)
    with without_parallel_workers(db_session):
        assert _workers(db_session) == "0"
        assert "Gather" not in _plan(db_session)
    assert _workers(db_session) == "3"
    assert "Gather" in _plan(db_session)
    # An exception inside (a search too vague to run) still puts the setting back.
    with pytest.raises(search.SearchTooVague), without_parallel_workers(db_session):
        raise search.SearchTooVague("Enter at least two letters of the child's name")
    assert _workers(db_session) == "3"


@pytest.mark.postgres_only
def test_find_a_child_leaves_the_setting_as_it_was(db_session: Session) -> None:
    db_session.execute(text(f"SET LOCAL {SETTING} = 3"))
    user = make_user(db_session, role=Role.PRACTITIONER)
    subject = access_service.subject_for_cli(db_session=db_session, username=user.username)
    for query in (search.ChildQuery(name="Amelia Okafor"), search.ChildQuery(name="A")):
        # "A" is too vague: the search stops inside, after setting the workers.
        with suppress(search.SearchTooVague):
            search.find_children(db_session=db_session, subject=subject, now=utc_now(), query=query)
        assert _workers(db_session) == "3"


def test_on_sqlite_no_statement_is_sent(db_session: Session, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite has no parallel workers")
    sent: list[str] = []
    engine = db_session.get_bind().engine

    def record(*args: object) -> None:
        sent.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with without_parallel_workers(db_session):
            pass
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sent == []
