"""``fullpicture referral check FILE.txt --json`` and ``classify``: the API's shape, and a
non-zero exit with a clear message for empty, binary, oversized or non-English files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fullpicture.cli.main import app
from fullpicture.referrals.rulebook import default_rulebook
from tests.access.fixtures import runtime_database  # noqa: F401  (fixture)
from tests.conftest import TestDatabase

TEXT = (
    "Child: Mia Thompson, DOB 14/06/2018. I am the DSL at Oakfield Primary, 020 8765 4321. "
    'Today at 09:10 I saw a bruise on her cheek. Mia said, "Dean pushed me." '
    "There are some concerns at home."
)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["referral", *args], terminal_width=200)
    return result.exit_code, result.output


def test_check_json_has_the_api_shape(tmp_path: Path) -> None:
    path = tmp_path / "referral.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, output = _run("check", str(path), "--json", "--referral-date", "2026-11-23")
    assert code == 0, output
    body = json.loads(output)
    assert set(body) == {"elements", "vague_phrases", "score"}
    assert body["elements"]["R7"]["status"] == "present"
    assert body["vague_phrases"][0]["kind"] == "unquantified"


def test_check_prints_a_checklist(tmp_path: Path) -> None:
    path = tmp_path / "referral.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, output = _run("check", str(path))
    assert code == 0, output
    assert "R13" in output and "Score" in output and "never a gate" in output


def test_the_checklist_says_where_the_learned_adjustment_changed_a_status(
    tmp_path: Path,
) -> None:
    # A dated account with nothing seen: the rules' R5 is partial, the shipped model's present.
    path = tmp_path / "referral.txt"
    path.write_text(
        "I am the class teacher at Selsdon Primary. On 23/11/2026 Leo, aged 7, told me his dad "
        "hit him. Mum said he fell.",
        encoding="utf-8",
    )
    code, output = _run("check", str(path), "--referral-date", "2026-11-24")
    assert code == 0, output
    flat = " ".join(output.replace("│", " ").split())
    assert "The rules read this as partial; the learned adjustment" in flat
    assert "mainly because of a dated event" in flat
    assert "The rules' question:" in flat


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\x00\x00\x01\x02binary", "binary"),
        ("Zoë’s".encode("cp1252") + b" mother said", "UTF-8"),
        (
            "Dziecko powiedziało nauczycielce, że ojczym bije ją pasem w domu prawie codziennie "
            "wieczorem, a matka nic nie robi.".encode(),
            "English",
        ),
        (b"word " * (default_rulebook().standard.limits.max_characters // 4), "at most"),
    ],
)
def test_unreadable_files_exit_non_zero_with_the_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "referral.txt"
    path.write_bytes(content)
    code, output = _run("check", str(path), "--json")
    assert code == 2
    assert reason in " ".join(output.split())


def test_a_bad_referral_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "referral.txt"
    path.write_text(TEXT, encoding="utf-8")
    code, output = _run("check", str(path), "--referral-date", "23/11/2026")
    assert code == 2 and "YYYY-MM-DD" in output


def test_classify_json(tmp_path: Path) -> None:
    path = tmp_path / "event.txt"
    path.write_text("Bruise to the cheek of a 6 week old baby, not yet rolling.", encoding="utf-8")
    code, output = _run("classify", str(path), "--json")
    assert code == 0, output
    codes = [s["code"] for s in json.loads(output)]
    assert codes[0] == "PHY-NMB"


def test_check_with_a_child_and_the_referrals_life_on_a_real_database(
    runtime_database: TestDatabase,  # noqa: F811
    tmp_path: Path,
) -> None:
    import datetime as dt

    from sqlalchemy import select

    from fullpicture.access.models import AuditEntry, Role
    from fullpicture.agencies.models import AgencyKind
    from fullpicture.core.database import session_factory, unit_of_work
    from tests.access.principals import make_user
    from tests.referrals.factories import add_agency, build_child_record, link

    with unit_of_work(session_factory(runtime_database.engine)) as session:
        record = build_child_record(session, as_of=dt.date(2026, 11, 23))
        child_id = record.child.public_id
        csc = add_agency(
            session, "csc", "Croydon Children's Social Care", AgencyKind.CHILDRENS_SOCIAL_CARE
        )
        link(session, record, record.child, csc)
        make_user(session, role=Role.FRONT_DOOR, agency=csc, username="mash.worker")
        make_user(
            session, role=Role.PRACTITIONER, agency=record.agencies["school"], username="teacher"
        )
        make_user(session, role=Role.PRACTITIONER, username="outsider")
    path = tmp_path / "referral.txt"
    path.write_text(TEXT, encoding="utf-8")
    day = ("--referral-date", "2026-11-23")
    code, output = _run(
        "check", str(path), "--json", "--child", child_id, *day, "--as", "mash.worker"
    )
    assert code == 0, output
    findings = json.loads(output)["cross_checks"]["findings"]
    assert {"history", "agencies", "adult_factors"} <= {f["kind"] for f in findings}
    code, output = _run("check", str(path), "--json", "--child", child_id, *day, "--as", "teacher")
    assert code == 0, output
    cross = json.loads(output)["cross_checks"]
    school = record.agencies["school"].code
    assert {e["agency_code"] for f in cross["findings"] for e in f["events"]} <= {school}
    assert any("further entries held by 3 other agencies" in n for n in cross["notes"])
    code, output = _run("check", str(path), "--child", child_id)
    assert code == 2 and "--as" in output
    code, output = _run(
        "check", str(path), "--child", "00000000-0000-4000-8000-000000000000", "--as", "teacher"
    )
    assert code == 3
    draft = tmp_path / "draft.json"
    draft.write_text(
        json.dumps(
            {"concern_narrative": TEXT, "children": [{"person_id": child_id, "given_name": "Mia"}]}
        ),
        encoding="utf-8",
    )
    code, output = _run("create", str(draft))
    assert code == 2 and "--as" in output
    code, output = _run("create", str(draft), "--as", "outsider")
    assert code == 2 and "no need to know" in " ".join(output.split())
    code, output = _run("create", str(draft), "--as", "teacher")
    assert code == 0, output
    ref = output.split("referral ", 1)[1].split(" ", 1)[0]
    code, output = _run("submit", ref, "--as", "outsider")
    assert code == 3 and "no need to know" in " ".join(output.split())
    code, output = _run("submit", ref, "--as", "teacher")
    assert code == 0 and "childrens_social_care_front_door" in output
    code, output = _run("submit", ref, "--as", "teacher")
    assert code == 4 and "already submitted" in output
    code, output = _run("show", ref, "--as", "mash.worker")
    assert code == 0 and json.loads(output)["status"] == "submitted"
    # Saved and sent by the --as user; no free-text --by is taken any more (issue 12, #12).
    assert json.loads(output)["created_by"] == "user:teacher"
    assert json.loads(output)["submitted_by"] == "user:teacher"
    assert json.loads(output)["referrer_agency_code"] == record.agencies["school"].code
    code, output = _run("show", ref, "--as", "outsider")
    assert code == 3 and "Mia" not in output
    code, output = _run("show", ref, "--as", "nobody")
    assert code == 4 and "no active user" in output
    with unit_of_work(session_factory(runtime_database.engine)) as session:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.target == f"referral:{ref}")
            .order_by(AuditEntry.position)
        ).all()
        assert [(e.actor, e.action) for e in entries if e.action.startswith("referral.")] == [
            ("user:teacher", "referral.create"),
            ("user:teacher", "referral.submit"),
        ]
        assert ("user:mash.worker", "person.read", record.child.id) in {
            (e.actor, e.action, e.person_id) for e in entries
        }
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"level_of_need": 7}), encoding="utf-8")
    code, output = _run("create", str(bad), "--as", "teacher")
    assert code == 2 and "level_of_need" in output
    code, output = _run("create", str(draft), "--by", "Someone Else", "--as", "teacher")
    assert code == 2 and "--by" in output
