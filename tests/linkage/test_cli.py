"""``fullpicture link`` on a real database: each command runs ``--as`` a user holding the scope
the API route needs, and what it writes (or shows of a child) is in the audit log under them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fullpicture.access.models import AuditEntry, Role
from fullpicture.agencies.models import Agency
from fullpicture.cli.main import app
from fullpicture.core.database import session_factory, unit_of_work
from fullpicture.linkage import repository as repo
from fullpicture.linkage import service as linkage_service
from fullpicture.linkage.engine import Engine, train_model
from fullpicture.linkage.models import ReviewDecision, ReviewItem
from fullpicture.linkage.preparation import prepare
from fullpicture.linkage.rules import default_rules
from fullpicture.people.models import Person, PersonRecordLink
from tests.access.fixtures import runtime_database  # noqa: F401  (fixture)
from tests.access.principals import make_user
from tests.conftest import TestDatabase
from tests.linkage.population import build_population, store_population


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["link", *args], terminal_width=200)
    return result.exit_code, " ".join(result.output.split())


def _entries(session: Session, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.position)
        )
    )


def _population_with_a_model(session: Session) -> None:
    population = build_population(people=150, seed=21)
    store_population(session, population.records)
    rules = default_rules()
    quick = rules.model_copy(
        update={"training": rules.training.model_copy(update={"u_max_pairs": 100_000})}
    )
    linkage_service.save_model(
        db_session=session,
        model=train_model(prepare(population.records), rules=quick),
        rules=rules,
        engine=Engine.DUCKDB,
        trained_on_records=population.records.height,
        model_dir=None,
    )


def test_linkage_commands_run_as_a_user_with_the_scope_and_are_audited(
    runtime_database: TestDatabase,  # noqa: F811
) -> None:
    factory = session_factory(runtime_database.engine)
    with unit_of_work(factory) as session:
        _population_with_a_model(session)
        make_user(session, role=Role.ADMINISTRATOR, username="admin")
        make_user(session, role=Role.PRACTITIONER, username="teacher")

    # A database run: who is running it, with linkage:run.
    code, out = _run("run")
    assert code == 2 and "--as USERNAME" in out
    code, out = _run("run", "--as", "teacher")
    assert code == 3 and "linkage:run" in out
    code, out = _run("run", "--as", "nobody")
    assert code == 3 and "no active user" in out
    with unit_of_work(factory) as session:
        assert session.scalar(select(PersonRecordLink).limit(1)) is None  # nothing was linked
    code, out = _run("run", "--as", "admin")
    assert code == 0, out

    with unit_of_work(factory) as session:
        (run_entry,) = _entries(session, "linkage.run")
        assert run_entry.actor == "user:admin" and run_entry.target.startswith("linkage_run:")
        link = session.scalars(
            select(PersonRecordLink).where(
                PersonRecordLink.method == "probabilistic", PersonRecordLink.ended_at.is_(None)
            )
        ).first()
        assert link is not None
        other = link.evidence["linked_via"]
        left, right = sorted((repo.record_key(link.agency_id, link.record_ref), other))
        item = ReviewItem(
            record_key_l=left,
            record_key_r=right,
            match_weight=1.0,
            match_probability=0.7,
            comparison_levels={},
        )
        session.add(item)
        session.flush()
        item_id = str(item.id)
        agency = session.get(Agency, link.agency_id)
        assert agency is not None
        record_ref = f"{agency.code}:{link.record_ref}"
        child = session.get(Person, link.person_id)
        assert child is not None
        child_id = child.public_id
        make_user(session, role=Role.PRACTITIONER, agency=agency, username="holder")
        # The front door reviews pairs with a record of a child its agency is involved with.
        make_user(session, role=Role.FRONT_DOOR, agency=agency, username="mash.worker")
        make_user(session, role=Role.FRONT_DOOR, username="mash.elsewhere")
        other_agency, other_ref = repo.split_record_key(other)
        other_label = f"{repo.agency_codes(db_session=session)[other_agency]}:{other_ref}"

    # Review decisions need linkage:review; the decider is the --as user.
    code, out = _run("review", "--as", "teacher")
    assert code == 3 and "linkage:review" in out
    code, out = _run("review", "--as", "mash.worker")
    assert code == 0 and item_id in out
    # A front door with no need to know about either record sees no pair, and cannot decide
    # on it or have it explained: the same answer as for an unknown item or record.
    code, out = _run("review", "--as", "mash.elsewhere")
    assert code == 0 and record_ref not in out
    for item in (item_id, "999999"):
        code, out = _run("reject", item, "--reason", "different people", "--as", "mash.elsewhere")
        assert code == 2 and "no need to know" in out
    refused = _run("explain", record_ref, other_label, "--as", "mash.elsewhere")
    unknown = _run("explain", record_ref, "nowhere:R1", "--as", "mash.elsewhere")
    assert refused[0] == unknown[0] == 2 and "no need to know" in refused[1]
    assert refused[1] == unknown[1]
    code, out = _run("explain", record_ref, other_label, "--json", "--as", "mash.worker")
    assert code == 0 and '"decision"' in out
    with unit_of_work(factory) as session:
        assert [
            e for e in _entries(session, "person.read") if e.actor == "user:mash.elsewhere"
        ] == []
        shown = [e for e in _entries(session, "person.read") if e.actor == "user:mash.worker"]
        assert link.person_id in {
            e.person_id
            for e in shown
            if e.target == "linkage review queue" and int(item_id) in e.detail["review_items"]
        }
        explained = [e.person_id for e in shown if e.target == "linkage explanation"]
        assert explained == [link.person_id]
    code, out = _run("reject", item_id, "--reason", "different people", "--as", "teacher")
    assert code == 3
    code, out = _run("reject", item_id, "--reason", "different people", "--as", "mash.worker")
    assert code == 0, out
    code, out = _run("undo", item_id, "--reason", "wrong pair", "--as", "mash.worker")
    assert code == 0, out
    with unit_of_work(factory) as session:
        decisions = session.scalars(
            select(ReviewDecision).where(ReviewDecision.review_item_id == int(item_id))
        ).all()
        assert [(d.action.value, d.decided_by) for d in decisions] == [
            ("reject", "user:mash.worker"),
            ("undo", "user:mash.worker"),
        ]
        decided = _entries(session, "linkage.review.reject") + _entries(
            session, "linkage.review.undo"
        )
        assert [(e.actor, e.target) for e in decided] == [
            ("user:mash.worker", f"review_item:{item_id}"),
            ("user:mash.worker", f"review_item:{item_id}"),
        ]
        assert decided[0].detail["reason"] == "different people"

    # Linking one record needs linkage:run.
    assert _run("record", record_ref, "--as", "mash.worker")[0] == 3
    code, out = _run("record", record_ref, "--as", "admin")
    assert code == 0, out
    with unit_of_work(factory) as session:
        (record_entry,) = _entries(session, "linkage.record")
        assert (record_entry.actor, record_entry.target) == ("user:admin", record_ref)

    # A child's households: a need to know the child, and the read is audited.
    code, out = _run("households", child_id, "--as", "teacher")
    assert code == 2 and "no need to know" in out
    code, out = _run("households", child_id, "--as", "holder")
    assert code == 0, out
    with unit_of_work(factory) as session:
        reads = [e for e in _entries(session, "person.read") if e.actor == "user:holder"]
        assert [e.target for e in reads] == ["households"]
