"""``fullpicture import`` and ``fullpicture quarantine``, run as an operator would."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role
from fullpicture.agencies.models import Agency
from fullpicture.cli.main import app
from fullpicture.core import runtime
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.core.settings import get_settings
from fullpicture.imports.models import ImportBatch, QuarantinedRow, QuarantineStatus
from tests.access.principals import make_user
from tests.conftest import TestDatabase
from tests.imports.feeds import event, record, register_agencies, write_csv

#: Who an import without --as is attributed to: the machine's operator, never a typed name.
OPERATOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def cli_database(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestDatabase]:
    url = fresh_database.url
    if fresh_database.schema:
        url = f"{url}?options=-csearch_path%3D{fresh_database.schema}"
    monkeypatch.setenv("FULLPICTURE_DATABASE_URL", url)
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()
    with unit_of_work(session_factory(fresh_database.engine)) as session:
        register_agencies(session)
    yield fresh_database
    runtime.get_engine().dispose()
    for cached in (get_settings, runtime.get_engine, runtime.get_session_factory):
        cached.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    # Messages on stderr wrap at rich's own width; compare words, not line breaks.
    return result.exit_code, " ".join(result.output.split())


def test_an_import_is_attributed_to_a_principal_never_to_typed_text(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    write_csv(feed / "records.csv", [record("C1")])
    code, out = _run("import", str(feed), "--by", "Ashdown data team")
    assert code == 2 and "--by" in out
    code, out = _run("import", str(feed), "--as", "nobody.here")
    assert code == 3 and "nobody.here" in out
    with session_factory(cli_database.engine)() as session:
        assert session.scalars(select(ImportBatch)).all() == []


def test_import_prints_counts_and_reasons_then_export_fix_reimport(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    write_csv(feed / "records.csv", [record("C1"), record("C2")])
    write_csv(
        feed / "events.csv", [event("E1"), event("E2", event_date="2099-01-01", date_recorded="")]
    )
    code, out = _run("import", str(feed))
    assert code == 0, out
    assert "committed" in out and OPERATOR in out
    assert "events row 2" in out and "in the future" in out
    with session_factory(cli_database.engine)() as session:
        (follow_up,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.follow_up")
        ).all()
        assert follow_up.actor == OPERATOR
        assert follow_up.target.startswith("import_batch:")

    with session_factory(cli_database.engine)() as session:
        batch = session.scalars(select(ImportBatch)).one()
        (row,) = session.scalars(select(QuarantinedRow)).all()

    # Rows as they arrived are child data: shown only --as a user with imports:write.
    with unit_of_work(session_factory(cli_database.engine)) as session:
        make_user(session, role=Role.ADMINISTRATOR, username="data.team")
    code, out = _run("quarantine", "list", "--batch", batch.public_id)
    assert code == 2 and "--as" in out
    code, out = _run("quarantine", "list", "--batch", batch.public_id, "--as", "data.team")
    assert code == 0 and "E2" in out
    code, out = _run("quarantine", "show", str(row.id), "--as", "data.team")
    assert code == 0 and "2099-01-01" in out

    fixes = tmp_path / "fixes"
    code, out = _run(
        "quarantine", "export", batch.public_id, "--out", str(fixes), "--as", "data.team"
    )
    assert code == 0, out
    exported = fixes / "events.csv"
    exported.write_text(
        exported.read_text(encoding="utf-8").replace("2099-01-01", "2024-01-01"), encoding="utf-8"
    )
    code, out = _run("import", str(exported))
    assert code == 0, out
    assert "Repaired 1 row" in out
    with session_factory(cli_database.engine)() as session:
        assert session.get(QuarantinedRow, row.id).status is QuarantineStatus.REPAIRED  # type: ignore[union-attr]


def test_dismiss_runs_as_a_user_within_their_agencys_feeds(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "records.csv",
        [record("C1", agency="gp-elsewhere"), record("S1", agency="school-oakfield", sex="?")],
    )
    assert _run("import", str(path), "--no-follow-up")[0] == 0
    with unit_of_work(session_factory(cli_database.engine)) as session:
        rows = {row.row_ref: row.id for row in session.scalars(select(QuarantinedRow))}
        gp = session.scalars(select(Agency).where(Agency.code == "gp-ashdown")).one()
        make_user(session, role=Role.ADMINISTRATOR, username="data.team")
        make_user(session, role=Role.ADMINISTRATOR, agency=gp, username="gp.data")
        make_user(session, role=Role.DESIGNATED_LEAD, agency=gp, username="gp.lead")
    elsewhere, school = str(rows["C1"]), str(rows["S1"])

    code, out = _run("quarantine", "dismiss", elsewhere, "--reason", "not ours")
    assert code == 2 and "--as" in out
    code, out = _run("quarantine", "dismiss", elsewhere, "--reason", "x", "--as", "gp.lead")
    assert code == 3 and "imports:write" in out
    # Another agency's row is answered as an unknown one, and nothing is dismissed.
    refused = _run("quarantine", "dismiss", school, "--reason", "x", "--as", "gp.data")
    unknown = _run("quarantine", "dismiss", "999999", "--reason", "x", "--as", "gp.data")
    assert refused[0] == unknown[0] == 2 and "Nothing dismissed" in refused[1]
    assert refused[1].replace(school, "N") == unknown[1].replace("999999", "N")
    # All or none: the unknown row stops the whole command.
    code, out = _run(
        "quarantine", "dismiss", elsewhere, "999999", "--reason", "x", "--as", "data.team"
    )
    assert code == 2 and "Nothing dismissed" in out

    code, out = _run(
        "quarantine", "dismiss", elsewhere, school, "--reason", "sent in error", "--as", "data.team"
    )
    assert code == 0, out
    code, out = _run("quarantine", "dismiss", elsewhere, "--reason", "again", "--as", "data.team")
    assert code == 2 and "already dismissed" in out
    with session_factory(cli_database.engine)() as session:
        dismissed = session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.id)).all()
        entries = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.reason)
        ).all()
    assert [(row.status, row.dismissed_by) for row in dismissed] == [
        (QuarantineStatus.DISMISSED, "user:data.team")
    ] * 2
    # The import and each dismissal are attributable in the tamper-evident audit log.
    assert [entry for entry in entries if entry[1] == "quarantine.dismiss"] == [
        ("user:data.team", "quarantine.dismiss", f"quarantined_row:{row_id}", "sent in error")
        for row_id in (elsewhere, school)
    ]
    assert any(action == "import.batch" for _, action, _, _ in entries)


def test_file_level_error_exits_non_zero_with_a_message(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("agency,event_id\ngp-ashdown,E1\n", encoding="utf-8")
    code, out = _run("import", str(path))
    assert code == 2
    assert "Nothing imported" in out and "required column(s) missing" in out
    code, out = _run("import", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in out
    with session_factory(cli_database.engine)() as session:
        assert session.scalars(select(ImportBatch)).all() == []


def test_quarantine_reads_need_imports_write_and_stay_within_the_users_agency(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "records.csv",
        [
            record("C1", date_of_birth="2019-02-31"),
            record("S1", agency="school-oakfield", sex="?"),
            record("X1", agency="", sex="?"),
        ],
    )
    assert _run("import", str(path), "--no-follow-up")[0] == 0
    with unit_of_work(session_factory(cli_database.engine)) as session:
        batch = session.scalars(select(ImportBatch)).one().public_id
        rows = {row.row_ref: row.id for row in session.scalars(select(QuarantinedRow))}
        gp = session.scalars(select(Agency).where(Agency.code == "gp-ashdown")).one()
        make_user(session, role=Role.ADMINISTRATOR, username="data.team")
        make_user(session, role=Role.ADMINISTRATOR, agency=gp, username="gp.data")
        make_user(session, role=Role.DESIGNATED_LEAD, agency=gp, username="gp.lead")

    # imports:write is needed; a designated lead does not hold it.
    for command in (["list"], ["show", str(rows["C1"])], ["export", batch, "--out", "x"]):
        code, out = _run("quarantine", *command, "--as", "gp.lead")
        assert code == 3 and "imports:write" in out

    # A user of the GP sees the GP's rows only; the school's row is answered as unknown.
    code, out = _run("quarantine", "list", "--as", "gp.data")
    assert code == 0 and "C1" in out and "S1" not in out
    code, out = _run("quarantine", "show", str(rows["C1"]), "--as", "gp.data")
    assert code == 0 and "2019-02-31" in out
    refused = _run("quarantine", "show", str(rows["S1"]), "--as", "gp.data")
    unknown = _run("quarantine", "show", "999999", "--as", "gp.data")
    assert refused[0] == unknown[0] == 2
    assert refused[1].replace(str(rows["S1"]), "N") == unknown[1].replace("999999", "N")
    # The batch holds the school's row and an unreadable one too: the GP's user exports the
    # GP's rows of it, and nobody else's.
    code, out = _run(
        "quarantine", "export", batch, "--out", str(tmp_path / "gp"), "--as", "gp.data"
    )
    assert code == 0 and "Wrote 1 records row(s)" in out, out
    gp_export = (tmp_path / "gp" / "records.csv").read_text(encoding="utf-8")
    assert "C1" in gp_export and "S1" not in gp_export and "X1" not in gp_export

    # The data team, tied to no agency, handles every feed.
    code, out = _run("quarantine", "list", "--as", "data.team")
    assert code == 0 and "C1" in out and "S1" in out and "X1" in out
    code, out = _run(
        "quarantine", "export", batch, "--out", str(tmp_path / "all"), "--as", "data.team"
    )
    assert code == 0 and "Wrote 3 records row(s)" in out, out

    with unit_of_work(session_factory(cli_database.engine)) as session:
        reads = session.execute(
            select(AuditEntry.actor, AuditEntry.target, AuditEntry.detail)
            .where(AuditEntry.action == "quarantine.read")
            .order_by(AuditEntry.position)
        ).all()
    assert [(actor, target) for actor, target, _ in reads] == [
        ("user:gp.data", "quarantine"),
        ("user:gp.data", f"quarantined_row:{rows['C1']}"),
        ("user:gp.data", f"import_batch:{batch}"),
        ("user:data.team", "quarantine"),
        ("user:data.team", f"import_batch:{batch}"),
    ]
    assert reads[0][2]["quarantined_rows"] == [rows["C1"]]
    assert reads[2][2]["quarantined_rows"] == [rows["C1"]]
    assert reads[2][2]["purpose"] == "quarantined import rows exported"
    assert sorted(reads[4][2]["quarantined_rows"]) == sorted(rows.values())


def test_import_as_a_user_writes_only_their_agencys_rows(
    cli_database: TestDatabase, tmp_path: Path
) -> None:
    """Issue 12, finding 4, on the command line: ``--as`` applies the API's rule."""
    from fullpicture.people.models import SourceRecord

    with unit_of_work(session_factory(cli_database.engine)) as session:
        school = session.scalars(select(Agency).where(Agency.code == "school-oakfield")).one()
        make_user(session, role=Role.ADMINISTRATOR, agency=school, username="school.data")
        make_user(session, role=Role.ADMINISTRATOR, username="data.team")
    path = write_csv(
        tmp_path / "records.csv",
        [record("S1", agency="school-oakfield"), record("G1", given_name="Forged")],
    )
    code, out = _run("import", str(path), "--no-follow-up", "--as", "school.data")
    assert code == 0, out
    assert "this row is gp-ashdown's" in out
    code, out = _run("import", str(path), "--no-follow-up", "--as", "school.data",
                     "--for-agencies", "gp-ashdown")  # fmt: skip
    assert code == 3 and "Nothing imported" in out
    code, out = _run("import", str(path), "--no-follow-up", "--as", "data.team")
    assert code == 2 and "for_agencies" in out
    with unit_of_work(session_factory(cli_database.engine)) as session:
        stored = set(session.scalars(select(SourceRecord.record_ref)))
        batches = session.scalars(select(ImportBatch.imported_by)).all()
    assert stored == {"S1"}
    assert batches == ["user:school.data"]


def test_the_import_reports_what_was_committed_when_a_later_step_fails(
    cli_database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12 finding 6: the command called a committed batch rolled back. The batch and its
    # follow-up are one transaction now: when the follow-up fails, nothing is committed, and
    # the command says exactly that (no traceback).
    def failing_follow_up(**_kwargs: object) -> None:
        raise OverflowError("(34, 'Numerical result out of range')")

    monkeypatch.setattr("fullpicture.imports.flows.follow_up_import", failing_follow_up)
    feed = tmp_path / "feed"
    feed.mkdir()
    write_csv(feed / "records.csv", [record("C1")])
    write_csv(feed / "events.csv", [event("E1")])
    code, out = _run("import", str(feed))
    assert code == 1, out
    assert "rolled back; nothing of it is stored" in out and "OverflowError" in out
    assert "Traceback" not in out
    with session_factory(cli_database.engine)() as session:
        assert session.scalars(select(ImportBatch)).all() == []
