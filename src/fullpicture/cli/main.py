"""Entry point of the ``fullpicture`` command."""

from __future__ import annotations

import typer

from fullpicture.cli import access as access_cli
from fullpicture.cli import agencies as agencies_cli
from fullpicture.cli import dashboard as dashboard_cli
from fullpicture.cli import db as db_cli
from fullpicture.cli import demo as demo_cli
from fullpicture.cli import escalation as escalation_cli
from fullpicture.cli import harm as harm_cli
from fullpicture.cli import imports as imports_cli
from fullpicture.cli import inbox as inbox_cli
from fullpicture.cli import linkage as linkage_cli
from fullpicture.cli import referrals as referrals_cli
from fullpicture.cli import serve as serve_cli
from fullpicture.cli import sharing as sharing_cli
from fullpicture.cli import supervision as supervision_cli
from fullpicture.cli import synth as synth_cli
from fullpicture.cli import workflow as workflow_cli
from fullpicture.wiring import connect_capabilities

app = typer.Typer(
    name="fullpicture",
    help="One picture of a child across the agencies around them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@app.callback()
def start() -> None:
    """One picture of a child across the agencies around them."""
    connect_capabilities()


app.add_typer(db_cli.app, name="db")
app.add_typer(agencies_cli.app, name="agency")
app.command("import")(imports_cli.import_command)
app.add_typer(imports_cli.quarantine_app, name="quarantine")
app.add_typer(linkage_cli.app, name="link")
app.add_typer(referrals_cli.app, name="referral")
app.command("serve")(serve_cli.serve)
app.command("demo")(demo_cli.demo)
app.command("synth")(synth_cli.synth)
app.command("replay")(harm_cli.replay)
app.add_typer(harm_cli.app, name="harm")
app.add_typer(sharing_cli.app, name="sharing")
app.add_typer(workflow_cli.app, name="case")
app.add_typer(escalation_cli.app, name="escalation")
app.add_typer(supervision_cli.app, name="supervision")
app.command("dashboard")(dashboard_cli.dashboard_command)
app.command("inbox")(inbox_cli.inbox_command)
app.add_typer(inbox_cli.app, name="notifications")
app.command("chronology")(harm_cli.chronology)
app.add_typer(access_cli.user_app, name="user")
app.add_typer(access_cli.token_app, name="token")
app.add_typer(access_cli.audit_app, name="audit")
app.add_typer(access_cli.retention_app, name="retention")
app.command("backup")(access_cli.backup)
app.command("restore")(access_cli.restore)

if __name__ == "__main__":
    app()
