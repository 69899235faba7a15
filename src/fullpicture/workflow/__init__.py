"""Workflow: cases with a lead practitioner and level of need, statutory timescales in working
days, drift, and escalation of professional disagreement (research-notes §2.2, §4, §5).

Importing the package plugs open cases into the need-to-know rule (an agency leading or
having opened a child's open case is involved with the child).
"""

from fullpicture.access import repository as _access_repository
from fullpicture.workflow import repository as _workflow_repository

_access_repository.register_involvement_source(_workflow_repository.involved_through_cases)

# "Child seen elsewhere" is a step of the one ingest flow (imports.flows.register_after_ingest).
from fullpicture.workflow import seen_elsewhere as _seen_elsewhere  # noqa: E402,F401
