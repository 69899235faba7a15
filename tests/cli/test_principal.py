"""The ``--as`` user is looked up in one place for every command, with one set of refusals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session

from fullpicture.access.models import Role
from fullpicture.access.roles import Scope
from fullpicture.cli import principal
from fullpicture.cli.principal import acting_user
from tests.access.principals import make_user

CLI_DIR = Path(principal.__file__).parent


def _calls(module: Path, name: str) -> list[int]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == name)
            or (isinstance(node.func, ast.Name) and node.func.id == name)
        )
    ]


def test_only_the_principal_module_looks_up_the_as_user() -> None:
    elsewhere = {
        module.name: lines
        for module in sorted(CLI_DIR.glob("*.py"))
        if module.name != "principal.py" and (lines := _calls(module, "subject_for_cli"))
    }
    assert elsewhere == {}, "look the --as user up with cli.principal.acting_user"
    users = {m.name for m in CLI_DIR.glob("*.py") if _calls(m, "acting_user")}
    assert {"access.py", "harm.py", "linkage.py", "referrals.py", "imports.py"} <= users


def test_the_user_holding_the_scopes_is_returned(db_session: Session) -> None:
    user = make_user(db_session, role=Role.FRONT_DOOR)

    subject = acting_user(db_session, user.username, Scope.LINKAGE_REVIEW, Scope.CHILDREN_READ)

    assert subject.user_id == user.id and subject.method.value == "cli"


def test_without_as_the_command_says_to_give_it(
    db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(typer.Exit) as stopped:
        acting_user(db_session, None, Scope.LINKAGE_RUN, command="Linking the database")

    assert stopped.value.exit_code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Linking the database works on the database: say who you are with --as USERNAME." in err


@pytest.mark.parametrize("refused_exit_code", [3, 4])
def test_an_unknown_user_or_a_missing_scope_is_refused(
    db_session: Session, capsys: pytest.CaptureFixture[str], refused_exit_code: int
) -> None:
    teacher = make_user(db_session, role=Role.PRACTITIONER)

    with pytest.raises(typer.Exit) as unknown:
        acting_user(db_session, "nobody", refused_exit_code=refused_exit_code)
    assert unknown.value.exit_code == refused_exit_code
    assert "no active user called 'nobody'" in capsys.readouterr().err

    with pytest.raises(typer.Exit) as unscoped:
        acting_user(
            db_session,
            teacher.username,
            Scope.LINKAGE_REVIEW,
            refused_exit_code=refused_exit_code,
            refusal_prefix="Nothing saved. ",
        )
    assert unscoped.value.exit_code == refused_exit_code
    err = " ".join(capsys.readouterr().err.split())
    assert "Nothing saved. this needs linkage:review, which a practitioner does not hold" in err
