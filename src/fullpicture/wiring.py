"""What the capabilities add to one another, connected once when the web app or the CLI
starts (``connect_capabilities``), never as a side effect of importing a package.

Open cases widen the need-to-know rule (an agency leading or having opened a child's open
case is involved with the child), and so do routed alerts (the agency an alert is routed to
must see the child to decide on it); a recorded share widens it by exactly the entries shared,
and names itself in the audit of each read it allows; every import ends by telling lead
practitioners that a child was seen in another agency's feed. The rule and the import flow
refuse to run before this is done (``access.repository.require_connected``,
``imports.flows``), so an entry point that forgot it fails loudly instead of running with a
narrower rule and a silent import.
"""

from __future__ import annotations

from fullpicture.access import repository as access_repository
from fullpicture.harm import repository as harm_repository
from fullpicture.imports import flows
from fullpicture.sharing import repository as sharing_repository
from fullpicture.workflow import repository as workflow_repository
from fullpicture.workflow import seen_elsewhere


def connect_capabilities() -> None:
    """Register every capability's hooks (idempotent: each registry keeps one of each)."""
    access_repository.register_involvement_source(workflow_repository.involved_through_cases)
    access_repository.register_involvement_source(harm_repository.involved_through_alerts)
    access_repository.register_shared_event_source(sharing_repository.shared_entries_for)
    access_repository.register_read_grounds_source(sharing_repository.decisions_giving_access)
    flows.register_after_ingest(seen_elsewhere.seen_elsewhere_after_ingest)
    access_repository.mark_connected()
