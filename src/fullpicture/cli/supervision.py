"""``fullpicture supervision``: a practitioner's children with reflective prompts from each
child's record, and dated supervision records (designated leads and team managers)."""

from __future__ import annotations

import typer

from fullpicture.access.roles import Scope
from fullpicture.cli.console import console
from fullpicture.cli.workflow import AS_USER_HELP, acting, built
from fullpicture.workflow import supervision

app = typer.Typer(
    help="Supervision: children, prompts, decisions and actions.", no_args_is_help=True
)


@app.command("show")
def show_command(
    practitioner: str = typer.Argument(..., help="The practitioner's username (your agency)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A practitioner's children: open alerts, overdue steps, unshared entries, escalations, and
    reflective prompts from each child's record (audited reads).

    Example: fullpicture supervision show j.smith --as t.manager
    """
    with acting(as_user, "supervision show", Scope.CHILDREN_READ, Scope.SUPERVISION_READ) as (
        session,
        subject,
    ):
        view = supervision.supervision_view(
            db_session=session, subject=subject, username=practitioner
        )
    if as_json:
        console.print_json(view.model_dump_json())
        return
    for child in view.children:
        console.print(
            f"[bold]Child {child.child_id}[/bold] ({child.case_kind}): {child.open_alerts} open "
            f"alert(s), {len(child.overdue_steps)} overdue step(s), "
            f"{child.unshared_significant_entries} unshared entr(ies), "
            f"{child.open_escalations} open escalation(s)"
        )
        for prompt in child.prompts:
            console.print(f"  {prompt.question}\n    {prompt.from_the_record}")
    if view.children_not_shown:
        console.print(f"{view.children_not_shown} further child(ren) you may not see.")


@app.command("record")
def record_command(
    practitioner: str = typer.Argument(..., help="The practitioner's username."),
    reflections: str = typer.Option(..., "--reflections"),
    decisions: str = typer.Option(..., "--decisions"),
    actions: list[str] = typer.Option([], "--action", help="ACTION|OWNER|DUE (YYYY-MM-DD)"),
    child: str = typer.Option(None, "--child", help="The child discussed (public id)."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
) -> None:
    """Record a supervision session with its decisions and actions.

    Example: fullpicture supervision record j.smith --reflections "..." --decisions "..."
    --action "visit the child alone|j.smith|2026-12-11" --as t.manager
    """
    parsed = []
    for text in actions:
        action, _, rest = text.partition("|")
        owner, _, due = rest.partition("|")
        parsed.append({"action": action, "owner": owner, "due_on": due})
    record_in = built(
        lambda: supervision.SupervisionRecordIn(
            reflections=reflections, decisions=decisions, actions=parsed, child_id=child
        )
    )
    with acting(
        as_user,
        "supervision record",
        Scope.CHILDREN_READ,
        Scope.CHILDREN_WRITE,
        Scope.SUPERVISION_READ,
    ) as (session, subject):
        read = supervision.record_supervision(
            db_session=session, subject=subject, username=practitioner, record_in=record_in
        )
    console.print(f"Recorded supervision {read.id} on {read.held_on}.")
