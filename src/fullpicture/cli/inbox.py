"""``fullpicture inbox`` and ``fullpicture notifications``: read your in-app notifications;
e-mail pending ones (a link only) and run the timed work on a schedule."""

from __future__ import annotations

import json

import typer
from apscheduler.schedulers.blocking import BlockingScheduler

from fullpicture.access.roles import Scope
from fullpicture.cli.console import console
from fullpicture.cli.workflow import AS_USER_HELP, acting
from fullpicture.core.database import unit_of_work, utc_now
from fullpicture.core.runtime import get_session_factory
from fullpicture.partnership import snapshots
from fullpicture.workflow import notifications, timed

app = typer.Typer(help="Notifications: the in-app inbox, e-mail, timed work.", no_args_is_help=True)
#: The scheduler's job refreshing the partnership dashboard's figures.
DASHBOARD_JOB_ID = "dashboard.refresh"


def inbox_command(
    unread: bool = typer.Option(False, "--unread", help="Only unread notifications."),
    as_user: str = typer.Option(None, "--as", help=AS_USER_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Your notifications: seen elsewhere, overdue steps, escalations (audited read).

    Example: fullpicture inbox --unread --as j.smith
    """
    with acting(as_user, "inbox", Scope.CHILDREN_READ) as (session, subject):
        rows = [
            {
                "id": n.public_id,
                "kind": n.kind,
                "title": n.title,
                "body": n.body,
                "link": n.link,
                "created_at": n.created_at.isoformat(),
                "read": n.read_at is not None,
            }
            for n in notifications.inbox(session, subject=subject, unread_only=unread)
        ]
    if as_json:
        console.print(json.dumps(rows, indent=2))
        return
    for row in rows:
        console.print(
            f"{str(row['created_at'])[:16]} {row['title']}: {row['body']} ({row['link']})"
        )


@app.command("email")
def email_command() -> None:
    """E-mail each user with unsent notifications a link to their inbox (FULLPICTURE_SMTP_HOST;
    never a child's details), once. Audited as system:notifications.

    Example: FULLPICTURE_SMTP_HOST=mail.example fullpicture notifications email
    """
    with unit_of_work(get_session_factory()) as session:
        sent = notifications.send_pending_emails(session)
    console.print(f"{sent} e-mail(s) sent.")


@app.command("run")
def run_command() -> None:
    """Run the timed work once: unanswered escalation stages escalate themselves, leads are
    told of overdue steps and moved escalations, pending e-mails go (idempotent; audited).

    Example: fullpicture notifications run
    """
    with unit_of_work(get_session_factory()) as session:
        report = timed.run_timed_work(session)
    console.print(
        f"{report.escalations_moved} escalation(s) moved, "
        f"{report.overdue_notifications + report.escalation_notifications} notification(s), "
        f"{report.emails} e-mail(s)."
    )


def build_scheduler(every: int, dashboard_every: int) -> BlockingScheduler:
    """The timed work every ``every`` minutes and, every ``dashboard_every`` (0: never), the
    dashboard figures refreshed; each job one run at a time, missed runs coalesced."""
    scheduler = timed.build_scheduler(every)
    if dashboard_every:
        scheduler.add_job(
            snapshots.refresh_job,
            "interval",
            minutes=dashboard_every,
            id=DASHBOARD_JOB_ID,
            max_instances=1,
            coalesce=True,
            next_run_time=utc_now(),
        )
    return scheduler


@app.command("schedule")
def schedule_command(
    every: int = typer.Option(5, "--every", min=1, help="Minutes between runs."),
    dashboard_every: int = typer.Option(
        60,
        "--dashboard-every",
        min=0,
        help="Minutes between refreshes of today's partnership dashboard figures (0: never).",
    ),
) -> None:
    """Run the timed work on a schedule (APScheduler) until stopped with Ctrl-C, and refresh
    the partnership dashboard's figures, which its page shows with the time they were computed.

    Example: fullpicture notifications schedule --every 5 --dashboard-every 60
    """
    scheduler = build_scheduler(every, dashboard_every)
    console.print(f"Running the timed work every {every} minute(s); Ctrl-C stops.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
