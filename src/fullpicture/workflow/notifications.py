"""The in-app inbox, and e-mail that points to it.

A notification is raised once (``dedupe_key``), so a job or a re-imported feed run twice never
notifies twice. When an SMTP server is configured (``FULLPICTURE_SMTP_HOST``) a pending
notification is also e-mailed to its recipient: the e-mail says only that there is something in
the inbox and links to it — never a child's name, an entry or an agency (a mailbox is not a
place for child data).
"""

from __future__ import annotations

import datetime as dt
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fullpicture.access import audit
from fullpicture.access.models import UserAccount
from fullpicture.access.subject import AuthSubject
from fullpicture.core.database import utc_now
from fullpicture.workflow.models import Notification

INBOX_PATH = "/inbox"


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FULLPICTURE_", extra="ignore")

    smtp_host: str = Field(default="", description="blank: no e-mail, the in-app inbox only")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="fullpicture@localhost")
    smtp_starttls: bool = Field(default=False)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="where the inbox link in e-mails points"
    )


@lru_cache(maxsize=1)
def notification_settings() -> NotificationSettings:
    return NotificationSettings()


class NotificationNotFound(LookupError):
    pass


def notify(
    db_session: Session,
    *,
    recipient_user_id: int,
    kind: str,
    person_id: int | None,
    title: str,
    body: str,
    link: str,
    dedupe_key: str,
    now: dt.datetime | None = None,
) -> Notification | None:
    """Raise a notification once; None when one with the same ``dedupe_key`` exists."""
    existing = db_session.scalar(
        select(Notification.id).where(Notification.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return None
    notification = Notification(
        recipient_user_id=recipient_user_id,
        kind=kind,
        person_id=person_id,
        title=title,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
        created_at=now or utc_now(),
    )
    try:
        with db_session.begin_nested():
            db_session.add(notification)
            db_session.flush()
    except IntegrityError:  # raised at the same moment by another worker
        return None
    return notification


def inbox(
    db_session: Session, *, subject: AuthSubject, unread_only: bool = False, limit: int = 200
) -> Sequence[Notification]:
    """The subject's own notifications, newest first (nobody reads another's inbox)."""
    statement = (
        select(Notification)
        .where(Notification.recipient_user_id == subject.user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    notifications = db_session.scalars(statement).all()
    for person_id in sorted({n.person_id for n in notifications if n.person_id is not None}):
        # A notification names an entry about a child: showing it is a read of the child.
        audit.record(
            db_session=db_session,
            actor=subject.actor,
            actor_user_id=subject.user_id,
            action="person.read",
            person_id=person_id,
            target="inbox",
            detail={"purpose": "inbox", "method": subject.method.value},
        )
    return notifications


def mark_read(
    db_session: Session, *, subject: AuthSubject, public_id: str, now: dt.datetime | None = None
) -> Notification:
    notification = db_session.scalars(
        select(Notification).where(
            Notification.public_id == public_id,
            Notification.recipient_user_id == subject.user_id,
        )
    ).first()
    if notification is None:
        raise NotificationNotFound("no such notification in your inbox")
    if notification.read_at is None:
        notification.read_at = now or utc_now()
    return notification


def email_text(settings: NotificationSettings) -> tuple[str, str]:
    """The one e-mail fullpicture sends: a subject and a body with the inbox link, no details."""
    link = settings.public_base_url.rstrip("/") + INBOX_PATH
    return (
        "fullpicture: you have a new notification",
        "You have a new notification in fullpicture.\n\n"
        f"Sign in to read it: {link}\n\n"
        "This e-mail never contains details of a child; they are in the inbox only.\n",
    )


def send_pending_emails(
    db_session: Session,
    *,
    settings: NotificationSettings | None = None,
    now: dt.datetime | None = None,
) -> int:
    """E-mail each recipient with unsent notifications once (one e-mail per recipient per run);
    marks them sent. Does nothing without an SMTP host. Returns e-mails sent; audited."""
    settings = settings or notification_settings()
    if not settings.smtp_host:
        return 0
    now = now or utc_now()
    pending = db_session.execute(
        select(Notification, UserAccount.email)
        .join(UserAccount, UserAccount.id == Notification.recipient_user_id)
        .where(
            Notification.emailed_at.is_(None),
            Notification.read_at.is_(None),
            UserAccount.email.is_not(None),
            UserAccount.is_active.is_(True),
        )
        .order_by(Notification.id)
    ).all()
    by_address: dict[str, list[Notification]] = {}
    for notification, address in pending:
        by_address.setdefault(str(address), []).append(notification)
    if not by_address:
        return 0
    subject_line, body = email_text(settings)
    sent = 0
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        for address, notifications in by_address.items():
            message = EmailMessage()
            message["From"] = settings.smtp_from
            message["To"] = address
            message["Subject"] = subject_line
            message.set_content(body)
            smtp.send_message(message)
            for notification in notifications:
                notification.emailed_at = now
            sent += 1
    db_session.flush()
    audit.record(
        db_session=db_session,
        actor="system:notifications",
        action="notification.email",
        detail={"emails": sent, "notifications": sum(len(n) for n in by_address.values())},
        occurred_at=now,
    )
    return sent
