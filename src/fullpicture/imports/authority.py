"""Whose records and events a batch may write (issue 12, finding 4).

An agency's feed writes that agency's rows only. A user of an agency who uploads a feed writes
their own agency's rows; a row naming another agency is quarantined with the reason, never
stored. A partnership-level operator (a user with ``imports:write`` tied to no agency: the
partnership's data team, who run every agency's feeds) writes other agencies' rows only when
the batch says whose they are (``for_agencies``: agency codes, or ``*`` for every agency).
The command line run by the machine's operator without ``--as`` writes every agency's rows,
as its audit entry says (``cli:<os user>``); shell access is for administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fullpicture.access import repository as access_repository
from fullpicture.access.roles import Scope
from fullpicture.access.service import AccessError, require_scopes
from fullpicture.access.subject import AuthSubject
from fullpicture.imports.models import QuarantinedRow

#: What a partnership-level operator sends as ``for_agencies`` for a batch of every agency.
EVERY_AGENCY_MARK = "*"


class FeedAuthorityMissing(ValueError):
    """A partnership-level operator's batch does not say whose rows it holds."""


@dataclass(frozen=True)
class FeedAuthority:
    """The agencies whose rows a batch may write (None: every agency), and who said so."""

    agency_codes: frozenset[str] | None
    granted_to: str

    def covers(self, agency_code: str) -> bool:
        return self.agency_codes is None or agency_code in self.agency_codes

    def describe(self) -> str:
        if self.agency_codes is None:
            return f"{self.granted_to} may import every agency's rows"
        return f"{self.granted_to} may import only {', '.join(sorted(self.agency_codes))}'s rows"


#: The machine operator's command line (and the demo): every agency's rows.
EVERY_AGENCY = FeedAuthority(agency_codes=None, granted_to="the operator")


def upload_authority(
    *, db_session: Session, subject: AuthSubject, for_agencies: Iterable[str] | None
) -> FeedAuthority:
    """Whose rows the subject's upload may write.

    ``imports:write`` is needed. A user of an agency writes that agency's rows; naming any other
    agency in ``for_agencies`` is refused (``AccessError``). A user tied to no agency must name
    the agencies (or ``*``), else ``FeedAuthorityMissing``.
    """
    require_scopes(subject, Scope.IMPORTS_WRITE)
    named = {code.strip() for code in for_agencies or () if code.strip()}
    if subject.agency_id is not None:
        own = access_repository.agency_code_of(db_session, subject.agency_id)
        if own is None or named - {own}:
            raise AccessError(
                f"you import {own}'s feeds only; a batch of another agency's records is for "
                "that agency, or for the partnership's data team to import"
            )
        return FeedAuthority(agency_codes=frozenset({own}), granted_to=subject.actor)
    if not named:
        raise FeedAuthorityMissing(
            "say whose feeds this batch holds: for_agencies=CODE[,CODE…] (or * for every "
            "agency); rows of any other agency are quarantined"
        )
    if EVERY_AGENCY_MARK in named:
        return FeedAuthority(agency_codes=None, granted_to=subject.actor)
    return FeedAuthority(agency_codes=frozenset(named), granted_to=subject.actor)


@dataclass(frozen=True)
class FeedScope:
    """Whose feeds a user handling imports sees: one agency's, or every feed's."""

    agency_code: str | None
    every_feed: bool

    def covers(self, row: QuarantinedRow) -> bool:
        return self.every_feed or (
            self.agency_code is not None and row.agency_code == self.agency_code
        )

    def describe(self) -> str:
        return "every feed" if self.every_feed else f"{self.agency_code}'s feeds"


#: The feed's sender, shown back every row of the batch they just sent (each was theirs to
#: send, whoever's agency it names).
SENDERS_VIEW = FeedScope(agency_code=None, every_feed=True)
